import type { Kysely, Migration } from 'kysely';
import { type Dialect, notNull } from './migrations.js';

/** Usage, limits and budgets tables (names 010_…–019_…). */
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
  };
}
