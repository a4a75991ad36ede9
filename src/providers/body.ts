import type { UpstreamBody } from './types.js';

/** A body whose chunks are all known already (the echo model's answers). */
export function bufferedBody(chunks: Buffer[]): UpstreamBody {
  return {
    readAll: async () => (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)),
    async *[Symbol.asyncIterator]() {
      yield* chunks;
    },
  };
}
