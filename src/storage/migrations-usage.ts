import type { Kysely, Migration } from 'kysely';
import { type Dialect, notNull } from './migrations.js';

/**
 * Usage, limits and budgets tables (names 010_…–019_…), 090_… (the request ids of usage events), and 050_…, which drops the per-project and per-key indexes
 * of usage_events once limit counters are seeded from the daily rollups (030_…): with requests from many keys each
 * insert dirtied a page of the per-key index, which tripled the usage writer's cost per event. Sums per key or
 * project come from the rollups; minute buckets read usage_events over its time index.
 */
export function usageMigrations(_dialect: Dialect): Record<string, Migration> {
  return {
    '010_usage_events': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('usage_events')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('created_at_ms', 'bigint', notNull)
          .addColumn('org_id', 'text', notNull)
          .addColumn('project_id', 'text')
          .addColumn('api_key_id', 'text')
          .addColumn('model', 'text')
          .addColumn('provider', 'text')
          .addColumn('endpoint', 'text', notNull)
          .addColumn('method', 'text', notNull)
          .addColumn('status', 'integer', notNull)
          .addColumn('outcome', 'text', notNull)
          .addColumn('billable', 'integer', notNull)
          .addColumn('input_tokens', 'integer', notNull)
          .addColumn('cached_tokens', 'integer', notNull)
          .addColumn('output_tokens', 'integer', notNull)
          .addColumn('latency_ms', 'integer', notNull)
          .addColumn('upstream_latency_ms', 'integer')
          .addColumn('cost_nanousd', 'bigint', notNull)
          .addColumn('streamed', 'integer', notNull)
          .addColumn('error_code', 'text')
          .execute();
        await db.schema.createIndex('usage_events_project_time').on('usage_events').columns(['project_id', 'created_at_ms']).execute();
        await db.schema.createIndex('usage_events_key_time').on('usage_events').columns(['api_key_id', 'created_at_ms']).execute();
        await db.schema.createIndex('usage_events_time').on('usage_events').column('created_at_ms').execute();
      },
    },
    '050_usage_events_time_index_only': {
      async up(db: Kysely<unknown>) {
        await db.schema.dropIndex('usage_events_project_time').ifExists().execute();
        await db.schema.dropIndex('usage_events_key_time').ifExists().execute();
      },
    },
    // Tollgate's id of each request and the upstream's own (issue 17 §4). Not indexed: every index on this table costs
    // each insert (see 050); finding one request's event scans its time range, which the request's date narrows.
    '090_usage_request_ids': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('usage_events').addColumn('request_id', 'text').execute();
        await db.schema.alterTable('usage_events').addColumn('upstream_request_id', 'text').execute();
      },
    },
    // Which of a provider's credentials answered (issue 20 §3): its id, the variable's name, never the key.
    '095_usage_credential': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('usage_events').addColumn('credential', 'text').execute();
      },
    },
  };
}
