import { type ComponentChildren, createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { CopyButton } from './copy-button.js';
import { Dialog } from './dialog.js';

interface SecretDialogProps {
  title: string;
  secret: string;
  /** Called when the dialog closes; the parent drops the secret then. */
  onDone: () => void;
  what?: string;
  /** Where focus goes when the dialog closes (the button that opened the dialog this one replaced). */
  returnFocusTo?: HTMLElement | null;
}

/**
 * The one moment a secret is visible. Focus goes to Copy. Closing (Done or Escape) before the secret was copied asks
 * once: the secret can never be shown again. The parent holds the secret in state and drops it on close, so it lives
 * in memory only while this is on screen.
 */
export function SecretDialog({ title, secret, onDone, what = 'secret key', returnFocusTo }: SecretDialogProps) {
  const [copied, setCopied] = useState(false);
  const [warned, setWarned] = useState(false);
  // The browser refused to copy (over plain http without the Clipboard API, or a copy command that carried nothing).
  const [copyFailed, setCopyFailed] = useState(false);
  const secretRef = useRef<HTMLInputElement>(null);
  const copyRef = useRef<HTMLButtonElement>(null);
  const doneRef = useRef<HTMLButtonElement>(null);
  // After the dialog has taken focus (showModal focuses its first control, or nothing when the form it replaces went).
  useEffect(() => {
    const t = setTimeout(() => copyRef.current?.focus(), 0);
    return () => clearTimeout(t);
  }, []);
  const tryClose = () => {
    if (copied || warned) onDone();
    else {
      setWarned(true);
      copyRef.current?.focus();
    }
  };
  return (
    <Dialog title={title} onClose={tryClose} returnFocusTo={returnFocusTo}>
      <div class="stack">
        <p>
          Please save this {what} somewhere safe and accessible. For security reasons, <strong>you won't be able to view it again</strong>{' '}
          through this dashboard. If you lose it, you'll need to generate a new one.
        </p>
        <div class="secret-row">
          <input
            class="input mono secret"
            readOnly
            value={secret}
            aria-label={`Your new ${what}`}
            data-testid="secret"
            spellcheck={false}
            autoComplete="off"
            ref={secretRef}
            onFocus={(e) => e.currentTarget.select()}
            // Copied by hand (after a refused Copy, or instead of it): the whole secret counts as copied.
            onCopy={(e) => {
              if (e.currentTarget.selectionStart === 0 && e.currentTarget.selectionEnd === secret.length) setCopied(true);
            }}
          />
          <CopyButton
            text={secret}
            label="Copy"
            class="button button-primary"
            buttonRef={copyRef}
            onCopied={() => setCopied(true)}
            onFailed={() => {
              setCopyFailed(true);
              secretRef.current?.focus();
            }}
          />
        </div>
        {copyFailed && !copied && (
          <p class="alert" role="alert">
            Your browser did not let Tollgate copy the {what}. It is selected above: copy it yourself with Ctrl+C (⌘C on a Mac).
          </p>
        )}
        {warned && !copied && (
          <p class="alert" role="alert">
            You have not copied this {what}. It cannot be shown again: copy it now, or choose Done again to close without it.
          </p>
        )}
        <div class="dialog-actions">
          <button ref={doneRef} type="button" class="button" onClick={tryClose}>
            Done
          </button>
        </div>
      </div>
    </Dialog>
  );
}

/** A secret the server just made, to show once. */
export interface SecretToShow {
  title: string;
  secret: string;
  what?: string;
  /** Where focus goes when its dialog closes (the button that opened the form that made it). */
  returnFocusTo?: HTMLElement | null;
}

const ShowSecretContext = createContext<((s: SecretToShow) => void) | null>(null);

/** Shows a new secret in the signed-in shell's dialog (see SecretOutlet). */
export function useShowSecret(): (s: SecretToShow) => void {
  const show = useContext(ShowSecretContext);
  if (!show) throw new Error('useShowSecret outside a SecretOutlet');
  return show;
}

/**
 * Shows the secrets made on any page, one at a time, above whatever page is on screen. A secret arrives when its
 * request answers, and the page or dialog that asked may be gone by then (the user went to another page meanwhile):
 * held by the page, the secret of a key already made was never shown. Each is kept only while its dialog is open.
 */
export function SecretOutlet({ children }: { children: ComponentChildren }) {
  const [queue, setQueue] = useState<Array<SecretToShow & { id: number }>>([]);
  const nextId = useRef(0);
  const show = useCallback((s: SecretToShow) => {
    const id = ++nextId.current;
    setQueue((q) => [...q, { ...s, id }]);
  }, []);
  const current = queue[0];
  return (
    <ShowSecretContext.Provider value={show}>
      {children}
      {current && (
        <SecretDialog
          key={current.id}
          title={current.title}
          secret={current.secret}
          what={current.what}
          returnFocusTo={current.returnFocusTo}
          onDone={() => setQueue((q) => q.filter((x) => x.id !== current.id))}
        />
      )}
    </ShowSecretContext.Provider>
  );
}
