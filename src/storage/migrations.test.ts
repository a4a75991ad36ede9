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

describe('093: spend alerts as OpenAI objects', () => {
  it("turns a monthly limit's percent thresholds into alerts of that share, keeps limits, drops alert-only rows", async () => {
    const { Kysely, Migrator, SqliteDialect } = await import('kysely');
    const { default: SQLite } = await import('better-sqlite3');
    const { migrations } = await import('./migrations.js');
    const all = migrations('sqlite');
    const before = Object.fromEntries(Object.entries(all).filter(([name]) => name < '093'));
    const db = new Kysely<Record<string, Record<string, unknown>>>({ dialect: new SqliteDialect({ database: new SQLite(':memory:') }) });
    try {
      expect((await new Migrator({ db, provider: { getMigrations: async () => before } }).migrateToLatest()).error).toBeUndefined();
      await db.insertInto('organizations').values({ id: 'org-1', name: 'Org', created_at: 1 }).execute();
      for (const id of ['proj_month', 'proj_week', 'proj_alerts_only']) {
        await db.insertInto('projects').values({ id, org_id: 'org-1', name: id, status: 'active', created_at: 1 }).execute();
      }
      const row = (project_id: string, threshold_amount: number | null, interval: string, thresholds: number[], recipients: string[]) => ({
        project_id,
        threshold_amount,
        interval,
        enforcement: 'enabled',
        alert_thresholds: JSON.stringify(thresholds),
        alert_recipients: JSON.stringify(recipients),
        updated_at: 1_700_000_000,
      });
      await db
        .insertInto('spend_limits')
        .values([
          row('org-1', 10_000, 'month', [50, 80, 100], []),
          row('proj_month', 999, 'month', [90, 50, 50], ['ops@example.com']),
          row('proj_week', 500, 'week', [80], ['ops@example.com']),
          row('proj_alerts_only', null, 'month', [50], []),
        ])
        .execute();
      expect((await new Migrator({ db, provider: { getMigrations: async () => all } }).migrateToLatest()).error).toBeUndefined();
      const alerts = await db.selectFrom('spend_alerts').selectAll().orderBy('seq').execute();
      expect(alerts.map((a) => [a.org_id, a.project_id, a.threshold_amount, a.currency, a.interval, a.channel_type, JSON.parse(String(a.recipients))])).toEqual([
        ['org-1', 'org-1', 5000, 'USD', 'month', 'email', []],
        ['org-1', 'org-1', 8000, 'USD', 'month', 'email', []],
        ['org-1', 'org-1', 10_000, 'USD', 'month', 'email', []],
        ['org-1', 'proj_month', 500, 'USD', 'month', 'email', ['ops@example.com']], // 999 × 50 %, rounded
        ['org-1', 'proj_month', 899, 'USD', 'month', 'email', ['ops@example.com']],
      ]);
      expect(alerts.every((a) => /^alert_[0-9a-f]{24}$/.test(String(a.id)))).toBe(true);
      const limits = await db.selectFrom('spend_limits').selectAll().orderBy('project_id').execute();
      expect(limits.map((l) => [l.project_id, l.threshold_amount, l.interval])).toEqual([
        ['org-1', 10_000, 'month'],
        ['proj_month', 999, 'month'],
        ['proj_week', 500, 'week'],
      ]);
      // (and the setting of the interval, 106's)
      expect(Object.keys(limits[0]).sort()).toEqual(['enforcement', 'interval', 'project_id', 'spend_rev', 'threshold_amount', 'updated_at']);
      // The rate limit dimensions OpenAI has and Tollgate did not store.
      const dims = { max_images_per_1_minute: 10, max_audio_megabytes_per_1_minute: 20, batch_1_day_max_input_tokens: 30 };
      await db.insertInto('rate_limits').values({ id: 'rl_1', project_id: 'proj_month', model: 'o3', ...dims, created_at: 1, updated_at: 1 }).execute();
      expect(await db.selectFrom('rate_limits').select(Object.keys(dims) as never[]).executeTakeFirst()).toEqual(dims);
    } finally {
      await db.destroy();
    }
  });
});

describe('102: an address is unique among the users still in the organization', () => {
  it('frees the addresses of removed users, keeps every row and its seq, and withdraws the invitations still pending to them', async () => {
    const { Kysely, Migrator, SqliteDialect } = await import('kysely');
    const { default: SQLite } = await import('better-sqlite3');
    const { migrations } = await import('./migrations.js');
    const all = migrations('sqlite');
    const before = Object.fromEntries(Object.entries(all).filter(([name]) => name < '102'));
    const db = new Kysely<Record<string, Record<string, unknown>>>({ dialect: new SqliteDialect({ database: new SQLite(':memory:') }) });
    try {
      expect((await new Migrator({ db, provider: { getMigrations: async () => before } }).migrateToLatest()).error).toBeUndefined();
      const user = (seq: number, id: string, email: string, deleted_at: number | null) => ({
        seq,
        id,
        org_id: 'org-1',
        email,
        name: id,
        role: 'reader',
        password_hash: deleted_at === null ? null : 'hash',
        created_at: 1,
        deleted_at,
        technical_level: 'expert',
        developer_persona: null,
      });
      await db.insertInto('users').values([user(3, 'user-live', 'live@example.com', null), user(7, 'user-gone', 'gone@example.com', 500)]).execute();
      const invite = (id: string, email: string, accepted_at: number | null) => ({
        id,
        org_id: 'org-1',
        email,
        role: 'owner',
        projects: '[]',
        token_hash: id,
        invited_by_type: 'user',
        invited_by_id: 'user-x',
        invited_at: 100,
        expires_at: 10_000,
        accepted_at,
        deleted_at: null,
      });
      await db
        .insertInto('invites')
        .values([invite('invite-to-gone', 'gone@example.com', null), invite('invite-accepted', 'gone@example.com', 200), invite('invite-to-live', 'live@example.com', null)])
        .execute();
      expect((await new Migrator({ db, provider: { getMigrations: async () => all } }).migrateToLatest()).error).toBeUndefined();

      const users = await db.selectFrom('users').selectAll().orderBy('seq').execute();
      expect(users).toEqual([user(3, 'user-live', 'live@example.com', null), user(7, 'user-gone', 'gone@example.com', 500)]);
      const invites = await db.selectFrom('invites').select(['id', 'deleted_at']).orderBy('seq').execute();
      expect(invites).toEqual([
        { id: 'invite-to-gone', deleted_at: 500 },
        { id: 'invite-accepted', deleted_at: null },
        { id: 'invite-to-live', deleted_at: null },
      ]);
      // The removed address takes a new user (after the last seq); a live one does not take a second; ids stay unique.
      await db.insertInto('users').values({ ...user(0, 'user-back', 'gone@example.com', null), seq: undefined }).execute();
      expect((await db.selectFrom('users').select('seq').where('id', '=', 'user-back').executeTakeFirstOrThrow()).seq).toBe(8);
      await expect(db.insertInto('users').values({ ...user(0, 'user-twin', 'live@example.com', null), seq: undefined }).execute()).rejects.toThrow(/UNIQUE/);
      await expect(db.insertInto('users').values({ ...user(0, 'user-back', 'other@example.com', null), seq: undefined }).execute()).rejects.toThrow(/UNIQUE/);
      await db.insertInto('users').values({ ...user(0, 'user-gone-too', 'live@example.com', 900), seq: undefined }).execute();
    } finally {
      await db.destroy();
    }
  });
});
