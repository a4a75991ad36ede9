import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrations } from './migrations.js';

describe('migrations 093 and 094 on a database written before them', () => {
  it('renames stored logout entries to OpenAI’s logout.succeeded, and backfills the day costs per key from the day rollup', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-fidelity-')), 'tollgate.db');
    const all = migrations('sqlite');
    const before = Object.fromEntries(Object.entries(all).filter(([name]) => name < '093'));
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(file) }) });
    try {
      expect((await new Migrator({ db, provider: { getMigrations: async () => before } }).migrateToLatest()).error).toBeUndefined();
      const audit = (id: string, type: string) =>
        sql`insert into audit_logs (id, org_id, type, effective_at, actor_type, actor_id, actor, details) values (${id}, 'org-1', ${type}, 1, 'session', 'user-1', '{}', '{}')`.execute(db);
      await audit('audit_log-1', 'logout');
      await audit('audit_log-2', 'login.succeeded');
      const day = 1_736_121_600;
      // Two models and two endpoint kinds of one key, another key, a key with only refusals (no cost row), and another day.
      const rows: Array<[number, string, string, string, string, number, number, number, number]> = [
        [day, 'proj_a', 'key_1', 'gpt-4o', 'completions', 3, 100, 20, 300],
        [day, 'proj_a', 'key_1', 'gpt-4o-mini', 'completions', 1, 7, 0, 5],
        [day, 'proj_a', 'key_1', 'text-embedding-3-small', 'embeddings', 2, 40, 0, 0],
        [day, 'proj_b', 'key_2', 'gpt-4o', 'completions', 1, 0, 0, 0],
        [day, 'proj_b', 'key_3', 'gpt-4o', 'completions', 0, 0, 0, 0],
        [day + 86_400, 'proj_a', 'key_1', 'gpt-4o', 'completions', 2, 50, 0, 60],
      ];
      for (const [bucket, project, key, model, kind, billed, input, cached, output] of rows) {
        await sql`insert into usage_rollups_1d (org_id, bucket_start, project_id, api_key_id, model, endpoint_kind, num_requests, num_model_requests,
          num_refused_requests, input_cost_nanousd, cached_cost_nanousd, output_cost_nanousd)
          values ('org-1', ${bucket}, ${project}, ${key}, ${model}, ${kind}, ${billed + 1}, ${billed}, 1, ${input}, ${cached}, ${output})`.execute(db);
      }
      expect((await new Migrator({ db, provider: { getMigrations: async () => all } }).migrateToLatest()).error).toBeUndefined();
      const types = await sql<{ id: string; type: string }>`select id, type from audit_logs order by id`.execute(db);
      expect(types.rows).toEqual([
        { id: 'audit_log-1', type: 'logout.succeeded' },
        { id: 'audit_log-2', type: 'login.succeeded' },
      ]);
      const costs = await sql`select bucket_start, api_key_id, project_id, num_model_requests, cost_nanousd from usage_costs_key_1d order by bucket_start, api_key_id`.execute(db);
      expect(costs.rows).toEqual([
        { bucket_start: day, api_key_id: 'key_1', project_id: 'proj_a', num_model_requests: 6, cost_nanousd: 100 + 20 + 300 + 7 + 5 + 40 },
        // Billed at cost 0 (an unpriced model): shown in costs, so kept.
        { bucket_start: day, api_key_id: 'key_2', project_id: 'proj_b', num_model_requests: 1, cost_nanousd: 0 },
        { bucket_start: day + 86_400, api_key_id: 'key_1', project_id: 'proj_a', num_model_requests: 2, cost_nanousd: 110 },
      ]);
    } finally {
      await db.destroy();
    }
  });
});
