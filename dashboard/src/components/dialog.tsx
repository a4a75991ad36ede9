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
      returnFocus(opener);
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

/**
 * Puts focus back on what opened a dialog, or, when that is gone or goes a moment later (a revoked key's row leaving
 * the list as it reloads), on the page's main heading: focus fell to <body>, and a keyboard or screen reader user
 * had to start again from the top of the page (found by an outside review).
 */
function returnFocus(opener: HTMLElement | null): void {
  if (opener?.isConnected) {
    opener.focus();
    if (document.activeElement === opener) {
      followRemoval(opener);
      return;
    }
  }
  focusMainHeading();
}

/** The page's main heading takes focus (made focusable by script only), else <main>. */
function focusMainHeading(): void {
  const main = document.getElementById('main');
  const heading = main?.querySelector<HTMLElement>('h1');
  if (heading) {
    if (!heading.hasAttribute('tabindex')) heading.tabIndex = -1;
    heading.focus();
  } else main?.focus();
}

/** For a few seconds: if `el` leaves the page while focus is on it (then on <body>), focus goes to the main heading. */
function followRemoval(el: HTMLElement): void {
  const observer = new MutationObserver(() => {
    if (el.isConnected) return;
    stop();
    if (document.activeElement === null || document.activeElement === document.body) focusMainHeading();
  });
  const timer = setTimeout(() => stop(), 5000);
  const stop = () => {
    observer.disconnect();
    clearTimeout(timer);
  };
  observer.observe(document.body, { childList: true, subtree: true });
}
