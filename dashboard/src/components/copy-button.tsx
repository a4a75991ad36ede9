import type { Ref } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { copyText } from '../clipboard.js';

interface CopyButtonProps {
  text: string;
  /** Accessible name; defaults to "Copy". */
  label?: string;
  class?: string;
  buttonRef?: Ref<HTMLButtonElement>;
  /** Called once the text is on the clipboard. */
  onCopied?: () => void;
  /** Called when the browser did not let the text be copied. */
  onFailed?: () => void;
}

/** Copies `text` and says so for two seconds. */
export function CopyButton({ text, label = 'Copy', class: cls, buttonRef, onCopied, onFailed }: CopyButtonProps) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const t = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(t);
  }, [state]);
  return (
    <button
      ref={buttonRef}
      type="button"
      class={cls ?? 'button'}
      // The visible word changes to "Copied"; a longer name (which item) applies only while idle.
      aria-label={state === 'idle' && label !== 'Copy' ? label : undefined}
      aria-live="polite"
      onClick={async (e) => {
        const ok = await copyText(text, e.currentTarget);
        setState(ok ? 'copied' : 'failed');
        if (ok) onCopied?.();
        else onFailed?.();
      }}
    >
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : 'Copy'}
    </button>
  );
}
