import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageWal } from './usage-wal.js';

const lines = (...ls: string[]) => Buffer.from(ls.map((l) => `${l}\n`).join(''));
/** The ids in the segments a new log on `dir` finds left. */
const leftIds = (dir: string) =>
  new UsageWal(dir)
    .leftovers()
    .flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean))
    .map((l) => JSON.parse(l).id);

describe('usage write-ahead log', () => {
  it('leaves what a crashed run logged to the next, and deletes released segments', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wal-'));
    const a = new UsageWal(dir);
    a.write(lines(...[0, 1, 2].map((id) => JSON.stringify({ id }))));
    a.write(lines(...[3, 4].map((id) => JSON.stringify({ id }))));
    const sealed = await a.seal();
    a.write(lines(JSON.stringify({ id: 5 })));
    await a.seal();
    // "crash": a new log on the same dir sees both segments, oldest first
    expect(leftIds(dir)).toEqual([0, 1, 2, 3, 4, 5]);
    await a.release(sealed);
    expect(leftIds(dir)).toEqual([5]);
    await a.close();
  });

  it('cuts a short write (a disk filling up) back to the last whole line, so the next group is recovered whole', async () => {
    // Found by an outside review on a small tmpfs: the short write went unseen, left a cut line, and the next append
    // (space back) was glued to it: that event, logged, was lost at recovery.
    const dir = mkdtempSync(join(tmpdir(), 'wal-'));
    let writes = 0;
    const shortOnce = async (path: string, flags: string, mode: number): Promise<FileHandle> => {
      const fh = await open(path, flags, mode);
      const write = fh.write.bind(fh) as (b: Uint8Array) => Promise<{ bytesWritten: number; buffer: Uint8Array }>;
      // The second write takes half its bytes, as write(2) does when the disk fills.
      (fh as unknown as { write: typeof write }).write = async (b: Uint8Array) => (++writes === 2 ? write(b.subarray(0, Math.floor(b.length / 2))) : write(b));
      return fh;
    };
    const errors: unknown[] = [];
    const a = new UsageWal(dir, (err) => errors.push(err), shortOnce);
    a.write(lines(JSON.stringify({ id: 0 })));
    a.write(lines(JSON.stringify({ id: 1 }), JSON.stringify({ id: 2 })));
    a.write(lines(JSON.stringify({ id: 3 })));
    await a.seal();
    await a.close();
    // The short group is reported (it is not logged); every line in the segment is whole, the later group kept.
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('took');
    expect(leftIds(dir)).toEqual([0, 3]);
  });

  it('leaves a new log its own segments only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wal-'));
    const a = new UsageWal(dir);
    a.write(lines(JSON.stringify({ id: 1 })));
    await a.close();
    const b = new UsageWal(dir);
    const left = b.leftovers();
    b.write(lines(JSON.stringify({ id: 2 })));
    await b.close();
    expect(left.map((f) => readFileSync(f, 'utf8'))).toEqual(['{"id":1}\n']);
  });

  it('writeSync appends before it returns, to a segment the asynchronous appends do not share', async () => {
    const data = mkdtempSync(join(tmpdir(), 'wal-'));
    const dir = join(data, 'wal');
    const a = new UsageWal(dir);
    a.write(lines(JSON.stringify({ id: 1 })));
    a.writeSync(lines(JSON.stringify({ id: 2 })));
    a.writeSync(lines(JSON.stringify({ id: 3 })));
    // On disk now, with no promise awaited (a process exiting at once keeps it).
    expect(leftIds(dir)).toEqual([2, 3]);
    a.write(lines(JSON.stringify({ id: 4 })));
    await a.close();
    expect(leftIds(dir).sort()).toEqual([1, 2, 3, 4]);
    // The log's directory removed: made again; the data dir above it is not.
    rmSync(dir, { recursive: true });
    a.writeSync(lines(JSON.stringify({ id: 5 })));
    expect(leftIds(dir)).toEqual([5]);
    rmSync(data, { recursive: true });
    expect(() => a.writeSync(lines(JSON.stringify({ id: 6 })))).toThrow(/ENOENT/);
  });
});
