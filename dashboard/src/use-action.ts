import { useCallback, useState } from 'preact/hooks';
import { errorMessage } from './api.js';

export interface Action {
  /** The last failure's message, or null. */
  error: string | null;
  /** True while `run` works. */
  busy: boolean;
  /** Clears the last error, runs `work` (busy meanwhile) and keeps a failure's message in `error`; resolves true when it succeeded. */
  run(work: () => Promise<void>): Promise<boolean>;
  /** Sets the message shown, e.g. a validation error found before any request. */
  setError(message: string | null): void;
}

/** The error and busy state of a form's submit or a button's request: `run` wraps the work in the usual try/catch/finally. */
export function useAction(): Action {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = useCallback(async (work: () => Promise<void>) => {
    setError(null);
    setBusy(true);
    try {
      await work();
      return true;
    } catch (err) {
      setError(errorMessage(err));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { error, busy, run, setError };
}
