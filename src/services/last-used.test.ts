import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../storage/database.js';
import { LastUsedTracker, type LastUsedRows } from './last-used.js';

describe('LastUsedTracker', () => {
  it('hands its batches to a sink while it has one, and writes them itself again once it has none', async () => {
    const database = await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-last-used-')) });
    try {
      const sent: LastUsedRows[] = [];
      const tracker = new LastUsedTracker(database);
      tracker.useSink({ writeLastUsed: async (rows) => void sent.push(rows) });
      tracker.touch('key_a', 100);
      tracker.touch('key_a', 200); // coalesced: the latest only
      tracker.touch('key_b', 150);
      await tracker.flush();
      expect(sent).toEqual([
        [
          ['key_a', 200],
          ['key_b', 150],
        ],
      ]);
      await tracker.flush(); // nothing new: nothing sent
      expect(sent).toHaveLength(1);

      // A sink that fails keeps the times for the next flush.
      tracker.useSink({ writeLastUsed: async () => Promise.reject(new Error('worker gone')) });
      tracker.touch('key_c', 300);
      await expect(tracker.flush()).rejects.toThrow(/worker gone/);

      // Without a sink, the tracker's own connection: a SQL update of api_keys (no such rows here; no error).
      tracker.useSink(null);
      await tracker.flush();
      tracker.useSink({ writeLastUsed: async (rows) => void sent.push(rows) });
      await tracker.flush();
      expect(sent).toHaveLength(1);
    } finally {
      await database.close();
    }
  });

  it('reports a failed background flush instead of swallowing it', async () => {
    const database = await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-last-used-')) });
    try {
      const errors: unknown[] = [];
      const tracker = new LastUsedTracker(database, 10, (err) => errors.push(err));
      tracker.useSink({ writeLastUsed: async () => Promise.reject(new Error('worker gone')) });
      tracker.touch('key_a', 100);
      tracker.start();
      for (let i = 0; i < 500 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      tracker.useSink({ writeLastUsed: async () => {} });
      await tracker.stop();
      expect(String(errors[0])).toMatch(/worker gone/);
    } finally {
      await database.close();
    }
  });
});
