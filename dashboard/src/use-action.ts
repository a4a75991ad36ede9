import { useCallback, useRef, useState } from 'preact/hooks';
import { errorMessage } from './api.js';

export interface Action {
  /** The last failure's message, or null. */
  error: string | null;
  /** True while `run` works. */
  busy: boolean;
  /**
   * Clears the last error, runs `work` (busy meanwhile) and keeps a failure's message in `error`; resolves true when it
   * succeeded. While one run works, another is not started (resolves false): a double-click on a Create button made two
   * admin keys, service accounts or webhooks, the secret of the first never shown (found by an outside review).
   */
  run(work: () => Promise<void>): Promise<boolean>;
  /** Sets the message shown, e.g. a validation error found before any request. */
  setError(message: string | null): void;
}

/** The error and busy state of a form's submit or a button's request: `run` wraps the work in the usual try/catch/finally. */
export function useAction(): Action {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Set at once (state is set only at the next render, after a double-click's second click).
  const running = useRef(false);
  const run = useCallback(async (work: () => Promise<void>) => {
    if (running.current) return false;
    running.current = true;
    setError(null);
    setBusy(true);
    try {
      await work();
      return true;
    } catch (err) {
      setError(errorMessage(err));
      return false;
    } finally {
      running.current = false;
      setBusy(false);
    }
  }, []);
  return { error, busy, run, setError };
}
