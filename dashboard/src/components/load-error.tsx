import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useContext, useEffect, useId, useState } from 'preact/hooks';
import { errorMessage } from '../api.js';

// When the server is down every section of a page fails with the same message. The page shows that message once,
// with one Retry that retries every section it stopped; the other sections say only that they did not load, each
// with its own Retry.

interface Failure {
  id: string;
  message: string;
  retry: () => void;
}

class FailureBoard {
  private failures: Failure[] = [];
  private readonly listeners = new Set<() => void>();

  set(f: Failure): void {
    const i = this.failures.findIndex((x) => x.id === f.id);
    if (i >= 0) this.failures[i] = f;
    else this.failures.push(f);
    this.emit();
  }

  remove(id: string): void {
    const before = this.failures.length;
    this.failures = this.failures.filter((f) => f.id !== id);
    if (this.failures.length !== before) this.emit();
  }

  /** Whether `id` is the first failure with its message (the one that shows it). */
  isFirst(id: string, message: string): boolean {
    return this.failures.find((f) => f.message === message)?.id === id;
  }

  retryAll(message: string): void {
    for (const f of this.failures.filter((x) => x.message === message)) f.retry();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }
}

const BoardContext = createContext<FailureBoard | null>(null);

/** Gives the page below one board of failures (the signed-in shell holds one per page). */
export function FailureScope({ children }: { children: ComponentChildren }) {
  const [board] = useState(() => new FailureBoard());
  return <BoardContext.Provider value={board}>{children}</BoardContext.Provider>;
}

/**
 * Where loading `what` failed: the error (once per page for one message) and a Retry. Renders nothing without an
 * error. Give `what` ("keys", "usage") so a compact line can say what is missing.
 */
export function LoadError({ error, retry, what }: { error: unknown; retry: () => void; what?: string }) {
  const board = useContext(BoardContext);
  const id = useId();
  const [, setTick] = useState(0);
  const message = error ? errorMessage(error) : null;
  useEffect(() => board?.subscribe(() => setTick((n) => n + 1)), [board]);
  useEffect(() => {
    if (!board) return;
    if (message) board.set({ id, message, retry });
    else board.remove(id);
  }, [board, id, message, retry]);
  useEffect(() => () => board?.remove(id), [board, id]);
  if (!message) return null;
  if (!board || board.isFirst(id, message)) {
    return (
      <div class="alert alert-row" role="alert">
        <span>{message}</span>
        <button type="button" class="button button-small" onClick={() => (board ? board.retryAll(message) : retry())}>
          Retry
        </button>
      </div>
    );
  }
  return (
    <p class="load-failed">
      {what ? `The ${what} did not load.` : 'This did not load.'}{' '}
      <button type="button" class="button button-small" onClick={retry}>
        Retry
      </button>
    </p>
  );
}
