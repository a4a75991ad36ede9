import { type Kysely, sql } from 'kysely';
import { DEFAULT_PRICES, type ModelPrice } from '../core/pricing.js';
import type { DB } from './schema.js';
import { COSTS_KEY_KEY, COSTS_KEY_SUMS, ROLLUP_KEY, ROLLUP_SUMS, ROLLUP_TABLES, type UsageCostsKeyTable, type UsageRollupsTable, type UsageRollupTables } from './schema-rollups.js';
import type { UsageEventsTable } from './schema-usage.js';
import { aggregateRollups, type KindOf } from './usage-rollups.js';

// The rollups written through Kysely (the PostgreSQL sink, migrations' tests, the CLI). Apart from the aggregation
// (usage-rollups.ts), which the SQLite usage worker runs with prepared statements: the worker thread never loads
// Kysely (~3 MB of its heap).

type Prices = Readonly<Record<string, ModelPrice>>;

// Rows per INSERT: 26 columns × 1000 rows stays under SQLite's 32,766 and PostgreSQL's 65,535 parameters.
const ROWS_PER_STATEMENT = 1000;

/** Adds rows to a rollup table: INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x (SQLite ≥ 3.24 and PostgreSQL). */
export async function upsertRollups(trx: Kysely<DB>, table: keyof UsageRollupTables, rows: UsageRollupsTable[]): Promise<void> {
  const add = Object.fromEntries(ROLLUP_SUMS.map((c) => [c, sql<number>`${sql.ref(`${table}.${c}`)} + ${sql.ref(`excluded.${c}`)}`]));
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    await trx
      .insertInto(table)
      .values(rows.slice(i, i + ROWS_PER_STATEMENT))
      .onConflict((oc) => oc.columns([...ROLLUP_KEY]).doUpdateSet(add))
      .execute();
  }
}

/**
 * Folds newly inserted usage events into the rollups, in the inserting transaction (the sinks pass only events they
 * inserted, so a replayed batch is never counted twice). `prices` splits each cost into line items: the sinks pass the
 * gateway's prices; `kindOf` (tests of migrations) the endpoint kinds of an earlier version.
 */
export async function rollUpUsage(trx: Kysely<DB>, events: UsageEventsTable[], prices: Prices = DEFAULT_PRICES, kindOf?: KindOf): Promise<void> {
  if (events.length === 0) return;
  const rows = aggregateRollups(events, prices, kindOf);
  for (const { table } of ROLLUP_TABLES) await upsertRollups(trx, table, rows[table]);
  await upsertCostsByKey(trx, rows.usage_costs_key_1d);
}

/** Adds rows to usage_costs_key_1d, as upsertRollups does. */
async function upsertCostsByKey(trx: Kysely<DB>, rows: UsageCostsKeyTable[]): Promise<void> {
  const add = Object.fromEntries(COSTS_KEY_SUMS.map((c) => [c, sql<number>`${sql.ref(`usage_costs_key_1d.${c}`)} + ${sql.ref(`excluded.${c}`)}`]));
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    await trx
      .insertInto('usage_costs_key_1d')
      .values(rows.slice(i, i + ROWS_PER_STATEMENT))
      .onConflict((oc) => oc.columns([...COSTS_KEY_KEY]).doUpdateSet(add))
      .execute();
  }
}
