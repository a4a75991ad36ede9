import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';

describe('usage_events indexes', () => {
  it('keeps only its id and time indexes (and one of refusals alone): per-key and per-project sums come from the rollups', async () => {
    const database = await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-schema-')) });
    try {
      const indexes = database.sqlite?.prepare("select name from sqlite_master where type = 'index' and tbl_name = 'usage_events' order by name").pluck().all();
      expect(indexes).toEqual(['sqlite_autoindex_usage_events_1', 'usage_events_refused_time', 'usage_events_time']);
      // Partial: an answered request's insert writes no entry in it.
      const refused = database.sqlite?.prepare("select sql from sqlite_master where name = 'usage_events_refused_time'").pluck().get();
      expect(refused).toMatch(/where outcome = 'refused'$/);
    } finally {
      await database.close();
    }
  });
});

describe('migration history', () => {
  // Kysely applies migrations in name order and refuses to start when a new one sorts before one already applied
  // ("corrupted migrations"): every migration added after a release must sort after every released one. Append each
  // new migration's name here when it ships; never insert or rename.
  const RELEASED = [
    '001_control_plane',
    '010_usage_events',
    '020_dashboard_sessions',
    '021_dashboard_invites',
    '030_usage_rollups',
    '040_limits',
    '041_key_networks',
    '050_usage_events_time_index_only',
  ];

  it('released migrations come first, in order, and every newer one sorts after them', async () => {
    const { migrations } = await import('./migrations.js');
    for (const dialect of ['sqlite', 'postgres'] as const) {
      const names = Object.keys(migrations(dialect)).sort();
      expect(names.slice(0, RELEASED.length), dialect).toEqual(RELEASED);
      for (const later of names.slice(RELEASED.length)) expect(later > RELEASED[RELEASED.length - 1], later).toBe(true);
    }
  });

  it('a database migrated by the last release migrates to today', async () => {
    const { Kysely, Migrator, SqliteDialect } = await import('kysely');
    const { default: SQLite } = await import('better-sqlite3');
    const { migrations } = await import('./migrations.js');
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-upgrade-'));
    const file = join(dir, 'tollgate.db');
    const all = migrations('sqlite');
    const released = Object.fromEntries(RELEASED.map((n) => [n, all[n]]));
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(file) }) });
    const old = await new Migrator({ db, provider: { getMigrations: async () => released } }).migrateToLatest();
    expect(old.error).toBeUndefined();
    const now = await new Migrator({ db, provider: { getMigrations: async () => all } }).migrateToLatest();
    expect(now.error).toBeUndefined();
    await db.destroy();
  });
});
