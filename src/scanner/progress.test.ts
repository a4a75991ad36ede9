import { describe, expect, it } from 'vitest';
import { createProgress } from './progress.js';

function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, writes, write: (s: string) => writes.push(s) };
}
const at = (n: number) => ({ files: n, bytes: n * 1024, commits: 0 });

describe('createProgress', () => {
  it('writes nothing when the stream is not a terminal', () => {
    const s = stream(false);
    const p = createProgress(s, () => 0);
    p.update(at(1));
    p.done();
    expect(s.writes).toEqual([]);
  });

  it('redraws one line on a terminal, at most once per interval, and clears it at the end', () => {
    const s = stream(true);
    let now = 1000;
    const p = createProgress(s, () => now, 200);
    p.update(at(1));
    now += 100;
    p.update(at(2));
    now += 150;
    p.update({ files: 3, bytes: 3 * 1024 * 1024, commits: 40 });
    p.done();
    expect(s.writes).toEqual(['\r\x1b[2Kscanning: 1 files, 1 KB', '\r\x1b[2Kscanning: 3 files, 3 MB, 40 commits', '\r\x1b[2K']);
  });

  it('does not clear a line it never drew', () => {
    const s = stream(true);
    createProgress(s).done();
    expect(s.writes).toEqual([]);
  });
});
