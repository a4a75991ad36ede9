// Parses the warnings `node --trace-sync-io` prints to stderr ("WARNING: Detected use of sync API" and a stack).
// Node only reports synchronous calls into its own I/O APIs (fs, zlib, crypto, child_process …); a native
// addon that blocks (better-sqlite3) is invisible to it, which the CPU profile shows instead.

export interface SyncIoSite {
  /** The sync API called, then its first callers outside Node's internals: the call site. */
  stack: string[];
  count: number;
}

const MARKER = 'WARNING: Detected use of sync API';

/** Groups the sync-API warnings in `stderr` by call site. */
export function parseSyncIoWarnings(stderr: string): { total: number; sites: SyncIoSite[] } {
  const sites = new Map<string, SyncIoSite>();
  let total = 0;
  const blocks = stderr.split(MARKER).slice(1);
  for (const block of blocks) {
    total++;
    const all = block
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('at '));
    // The sync API itself, then the callers worth reading (Node's and tsx's own frames left out).
    const callers = all.slice(1).filter((f) => !f.includes('(node:internal/') && !f.startsWith('at node:internal/') && !f.includes('/tsx/dist/'));
    // A dynamic import() resolves with no caller on the stack: keep the resolver's frames then.
    const frames = [all[0] ?? 'at (no stack)', ...(callers.length ? callers : all.slice(1)).slice(0, 6)];
    const key = frames.join('\n');
    const site = sites.get(key) ?? { stack: frames, count: 0 };
    site.count++;
    sites.set(key, site);
  }
  return { total, sites: [...sites.values()].sort((a, b) => b.count - a.count) };
}
