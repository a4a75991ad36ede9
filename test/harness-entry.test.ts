import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { entryArgs, entryCommand } from './harness/entry.js';

// Tests start the entry points from dist/ only when the build is at least as new as every source file: a stale build
// must never be what a test checks (test/harness/entry.ts).

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A checkout with src/cli/run.ts, src/core/x.ts and src/core/x.test.ts at the given times (seconds), and dist/cli/run.js if `built` is given. */
function checkout(times: { run: number; core: number; test: number; built?: number }): string {
  const root = mkdtempSync(join(tmpdir(), 'tollgate-entry-'));
  roots.push(root);
  const put = (rel: string, at: number) => {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), '');
    utimesSync(join(root, rel), at, at);
  };
  put('src/cli/run.ts', times.run);
  put('src/core/x.ts', times.core);
  put('src/core/x.test.ts', times.test);
  if (times.built !== undefined) put('dist/cli/run.js', times.built);
  return root;
}

describe('entry points for the tests that start processes', () => {
  it('runs the build when it is as new as every source file', () => {
    const root = checkout({ run: 1000, core: 2000, test: 9000, built: 2000 });
    expect(entryArgs('src/cli/run.ts', root)).toEqual([join(root, 'dist/cli/run.js')]);
  });

  it('runs the source through tsx when any source file changed after the build, not only the entry itself', () => {
    const root = checkout({ run: 1000, core: 3000, test: 1000, built: 2000 });
    const args = entryArgs('src/cli/run.ts', root);
    expect(args[0]).toBe('--import');
    expect(args[1]).toMatch(/^file:.*tsx/);
    expect(args[2]).toBe(join(root, 'src/cli/run.ts'));
  });

  it('runs the source through tsx without a build', () => {
    const root = checkout({ run: 1000, core: 1000, test: 1000 });
    expect(entryArgs('src/cli/run.ts', root).slice(-1)).toEqual([join(root, 'src/cli/run.ts')]);
  });

  it('quotes the command for a shell', () => {
    expect(entryCommand('src/cli/scan-entry.ts')).toMatch(/^'node' '/);
  });
});
