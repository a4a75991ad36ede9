import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Resource<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads data with `load` whenever `deps` change; late answers of superseded loads are ignored. With `keepStale`, a
 * failed reload keeps the data read before (beside the error).
 */
export function useResource<T>(load: () => Promise<T>, deps: readonly unknown[], opts: { keepStale?: boolean } = {}): Resource<T> {
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({ data: null, error: null, loading: true });
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => {
        if (mine === generation.current) setState({ data, error: null, loading: false });
      },
      (error: unknown) => {
        if (mine === generation.current) setState((s) => ({ data: opts.keepStale ? s.data : null, error, loading: false }));
      },
    );
    // Callers pass the inputs of `load` as deps (the hook cannot see inside the closure).
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run };
}

/** What a value that comes from a resource shows: "…" while loading, "—" when it failed (the error says why, once). */
export function shown<T>(r: Resource<unknown>, value: T | null | undefined, format: (v: T) => string): string {
  if (value !== null && value !== undefined) return format(value);
  return r.error ? '—' : '…';
}
