import { type Kysely, sql } from 'kysely';
import { bucketOfMs } from '../core/buckets.js';
import { costNanoUsd, DEFAULT_PRICES, type ModelPrice, priceFor } from '../core/pricing.js';
import { ROLLUP_KEY, ROLLUP_SUMS, ROLLUP_TABLES } from '../storage/migrations-rollups.js';
import type { DB } from '../storage/schema.js';
import { endpointKind, type RollupTables, type UsageRollupsTable } from '../storage/schema-rollups.js';
import type { UsageEvent } from './usage-recorder.js';

type Prices = Readonly<Record<string, ModelPrice>>;

// Rows per INSERT: 16 columns × 1000 rows stays under SQLite's 32,766 and PostgreSQL's 65,535 parameters.
const ROWS_PER_STATEMENT = 1000;

/** A request reaches the bill only when it reached a model; a refused request never does, whatever it carries. */
export function isBilled(e: Pick<UsageEvent, 'billable' | 'outcome'>): boolean {
  return e.billable === 1 && e.outcome !== 'refused';
}

/**
 * Splits a request's cost into its input, cached-input and output line items, summing exactly to `total`.
 * The parts are priced with `price`; when that does not reproduce `total` (the price changed, or the model
 * is unknown here) the total is shared in the same proportions, and all of it goes to input when no part is priced.
 */
export function splitCost(
  price: ModelPrice | null,
  tokens: { input: number; cached: number; output: number },
  total: number,
): [input: number, cached: number, output: number] {
  if (total === 0) return [0, 0, 0];
  const cached = Math.min(tokens.cached, tokens.input);
  const parts: [number, number, number] = price
    ? [
        costNanoUsd(price, { input: tokens.input - cached, cached: 0, output: 0 }),
        costNanoUsd(price, { input: cached, cached, output: 0 }),
        costNanoUsd(price, { input: 0, cached: 0, output: tokens.output }),
      ]
    : [0, 0, 0];
  const sum = parts[0] + parts[1] + parts[2];
  if (sum === total) return parts;
  if (sum <= 0) return [total, 0, 0];
  // Integer shares (BigInt: total × part can pass 2^53), the rounding remainder to the largest part.
  const big = BigInt(total);
  const shares = parts.map((p) => Number((big * BigInt(p)) / BigInt(sum))) as [number, number, number];
  const largest = parts.indexOf(Math.max(...parts));
  shares[largest] += total - (shares[0] + shares[1] + shares[2]);
  return shares;
}

function emptyRow(org: string, bucket: number, project: string, key: string, model: string, kind: string): UsageRollupsTable {
  return {
    org_id: org,
    bucket_start: bucket,
    project_id: project,
    api_key_id: key,
    model,
    endpoint_kind: kind,
    num_requests: 0,
    num_model_requests: 0,
    num_refused_requests: 0,
    num_failed_requests: 0,
    input_tokens: 0,
    cached_tokens: 0,
    output_tokens: 0,
    input_cost_nanousd: 0,
    cached_cost_nanousd: 0,
    output_cost_nanousd: 0,
  };
}

/**
 * Sums events into the rows of every rollup table: one row per (bucket, project, key, model, endpoint kind),
 * key '' in the project tables. Each table's rows come sorted by key.
 */
export function aggregateRollups(events: UsageEvent[], prices: Prices = DEFAULT_PRICES): Record<keyof RollupTables, UsageRollupsTable[]> {
  // Per table: bucket → identity (org, project, key, model, kind) → row. Nested, so that no string is built per table.
  const maps = ROLLUP_TABLES.map(() => new Map<number, Map<string, UsageRollupsTable>>());
  const priceCache = new Map<string, ModelPrice | null>();
  for (const e of events) {
    const kind = endpointKind(e.method, e.endpoint);
    const project = e.project_id ?? '';
    const model = e.model ?? '';
    const billed = isBilled(e);
    const cost = billed ? Number(e.cost_nanousd) : 0;
    let split: [number, number, number] = [0, 0, 0];
    if (cost !== 0) {
      let price = priceCache.get(model);
      if (price === undefined) {
        price = model ? priceFor(prices, model) : null;
        priceCache.set(model, price);
      }
      split = splitCost(price, { input: e.input_tokens, cached: e.cached_tokens, output: e.output_tokens }, cost);
    }
    // One identity string per event for the key tables and one for the project tables; the bucket is the table's own.
    const keyed = `${e.org_id}\u0000${project}\u0000${e.api_key_id ?? ''}\u0000${model}\u0000${kind}`;
    const unkeyed = `${e.org_id}\u0000${project}\u0000\u0000${model}\u0000${kind}`;
    for (let t = 0; t < ROLLUP_TABLES.length; t++) {
      const { width, perKey } = ROLLUP_TABLES[t];
      const bucket = bucketOfMs(e.created_at_ms, width);
      const apiKey = perKey ? (e.api_key_id ?? '') : '';
      const id = perKey ? keyed : unkeyed;
      let rows = maps[t].get(bucket);
      if (!rows) {
        rows = new Map();
        maps[t].set(bucket, rows);
      }
      let acc = rows.get(id);
      if (!acc) {
        acc = emptyRow(e.org_id, bucket, project, apiKey, model, kind);
        rows.set(id, acc);
      }
      acc.num_requests++;
      if (e.outcome === 'refused') acc.num_refused_requests++;
      else if (e.outcome !== 'ok') acc.num_failed_requests++;
      if (!billed) continue;
      acc.num_model_requests++;
      acc.input_tokens += e.input_tokens;
      acc.cached_tokens += e.cached_tokens;
      acc.output_tokens += e.output_tokens;
      acc.input_cost_nanousd += split[0];
      acc.cached_cost_nanousd += split[1];
      acc.output_cost_nanousd += split[2];
    }
  }
  // A fixed order makes concurrent writers (several instances on PostgreSQL) lock rows in the same order: no deadlocks.
  const byKey = ([a]: [string, UsageRollupsTable], [b]: [string, UsageRollupsTable]) => (a < b ? -1 : a > b ? 1 : 0);
  const sorted = (m: Map<number, Map<string, UsageRollupsTable>>) =>
    [...m.entries()].sort(([a], [b]) => a - b).flatMap(([, rows]) => [...rows.entries()].sort(byKey).map(([, r]) => r));
  return Object.fromEntries(ROLLUP_TABLES.map(({ table }, t) => [table, sorted(maps[t])])) as Record<keyof RollupTables, UsageRollupsTable[]>;
}

/** Adds rows to a rollup table: INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x (SQLite ≥ 3.24 and PostgreSQL). */
export async function upsertRollups(trx: Kysely<DB>, table: keyof RollupTables, rows: UsageRollupsTable[]): Promise<void> {
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
 * Folds newly inserted usage events into the rollups, in the inserting transaction (the recorder passes only
 * events it inserted, so a replayed batch is never counted twice). `prices` splits each cost into line items:
 * pass the gateway's prices (see `usageRollups`).
 */
export async function rollUpUsage(trx: Kysely<DB>, events: UsageEvent[], prices: Prices = DEFAULT_PRICES): Promise<void> {
  if (events.length === 0) return;
  const rows = aggregateRollups(events, prices);
  for (const { table } of ROLLUP_TABLES) await upsertRollups(trx, table, rows[table]);
}

/** The recorder's `onInserted` hook with the gateway's configured prices. */
export function usageRollups(prices: Prices): (trx: Kysely<DB>, events: UsageEvent[]) => Promise<void> {
  return (trx, events) => rollUpUsage(trx, events, prices);
}
