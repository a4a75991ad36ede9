import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrations } from './migrations.js';

describe('migration 109 on a database written before it', () => {
  it('keeps only the origin of the URL in webhook.created entries, and nothing else of any entry changes', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-audit-')), 'tollgate.db');
    const all = migrations('sqlite');
    const before = Object.fromEntries(Object.entries(all).filter(([name]) => name < '109'));
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(file) }) });
    try {
      expect((await new Migrator({ db, provider: { getMigrations: async () => before } }).migrateToLatest()).error).toBeUndefined();
      const audit = (id: string, type: string, details: unknown) =>
        sql`insert into audit_logs (id, org_id, type, effective_at, actor_type, actor_id, actor, details) values (${id}, 'org-1', ${type}, 1, 'session', 'user-1', '{}', ${JSON.stringify(details)})`.execute(db);
      const created = (url: unknown) => ({ id: 'wh_1', data: { url, event_types: ['api_key.exposed'] } });
      await audit('audit_log-1', 'webhook.created', created('https://hooks.example.com/services/T0/B0/secretpath'));
      await audit('audit_log-2', 'webhook.created', created('https://example.com:8443/in?token=secretquery'));
      await audit('audit_log-3', 'webhook.created', created('https://example.com'));
      await audit('audit_log-4', 'webhook.created', created('not a url'));
      await audit('audit_log-5', 'webhook.deleted', { id: 'wh_1' });
      await audit('audit_log-6', 'api_key.exposed', { id: 'key_1', url: 'https://example.com/leak?x=1', source: null, token_type: 'tollgate_api_key' });
      expect((await new Migrator({ db, provider: { getMigrations: async () => all } }).migrateToLatest()).error).toBeUndefined();
      const rows = await sql<{ id: string; details: string }>`select id, details from audit_logs order by id`.execute(db);
      expect(rows.rows.map((r) => JSON.parse(r.details))).toEqual([
        created('https://hooks.example.com'),
        created('https://example.com:8443'),
        created('https://example.com'),
        created(null),
        { id: 'wh_1' },
        { id: 'key_1', url: 'https://example.com/leak?x=1', source: null, token_type: 'tollgate_api_key' },
      ]);
    } finally {
      await db.destroy();
    }
  });
});
