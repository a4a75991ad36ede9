import type { Kysely, Migration } from 'kysely';
import type { Dialect } from './migrations.js';
import { notNull } from './migrations.js';

/** The rollup tables as migration 030 created them (frozen). */
const ROLLUP_TABLES_080 = ['usage_rollups_1h', 'usage_rollups_1d', 'usage_rollups_project_1h', 'usage_rollups_project_1d'] as const;

/**
 * Metering of every endpoint family (names 080_…–089_…, after the object tables' 070_…): the units a request was
 * billed by and whether its model was priced, on usage events and their rollups (080); background responses awaiting
 * billing until their result is retrieved through the gateway (081).
 */
export function meteringMigrations(_dialect: Dialect): Record<string, Migration> {
  return {
    '080_usage_units_and_unpriced': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('usage_events').addColumn('units', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema.alterTable('usage_events').addColumn('unpriced', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        for (const table of ROLLUP_TABLES_080) {
          await db.schema.alterTable(table).addColumn('units', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
          await db.schema.alterTable(table).addColumn('num_unpriced_requests', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
        }
      },
    },
    '081_background_responses': {
      async up(db: Kysely<unknown>) {
        // One row per background response created through the gateway; billed_at is set once, by whichever
        // instance first sees its finished result (the UPDATE … WHERE billed_at IS NULL is the claim).
        await db.schema
          .createTable('background_responses')
          .addColumn('response_id', 'text', (c) => c.primaryKey())
          .addColumn('org_id', 'text', notNull)
          .addColumn('project_id', 'text')
          .addColumn('api_key_id', 'text')
          .addColumn('model', 'text')
          .addColumn('created_at', 'bigint', notNull)
          .addColumn('billed_at', 'bigint')
          .execute();
      },
    },
  };
}
