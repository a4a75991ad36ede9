import { mkdtempSync, readFileSync } from 'node:fs';
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
});
