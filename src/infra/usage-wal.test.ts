import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageWal } from './usage-wal.js';

// The log takes the caller's test of a whole line; these lines are small JSON objects.
const whole = (line: string) => line.startsWith('{') && line.endsWith('}');
const lines = (...ls: string[]) => Buffer.from(ls.map((l) => `${l}\n`).join(''));

describe('usage write-ahead log', () => {
  it('recovers what a crashed run logged, and deletes released segments', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wal-'));
    const a = new UsageWal(dir);
    a.write(lines(...[0, 1, 2].map((id) => JSON.stringify({ id }))));
    a.write(lines(...[3, 4].map((id) => JSON.stringify({ id }))));
    const sealed = await a.seal();
    a.write(lines(JSON.stringify({ id: 5 })));
    await a.seal();
    // "crash": a new log on the same dir sees both segments
    const b = new UsageWal(dir);
    expect(b.recover(whole).map((l) => JSON.parse(l).id)).toEqual([0, 1, 2, 3, 4, 5]);
    await a.release(sealed);
    expect(new UsageWal(dir).recover(whole).map((l) => JSON.parse(l).id)).toEqual([5]);
    await a.close();
  });

  it('skips a torn last line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wal-'));
    const a = new UsageWal(dir);
    a.write(lines(JSON.stringify({ id: 1 })));
    await a.seal();
    await a.close();
    const file = readdirSync(dir)[0];
    const { appendFileSync } = await import('node:fs');
    appendFileSync(join(dir, file), '{"id": 2, "tor');
    expect(new UsageWal(dir).recover(whole)).toEqual(['{"id":1}']);
  });
});
