import { Migrator, sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachDatabase, freshSchema } from '../../test/harness/backends.js';
import { closeBareDatabase, openBareDatabase } from '../../test/harness/bare-database.js';
import { migrations } from './migrations.js';

const TABLES = ['usage_rollups_1h', 'usage_rollups_1d', 'usage_rollups_project_1h', 'usage_rollups_project_1d'];

describeEachDatabase('migration 097 (service tier) on a database written before it', (backend) => {
  const schema = freshSchema();

  const open = () => openBareDatabase(backend, schema);

  it("keeps every rollup row (its tier '') and event (tier null), and makes the tier part of each rollup's key", async () => {
    const all = migrations(backend.name);
    const before = Object.fromEntries(Object.entries(all).filter(([name]) => name < '097'));
    const db = await open();
    try {
      expect((await new Migrator({ db, provider: { getMigrations: async () => before } }).migrateToLatest()).error).toBeUndefined();
      const day = 1_736_121_600;
      for (const table of TABLES) {
        for (const [key, model, requests] of [
          ['key_1', 'gpt-4o', 3],
          ['key_2', 'gpt-4o-mini', 1],
        ] as const) {
          await sql`insert into ${sql.table(table)} (org_id, bucket_start, project_id, api_key_id, model, endpoint_kind, num_requests, num_model_requests, units)
            values ('org-1', ${day}, 'proj_a', ${key}, ${model}, 'completions', ${requests}, ${requests}, 2)`.execute(db);
        }
      }
      await sql`insert into usage_events (id, created_at_ms, org_id, endpoint, method, status, outcome, billable, input_tokens, cached_tokens,
        output_tokens, latency_ms, cost_nanousd, streamed) values ('evt_1', 1, 'org-1', '/chat/completions', 'POST', 200, 'ok', 1, 1, 0, 1, 1, 1, 0)`.execute(db);
      expect((await new Migrator({ db, provider: { getMigrations: async () => all } }).migrateToLatest()).error).toBeUndefined();

      const event = await sql<{ id: string; service_tier: string | null }>`select id, service_tier from usage_events`.execute(db);
      expect(event.rows).toEqual([{ id: 'evt_1', service_tier: null }]);
      for (const table of TABLES) {
        const rows = await sql<Record<string, unknown>>`select api_key_id, model, service_tier, num_requests, num_model_requests, units
          from ${sql.table(table)} order by api_key_id`.execute(db);
        expect(rows.rows.map((r) => [r.api_key_id, r.model, r.service_tier, Number(r.num_requests), Number(r.num_model_requests), Number(r.units)]), table).toEqual([
          ['key_1', 'gpt-4o', '', 3, 3, 2],
          ['key_2', 'gpt-4o-mini', '', 1, 1, 2],
        ]);
        // Another tier of the same (bucket, project, key, model, kind) is a row of its own; the same tier adds up.
        const upsert = (tier: string, n: number) =>
          sql`insert into ${sql.table(table)} (org_id, bucket_start, project_id, api_key_id, model, endpoint_kind, service_tier, num_requests)
            values ('org-1', ${day}, 'proj_a', 'key_1', 'gpt-4o', 'completions', ${tier}, ${n})
            on conflict (org_id, bucket_start, project_id, api_key_id, model, endpoint_kind, service_tier)
            do update set num_requests = ${sql.table(table)}.num_requests + excluded.num_requests`.execute(db);
        await upsert('flex', 5);
        await upsert('flex', 1);
        await upsert('', 10);
        const key1 = await sql<{ service_tier: string; num_requests: number }>`select service_tier, num_requests from ${sql.table(table)}
          where api_key_id = 'key_1' order by service_tier`.execute(db);
        expect(key1.rows.map((r) => [r.service_tier, Number(r.num_requests)]), table).toEqual([
          ['', 13],
          ['flex', 6],
        ]);
      }
    } finally {
      await closeBareDatabase(db, backend, schema);
    }
  });
});
