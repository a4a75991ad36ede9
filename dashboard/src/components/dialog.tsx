import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';

interface DialogProps {
  title: string;
  /** Called when the dialog is dismissed (Escape, a Cancel button, or the parent unmounting it). */
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
  /** Where focus goes when the dialog closes; by default, whatever had it when the dialog opened. */
  returnFocusTo?: HTMLElement | null;
}

/**
 * A modal built on <dialog>.showModal(): the browser traps focus, makes the page behind it inert, and closes
 * on Escape; the title labels it for screen readers. Mounted only while open.
 */
export function Dialog({ title, onClose, children, wide, returnFocusTo }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = returnFocusTo ?? (document.activeElement as HTMLElement | null);
    dialog.showModal();
    const onCancel = (e: Event) => {
      e.preventDefault();
      closeRef.current();
    };
    dialog.addEventListener('cancel', onCancel);
    return () => {
      dialog.removeEventListener('cancel', onCancel);
      dialog.close();
      opener?.focus?.();
    };
  }, []);
  return (
    <dialog ref={ref} class={wide ? 'dialog dialog-wide' : 'dialog'} aria-labelledby={titleId}>
      <h2 id={titleId} class="dialog-title">
        {title}
      </h2>
      {children}
    </dialog>
  );
}
