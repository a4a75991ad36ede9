import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// Time is injected (STYLE.md, habit 12): only a composition root reads the wall clock; everything else takes the
// `clock` it was built with, so a test that pins a date decides exactly as production would on that date. Elapsed
// real time (timer deadlines, restart backoff, progress redraws) reads the monotonic `performance.now()` instead.

const SRC = join(import.meta.dirname);

/** The only files allowed to read the wall clock, and why. */
const ALLOWED: Record<string, string> = {
  'runtime.ts': 'composition root of the server and the CLI: the default clock when none is injected',
  'cli/io.ts': "the CLI's process bindings (environment, terminal, clock), replaced by tests",
};

/** A direct read of the wall clock: Date.now (called or passed), new Date() / new Date without arguments, Date(). */
const WALL_CLOCK = /\bDate\.now\b|\bnew\s+Date\s*\(\s*\)|\bnew\s+Date\b(?!\s*\()|(?<![.\w])Date\s*\(\s*\)/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [p] : [];
  });
}

/** Lines of `text` that read the wall clock (comments ignored). */
function wallClockReads(text: string): number[] {
  const out: number[] = [];
  text.split('\n').forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, '').replace(/^\s*\*.*$/, '');
    if (WALL_CLOCK.test(code)) out.push(i + 1);
  });
  return out;
}

describe('one injected clock', () => {
  it('no source file outside the composition roots reads the wall clock', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const rel = relative(SRC, file).split('\\').join('/');
      if (rel in ALLOWED) continue;
      for (const line of wallClockReads(readFileSync(file, 'utf8'))) offenders.push(`src/${rel}:${line}`);
    }
    expect(offenders).toEqual([]);
  });

  it('the allowed files exist (a renamed root must be renamed here too)', () => {
    const files = new Set(sourceFiles(SRC).map((f) => relative(SRC, f).split('\\').join('/')));
    for (const f of Object.keys(ALLOWED)) expect(files.has(f), f).toBe(true);
  });

  it('recognises every spelling of a wall-clock read, and not its look-alikes', () => {
    for (const bad of ['const t = Date.now();', 'uuid(Date.now, rnd)', 'const d = new Date();', 'const d = new Date;', 'String(Date())', 'x = new  Date( )']) {
      expect(wallClockReads(bad), bad).toEqual([1]);
    }
    for (const ok of ['new Date(ms)', 'Date.parse(v)', 'Date.UTC(2026, 0, 1)', 'performance.now()', 'clock()', '// Date.now() is banned', 'toDate()', 'myDate()']) {
      expect(wallClockReads(ok), ok).toEqual([]);
    }
  });
});
