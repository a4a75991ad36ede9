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
  /**
   * True while the dialog's request is in flight: Escape does not dismiss it then (its Cancel button is disabled by the
   * dialog). Closing a Create or Rotate dialog mid-request made or rotated the key and never showed its secret (with
   * "Immediately", the old secret died and the new one was lost: found by an outside review).
   */
  busy?: boolean;
}

/**
 * A modal built on <dialog>.showModal(): the browser traps focus, makes the page behind it inert, and closes
 * on Escape; the title labels it for screen readers. Mounted only while open.
 */
export function Dialog({ title, onClose, children, wide, returnFocusTo, busy = false }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  const busyRef = useRef(busy);
  busyRef.current = busy;
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = returnFocusTo ?? (document.activeElement as HTMLElement | null);
    let mounted = true;
    dialog.showModal();
    const dismiss = () => {
      if (!busyRef.current) closeRef.current();
    };
    const onCancel = (e: Event) => {
      e.preventDefault();
      dismiss();
    };
    // Chromium closes a modal outright, with no cancel event to refuse, at a second Escape with no click or key press
    // between (its guard against dialogs that trap users). The component decides when it goes: asked as for Escape, and
    // shown again while it stays mounted (a request still in flight, a secret not copied yet).
    const onClosedByBrowser = () => {
      dismiss();
      setTimeout(() => {
        if (mounted && dialog.isConnected && !dialog.open) dialog.showModal();
      }, 0);
    };
    dialog.addEventListener('cancel', onCancel);
    dialog.addEventListener('close', onClosedByBrowser);
    return () => {
      mounted = false;
      dialog.removeEventListener('cancel', onCancel);
      dialog.removeEventListener('close', onClosedByBrowser);
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
