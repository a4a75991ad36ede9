import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// How tests start Tollgate's own entry points (the server, the CLI, the scanner) as processes: the build in dist/,
// which is what `npm start` and the `tollgate` bin run, when it is newer than every source file; else the TypeScript
// source through tsx. A process through tsx cost ~1 s of CPU for the CLI and ~4 s for the server against 0.3 s and
// 2 s built (issue 14: npm test under a minute); a stale build must never be what a test checks, hence the
// comparison.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

const newest = new Map<string, number>();

/** The newest modification time of the files the build is made of (src/, tests excluded), read once per process. */
function newestSource(root: string): number {
  const known = newest.get(root);
  if (known !== undefined) return known;
  const walk = (dir: string): number[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = join(dir, e.name);
      if (e.isDirectory()) return walk(p);
      return /\.ts$/.test(e.name) && !/\.test\.ts$/.test(e.name) ? [statSync(p).mtimeMs] : [];
    });
  const found = Math.max(0, ...walk(join(root, 'src')));
  newest.set(root, found);
  return found;
}

/**
 * Node's arguments to run `source` (a path under src/, e.g. 'src/main.ts') of the checkout at `root`: its build in
 * dist/ when that is at least as new as every source file, else the source through tsx.
 */
export function entryArgs(source: string, root = ROOT): string[] {
  const built = join(root, 'dist', source.replace(/^src\//, '').replace(/\.ts$/, '.js'));
  if (existsSync(built) && statSync(built).mtimeMs >= newestSource(root)) return [built];
  return ['--import', TSX, join(root, source)];
}

/** `entryArgs` as a shell command line (for git's hooks), each argument single-quoted. */
export function entryCommand(source: string): string {
  return ['node', ...entryArgs(source)].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
}
