import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from './migrations.js';
import { notNull } from './migrations.js';

/**
 * OpenAI fidelity (issue 17; names 093_…). 093: audit entries of an event OpenAI's Audit Logs API has a name for are
 * stored under that name, so that the stored type, the one the API shows, the `event_types[]` filter and the dashboard's
 * catalogue are one word: Tollgate's `logout` is OpenAI's `logout.succeeded`. (The renames are written out here, not
 * read from today's catalogue: migrations are frozen history.)
 *
 * 094: usage_costs_key_1d, a day's billed requests and cost per key, for the Costs API grouped or filtered by key (a
 * month by key read ~425,000 per-key, per-model, per-endpoint rows to answer ~290,000 results). Backfilled from the
 * per-key day rollup, which holds the same sums.
 */
export function fidelityMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '093_audit_openai_event_names': {
      async up(db: Kysely<unknown>) {
        await sql`update audit_logs set type = 'logout.succeeded' where type = 'logout'`.execute(db);
      },
    },
    '094_usage_costs_by_key': {
      async up(db: Kysely<unknown>) {
        let t = db.schema
          .createTable('usage_costs_key_1d')
          .addColumn('org_id', 'text', notNull)
          .addColumn('bucket_start', 'bigint', notNull)
          .addColumn('api_key_id', 'text', notNull)
          .addColumn('project_id', 'text', notNull)
          .addColumn('num_model_requests', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('cost_nanousd', 'bigint', (c) => c.notNull().defaultTo(0))
          // A time range is one index range scan, a day's rows in key order; SQLite clusters rows on it.
          .addPrimaryKeyConstraint('usage_costs_key_1d_pk', ['org_id', 'bucket_start', 'api_key_id', 'project_id']);
        if (dialect === 'sqlite') t = t.modifyEnd(sql`without rowid`);
        await t.execute();
        await sql`
          insert into usage_costs_key_1d (org_id, bucket_start, api_key_id, project_id, num_model_requests, cost_nanousd)
          select org_id, bucket_start, api_key_id, project_id, sum(num_model_requests),
            sum(input_cost_nanousd + cached_cost_nanousd + output_cost_nanousd)
          from usage_rollups_1d
          group by org_id, bucket_start, api_key_id, project_id
          having sum(num_model_requests) > 0 or sum(input_cost_nanousd + cached_cost_nanousd + output_cost_nanousd) <> 0
        `.execute(db);
        // Planner statistics at once: without them PostgreSQL sorted a month of rows on disk instead of reading the key.
        await sql`analyze usage_costs_key_1d`.execute(db);
      },
    },
  };
}
