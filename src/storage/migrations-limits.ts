import type { Kysely, Migration } from 'kysely';
import { type Dialect, notNull, withSeq } from './migrations.js';

/** Rate limits, budgets, quotas, webhooks (names 040_…–049_…), and the settings of limits (106). */
export function limitMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '040_limits': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('api_keys').addColumn('limits', 'text').execute();
        await db.schema
          .createTable('rate_limits')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('project_id', 'text', notNull)
          .addColumn('model', 'text', notNull)
          .addColumn('max_requests_per_1_minute', 'bigint')
          .addColumn('max_tokens_per_1_minute', 'bigint')
          .addColumn('max_requests_per_1_day', 'bigint')
          .addColumn('created_at', 'bigint', notNull)
          .addColumn('updated_at', 'bigint', notNull)
          .addUniqueConstraint('rate_limits_project_model', ['project_id', 'model'])
          .execute();
        await db.schema
          .createTable('spend_limits')
          .addColumn('project_id', 'text', (c) => c.primaryKey())
          .addColumn('threshold_amount', 'bigint')
          .addColumn('interval', 'text', notNull)
          .addColumn('enforcement', 'text', notNull)
          .addColumn('alert_thresholds', 'text', notNull)
          .addColumn('alert_recipients', 'text', notNull)
          .addColumn('updated_at', 'bigint', notNull)
          .execute();
        await db.schema
          .createTable('alerts_sent')
          .addColumn('scope', 'text', notNull)
          .addColumn('period', 'text', notNull)
          .addColumn('threshold', 'integer', notNull)
          .addColumn('sent_at', 'bigint', notNull)
          .addPrimaryKeyConstraint('alerts_sent_pk', ['scope', 'period', 'threshold'])
          .execute();
        await withSeq(db.schema.createTable('webhooks'), dialect)
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('org_id', 'text', notNull)
          .addColumn('url', 'text', notNull)
          .addColumn('event_types', 'text', notNull)
          .addColumn('secret_encrypted', 'text', notNull)
          .addColumn('redacted_secret', 'text', notNull)
          .addColumn('created_at', 'bigint', notNull)
          .addColumn('deleted_at', 'bigint')
          .execute();
      },
    },
    '041_key_networks': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('key_networks')
          .addColumn('key_id', 'text', notNull)
          .addColumn('network', 'text', notNull)
          .addColumn('first_seen', 'bigint', notNull)
          .addPrimaryKeyConstraint('key_networks_pk', ['key_id', 'network'])
          .execute();
      },
    },
    // Which setting of a limit is in force, where its store state holds only what was used under that setting: a token
    // made anew whenever a key's or a project's requests-per-day limit changes, or the interval of a request quota or
    // spend limit (their counters are named by period), part of the store keys (core/limit-plan.ts). Null for a limit
    // not changed since (its keys as before).
    '106_limit_settings': {
      async up(db: Kysely<unknown>) {
        for (const column of ['rpd_rev', 'quota_rev', 'spend_rev']) await db.schema.alterTable('api_keys').addColumn(column, 'text').execute();
        await db.schema.alterTable('rate_limits').addColumn('rpd_rev', 'text').execute();
        await db.schema.alterTable('spend_limits').addColumn('spend_rev', 'text').execute();
      },
    },
  };
}
