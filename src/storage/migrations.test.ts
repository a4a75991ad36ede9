import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';

describe('usage_events indexes', () => {
  it('keeps only its id and time indexes: per-key and per-project sums come from the rollups', async () => {
    const database = await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-schema-')) });
    try {
      const indexes = database.sqlite?.prepare("select name from sqlite_master where type = 'index' and tbl_name = 'usage_events' order by name").pluck().all();
      expect(indexes).toEqual(['sqlite_autoindex_usage_events_1', 'usage_events_time']);
    } finally {
      await database.close();
    }
  });
});
