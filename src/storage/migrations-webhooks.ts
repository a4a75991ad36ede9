import type { Kysely, Migration } from 'kysely';
import { type Dialect, notNull, withSeq } from './migrations.js';

/**
 * 101: webhook deliveries kept in the database until they are answered 2xx or given up, so that an event outlives a
 * restart and an endpoint down for hours (they were held in memory, retried for 81 s, and lost by a restart). One row
 * per event and endpoint: the exact body sent, the attempts made, when the next is due and the lease of the instance
 * sending it now (times of the schedule in milliseconds). status: pending | delivered | failed. Frozen history:
 * nothing here is imported from runtime code.
 */
export function webhookMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '101_webhook_deliveries': {
      async up(db: Kysely<unknown>) {
        await withSeq(db.schema.createTable('webhook_deliveries'), dialect)
          .addColumn('event_id', 'text', notNull)
          .addColumn('webhook_id', 'text', notNull)
          .addColumn('type', 'text', notNull)
          .addColumn('body', 'text', notNull)
          .addColumn('status', 'text', notNull)
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_attempt_at_ms', 'bigint', notNull)
          .addColumn('leased_until_ms', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('lease_id', 'text')
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'bigint', notNull)
          .addColumn('finished_at', 'bigint')
          .addUniqueConstraint('webhook_deliveries_event_endpoint', ['event_id', 'webhook_id'])
          .execute();
        // The dispatcher's claim: pending rows due first.
        await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at_ms']).execute();
        // The pruning of finished rows.
        await db.schema.createIndex('webhook_deliveries_finished').on('webhook_deliveries').column('finished_at').execute();
      },
    },
  };
}
