import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageWal } from './usage-wal.js';

const tick = () => new Promise((r) => setTimeout(r, 20));

describe('usage write-ahead log', () => {
  it('recovers what a crashed run logged, and deletes released segments', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wal-'));
    const a = new UsageWal(dir);
    for (let i = 0; i < 5; i++) a.appendLine(JSON.stringify({ id: i }));
    await tick();
    const sealed = await a.seal();
    a.appendLine(JSON.stringify({ id: 5 }));
    await tick();
    await a.seal();
    // "crash": a new log on the same dir sees both segments
    const b = new UsageWal(dir);
    expect(b.recover().map((l) => JSON.parse(l).id)).toEqual([0, 1, 2, 3, 4, 5]);
    await a.release(sealed);
    expect(new UsageWal(dir).recover().map((l) => JSON.parse(l).id)).toEqual([5]);
    await a.close();
  });

  it('skips a torn last line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wal-'));
    const a = new UsageWal(dir);
    a.appendLine(JSON.stringify({ id: 1 }));
    await a.seal();
    await a.close();
    const file = readdirSync(dir)[0];
    const { appendFileSync } = await import('node:fs');
    appendFileSync(join(dir, file), '{"id": 2, "tor');
    expect(new UsageWal(dir).recover()).toEqual(['{"id":1}']);
  });
});
