import type SQLite from 'better-sqlite3';
import type { ModelPrice } from '../core/pricing.js';
import type { UsageEvent } from '../services/usage-recorder.js';
import { aggregateRollups } from '../services/usage-rollups.js';
import type { Database } from './database.js';
import { ROLLUP_KEY, ROLLUP_SUMS, ROLLUP_TABLES } from './migrations-rollups.js';

const EVENT_COLUMNS = [
  'id',
  'created_at_ms',
  'org_id',
  'project_id',
  'api_key_id',
  'model',
  'provider',
  'endpoint',
  'method',
  'status',
  'outcome',
  'billable',
  'input_tokens',
  'cached_tokens',
  'output_tokens',
  'latency_ms',
  'upstream_latency_ms',
  'cost_nanousd',
  'streamed',
  'error_code',
] as const satisfies ReadonlyArray<keyof UsageEvent>;

/**
 * The SQLite writer of usage batches: prepared statements reused for every row, one transaction per batch, instead
 * of compiling a new multi-row statement per batch (measured: most of the gateway's per-request CPU went there,
 * on the event loop, since better-sqlite3 is synchronous). Same semantics as the generic path: insert-or-ignore by
 * event id, and only newly inserted events roll up. It takes Kysely's connection lock, so it never interleaves with
 * a Kysely transaction on the same connection.
 */
export function sqliteUsageWriter(database: Database, prices: Readonly<Record<string, ModelPrice>>): ((batch: UsageEvent[]) => Promise<void>) | null {
  const sqlite = database.sqlite;
  if (!sqlite) return null;
  const insert = sqlite.prepare(
    `INSERT INTO usage_events (${EVENT_COLUMNS.join(', ')}) VALUES (${EVENT_COLUMNS.map((c) => `@${c}`).join(', ')}) ON CONFLICT(id) DO NOTHING`,
  );
  const columns = [...ROLLUP_KEY, ...ROLLUP_SUMS];
  const upserts = new Map<string, SQLite.Statement>(
    ROLLUP_TABLES.map(({ table }) => [
      table,
      sqlite.prepare(
        `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')}) ` +
          `ON CONFLICT(${ROLLUP_KEY.join(', ')}) DO UPDATE SET ${ROLLUP_SUMS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
      ),
    ]),
  );
  const writeAll = sqlite.transaction((batch: UsageEvent[]) => {
    const inserted: UsageEvent[] = [];
    for (const e of batch) if (insert.run(e).changes === 1) inserted.push(e);
    if (inserted.length === 0) return;
    const rows = aggregateRollups(inserted, prices);
    for (const { table } of ROLLUP_TABLES) {
      const stmt = upserts.get(table) as SQLite.Statement;
      for (const r of rows[table]) stmt.run(r);
    }
  });
  return async (batch) => {
    await database.db.connection().execute(async () => {
      writeAll(batch);
    });
  };
}
