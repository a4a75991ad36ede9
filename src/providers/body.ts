import type { BodyPipe, ChunkSink, UpstreamBody } from '../core/upstream.js';

/** A body whose chunks are all known already (the echo model's answers). */
export function bufferedBody(chunks: Buffer[]): UpstreamBody {
  return {
    readAll: async () => (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)),
    pipe(sink: ChunkSink): BodyPipe {
      let wake: (() => void) | null = null;
      let cancelled = false;
      let paused = false;
      const done = (async () => {
        for (const c of chunks) {
          if (cancelled) return;
          // Delivered a turn later, as a socket would; a paused body waits for resume().
          await new Promise((r) => setImmediate(r));
          if (paused) await new Promise<void>((r) => (wake = r));
          if (sink(c) === false) paused = true;
        }
      })();
      return {
        done,
        pause: () => {
          paused = true;
        },
        resume: () => {
          paused = false;
          const w = wake as (() => void) | null;
          wake = null;
          w?.();
        },
        cancel: () => {
          cancelled = true;
        },
      };
    },
  };
}
