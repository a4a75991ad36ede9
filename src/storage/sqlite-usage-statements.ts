import type SQLite from 'better-sqlite3';
import type { KeyNetworkRow, LastUsedRows } from '../core/ports.js';
import type { ModelPrice } from '../core/pricing.js';
import { intoUsageRow, USAGE_COLUMNS, type UsageRow, type UsageValues, usageRowOf } from '../core/usage-line.js';
import { COSTS_KEY_KEY, COSTS_KEY_SUMS, ROLLUP_KEY, ROLLUP_SUMS, ROLLUP_TABLES, type UsageCostsKeyTable, type UsageRollupsTable } from './schema-rollups.js';
import { RollupAggregator } from './usage-rollups.js';

// The SQLite usage sink's statements, prepared on one better-sqlite3 connection: the usage worker's own, or the
// gateway's where no worker runs (sqlite-usage-sink.ts). Synchronous, as better-sqlite3 is.

/** WAL pages between checkpoints on the worker's connection (SQLite's default is 1,000). */
export const WORKER_CHECKPOINT_PAGES = 10_000;

type Prices = Readonly<Record<string, ModelPrice>>;

/**
 * A usage batch in one transaction: insert-or-ignore by event id (positional parameters: values as the usage lines
 * carry them), each newly inserted event folded into the rollups as it goes, which are then written. The batch may be
 * read one event at a time (usageValuesEach): no event is held past its own insert.
 */
export function preparedBatchWriter(sqlite: SQLite.Database, prices: Prices): (batch: Iterable<UsageValues>) => void {
  const columns = USAGE_COLUMNS.map(([c]) => c);
  const insert = sqlite.prepare(`INSERT INTO usage_events (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT(id) DO NOTHING`);
  const rollupColumns = [...ROLLUP_KEY, ...ROLLUP_SUMS];
  const upserts = new Map<string, SQLite.Statement>(
    ROLLUP_TABLES.map(({ table }) => [
      table,
      sqlite.prepare(
        `INSERT INTO ${table} (${rollupColumns.join(', ')}) VALUES (${rollupColumns.map(() => '?').join(', ')}) ` +
          `ON CONFLICT(${ROLLUP_KEY.join(', ')}) DO UPDATE SET ${ROLLUP_SUMS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
      ),
    ]),
  );
  const costColumns = [...COSTS_KEY_KEY, ...COSTS_KEY_SUMS];
  const costsByKey = sqlite.prepare(
    `INSERT INTO usage_costs_key_1d (${costColumns.join(', ')}) VALUES (${costColumns.map(() => '?').join(', ')}) ` +
      `ON CONFLICT(${COSTS_KEY_KEY.join(', ')}) DO UPDATE SET ${COSTS_KEY_SUMS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
  );
  // Values as positional arguments (`run(...values)`): better-sqlite3 binds them ~0.5 µs faster per usage row than
  // an array (or an object by name), which it reads element by element through V8's API.
  const rollupArgs = compiledArgs<UsageRollupsTable>(rollupColumns);
  const costArgs = compiledArgs<UsageCostsKeyTable>(costColumns);
  return sqlite.transaction((batch: Iterable<UsageValues>) => {
    const rollups = new RollupAggregator(prices);
    // One row object for the whole batch: the aggregator keeps none of it (it copies the values it groups by).
    let row: UsageRow | null = null;
    for (const values of batch) {
      if (insert.run(...values).changes !== 1) continue;
      row = row === null ? usageRowOf(values) : intoUsageRow(row, values);
      rollups.add(row);
    }
    if (rollups.count === 0) return;
    const rows = rollups.rows();
    for (const { table } of ROLLUP_TABLES) {
      const stmt = upserts.get(table) as SQLite.Statement;
      for (const r of rows[table]) stmt.run(...rollupArgs(r));
    }
    for (const r of rows.usage_costs_key_1d) costsByKey.run(...costArgs(r));
  });
}

/**
 * A function from a row to its values in `columns`' order, written out as one array literal (the column names are
 * constant identifiers of the schema, never input): V8 reads each property by a fixed name instead of by a key.
 */
function compiledArgs<T>(columns: readonly string[]): (row: T) => unknown[] {
  if (!columns.every((c) => /^[a-z_]+$/.test(c))) throw new Error('rollup columns must be identifiers');
  return new Function('r', `return [${columns.map((c) => `r.${c}`).join(', ')}];`) as (row: T) => unknown[];
}

/**
 * Keys' last-used times: one prepared statement in one transaction (the generic path compiled a statement per key).
 * Never moves a time backwards.
 */
export function lastUsedWriter(sqlite: SQLite.Database): (rows: LastUsedRows) => void {
  const update = sqlite.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)');
  return sqlite.transaction((rows: LastUsedRows) => {
    for (const [id, at] of rows) update.run(at, id, at);
  });
}

/** A key's new network (ignored when known); true when it was new. */
export function networkWriter(sqlite: SQLite.Database): (row: KeyNetworkRow) => boolean {
  const insert = sqlite.prepare('INSERT INTO key_networks (key_id, network, first_seen) VALUES (?, ?, ?) ON CONFLICT(key_id, network) DO NOTHING');
  return (row) => insert.run(row.key_id, row.network, row.first_seen).changes === 1;
}

/**
 * Deletes up to `max` of the oldest usage events created before `beforeMs`, in one transaction, over the time index;
 * returns how many. The rollups are kept. The freed pages go to the file's freelist, which later inserts reuse.
 */
export function eventPruner(sqlite: SQLite.Database): (beforeMs: number, max: number) => number {
  const prune = sqlite.prepare(
    'DELETE FROM usage_events WHERE rowid IN (SELECT rowid FROM usage_events WHERE created_at_ms < ? ORDER BY created_at_ms LIMIT ?)',
  );
  return (beforeMs, max) => prune.run(beforeMs, max).changes;
}
