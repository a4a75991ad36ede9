import { describe, expect, it } from 'vitest';
import { type RawChange, RawDiffParser } from './raw-diff-parser.js';

const Z = '0'.repeat(40);
const C1 = '1'.repeat(40);
const C2 = '2'.repeat(40);
const B1 = 'b1'.repeat(20);
const B2 = 'b2'.repeat(20);
const B3 = 'b3'.repeat(20);
const SUB = 'cc'.repeat(20);

// What `git log --format=%x01%H --raw -z` prints: a commit line, a newline, then NUL-separated entries.
const LOG = [
  `\x01${C2}\0\n:100644 100644 ${B1} ${B2} M\0dir/tab\there é.txt\0`,
  `:100644 000000 ${B3} ${Z} D\0gone.txt\0`,
  `:000000 160000 ${Z} ${SUB} A\0vendor/sub\0`,
  `\x01${C1}\0\x01${'3'.repeat(40)}\0\n`,
  `:000000 100644 ${Z} ${B1} A\0dir/tab\there é.txt\0:000000 100755 ${Z} ${B3} A\0gone.txt\0`,
].join('');

function parse(chunks: Buffer[]): { changes: RawChange[]; commits: number } {
  const changes: RawChange[] = [];
  const parser = new RawDiffParser((c) => changes.push(c));
  for (const c of chunks) parser.push(c);
  parser.end();
  return { changes, commits: parser.commits };
}

const EXPECTED: RawChange[] = [
  { commit: C2, oid: B2, path: 'dir/tab\there é.txt' },
  { commit: '3'.repeat(40), oid: B1, path: 'dir/tab\there é.txt' },
  { commit: '3'.repeat(40), oid: B3, path: 'gone.txt' },
];

describe('RawDiffParser', () => {
  it('yields added and changed blobs with their commit and path; skips deletions and submodules', () => {
    expect(parse([Buffer.from(LOG)])).toEqual({ changes: EXPECTED, commits: 3 });
  });

  it('gives the same result one byte at a time (UTF-8 paths split across chunks)', () => {
    const bytes = [...Buffer.from(LOG)].map((b) => Buffer.from([b]));
    expect(parse(bytes)).toEqual({ changes: EXPECTED, commits: 3 });
  });

  it('parses `git diff --cached` output, which has no commit lines', () => {
    const diff = `:000000 100644 ${Z} ${B1} A\0new.txt\0:100644 100644 ${B2} ${B3} M\0old.txt\0`;
    expect(parse([Buffer.from(diff)]).changes).toEqual([
      { commit: null, oid: B1, path: 'new.txt' },
      { commit: null, oid: B3, path: 'old.txt' },
    ]);
  });

  it('reports each commit line as it passes', () => {
    const seen: number[] = [];
    const parser = new RawDiffParser(
      () => {},
      (n) => seen.push(n),
    );
    parser.push(Buffer.from(LOG));
    expect(seen).toEqual([1, 2, 3]);
  });

  it('complains when the output stops between an entry and its path', () => {
    const parser = new RawDiffParser(() => {});
    parser.push(Buffer.from(`:000000 100644 ${Z} ${B1} A\0new.t`));
    expect(() => parser.end()).toThrow(/middle of an entry/);
  });

  it('rejects output it does not understand', () => {
    expect(() => new RawDiffParser(() => {}).push(Buffer.from('warning: something\0'))).toThrow(/unexpected git diff output/);
  });
});
