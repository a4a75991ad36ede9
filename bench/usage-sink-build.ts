import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The SQLite usage sink's modules from a build (`dist`, or a snapshot from bench/quick.ts --snapshot): the worker runs
 * JavaScript only, so the sink benches load a build, and two builds can be set side by side.
 */
export async function loadUsageSinkBuild(dir = 'dist') {
  const from = pathToFileURL(`${resolve(dir)}/`).href;
  const at = (p: string) => new URL(p, from).href;
  return {
    ...((await import(at('storage/database.js'))) as typeof import('../src/storage/database.js')),
    ...((await import(at('storage/sqlite-usage-sink.js'))) as typeof import('../src/storage/sqlite-usage-sink.js')),
    ...((await import(at('core/usage-line.js'))) as typeof import('../src/core/usage-line.js')),
    ...((await import(at('core/pricing.js'))) as typeof import('../src/core/pricing.js')),
    ...((await import(at('core/ids.js'))) as typeof import('../src/core/ids.js')),
  };
}
