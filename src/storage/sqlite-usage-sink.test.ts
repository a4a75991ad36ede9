import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usageEvent } from '../../test/harness/usage-event.js';
import { DEFAULT_PRICES } from '../core/pricing.js';
import { toUsageLine } from '../core/usage-line.js';
import { openDatabase } from './database.js';
import { sqliteUsageSink } from './sqlite-usage-sink.js';

const lines = (from: number, n: number, atMs: number) =>
  Buffer.from(Array.from({ length: n }, (_, i) => `${toUsageLine(usageEvent({ id: `evt_${String(from + i).padStart(8, '0')}`, createdAtMs: atMs + i, requestId: `req_${'0'.repeat(24)}${String(from + i).padStart(8, '0')}` }))}\n`).join(''));

describe('SQLite usage sink on the main thread', () => {
  it('deletes old events in capped batches, oldest first, and later inserts reuse the freed pages (the file does not grow)', async () => {
    const database = await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-sink-')) });
    try {
      const sqlite = database.sqlite;
      if (!sqlite) throw new Error('SQLite expected');
      const sink = sqliteUsageSink(database, DEFAULT_PRICES, { worker: false });
      expect(sink.mode).toBe('main-thread');
      const t0 = Date.UTC(2026, 0, 1);
      const N = 20_000;
      for (let i = 0; i < N; i += 5000) await sink.write(lines(i, 5000, t0 + i));
      const pages = () => {
        sqlite.pragma('wal_checkpoint(TRUNCATE)');
        return { total: Number(sqlite.pragma('page_count', { simple: true })), free: Number(sqlite.pragma('freelist_count', { simple: true })) };
      };
      const full = pages();
      // Capped on the event loop, whatever is asked; the oldest go first.
      expect(await sink.deleteEventsBefore(t0 + 600, 5000)).toBe(500);
      expect(await sink.deleteEventsBefore(t0 + 600, 5000)).toBe(100);
      expect(await sink.deleteEventsBefore(t0 + 600, 5000)).toBe(0);
      const oldest = await database.db.selectFrom('usage_events').select(({ fn }) => fn.min('created_at_ms').as('t')).executeTakeFirstOrThrow();
      expect(Number(oldest.t)).toBe(t0 + 600);
      while ((await sink.deleteEventsBefore(t0 + N, 5000)) > 0);
      const emptied = pages();
      // No VACUUM: the file keeps its size, its emptied pages on the freelist.
      expect(emptied.total).toBe(full.total);
      expect(emptied.free).toBeGreaterThan(full.total / 3);
      // The rollups are kept.
      const rolled = await database.db.selectFrom('usage_rollups_1d').select(({ fn }) => fn.sum<number>('num_requests').as('n')).executeTakeFirstOrThrow();
      expect(Number(rolled.n)).toBe(N);
      // As many new events again: written into the freed pages.
      for (let i = 0; i < N; i += 5000) await sink.write(lines(N + i, 5000, t0 + N + i));
      const refilled = pages();
      expect(refilled.total).toBeLessThanOrEqual(full.total * 1.05);
      expect(refilled.free).toBeLessThan(emptied.free / 4);
    } finally {
      await database.close();
    }
  });
});
