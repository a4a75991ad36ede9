import { sql } from 'kysely';
import type { UsageSink } from '../core/ports.js';
import type { ModelPrice } from '../core/pricing.js';
import { usageRowOf, usageValuesIn } from '../core/usage-line.js';
import type { Database } from './database.js';
import { precompiled } from './precompiled.js';
import { rollUpUsage } from './usage-rollup-writes.js';

/** Events per transaction. */
const BATCH = 500;

/**
 * The PostgreSQL usage sink, through Kysely on the pool: each batch of events inserted (ignoring ids already there)
 * with the rollups of the newly inserted ones, in one transaction. Several instances may write at once: inserts are
 * idempotent by id, rollup rows are locked in one order (usage-rollups.ts), and each instance's retention deletes
 * rows the others are not deleting (SKIP LOCKED).
 */
export function postgresUsageSink(database: Database, prices: Readonly<Record<string, ModelPrice>>): UsageSink {
  const db = database.db;
  // At every key's first use from a network (compiled once: see precompiled).
  const insertNetwork = precompiled<{ network: string }, [string, string, number]>(db, 3, (keyId, network, firstSeen) =>
    db
      .insertInto('key_networks')
      .values({ key_id: keyId, network, first_seen: firstSeen })
      .onConflict((oc) => oc.columns(['key_id', 'network']).doNothing())
      .returning('network'),
  );
  return {
    maxBatch: BATCH,
    async write(lines) {
      const rows = usageValuesIn(lines).map(usageRowOf);
      // One write can hold more than a batch (a group of events is never split): several transactions, and a retry
      // after a failure re-inserts nothing twice.
      for (let i = 0; i < rows.length; i += BATCH) {
        const batch = rows.slice(i, i + BATCH);
        await db.transaction().execute(async (trx) => {
          const inserted = await trx.insertInto('usage_events').values(batch).onConflict((oc) => oc.column('id').doNothing()).returning('id').execute();
          if (inserted.length === 0) return;
          const ids = new Set(inserted.map((r) => r.id));
          await rollUpUsage(
            trx,
            batch.filter((e) => ids.has(e.id)),
            prices,
          );
        });
      }
    },
    async writeLastUsed(rows) {
      await db.transaction().execute(async (trx) => {
        for (const [id, at] of rows) {
          await trx
            .updateTable('api_keys')
            .set({ last_used_at: at })
            .where('id', '=', id)
            .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
            .execute();
        }
      });
    },
    async rememberNetwork(row) {
      return (await insertNetwork(row.key_id, row.network, row.first_seen)).length > 0;
    },
    async deleteEventsBefore(beforeMs, max) {
      const result = await sql`delete from usage_events where id in (
        select id from usage_events where created_at_ms < ${beforeMs} order by created_at_ms limit ${max} for update skip locked
      )`.execute(db);
      return Number(result.numAffectedRows ?? 0);
    },
    async close() {},
  };
}
