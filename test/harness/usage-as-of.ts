import { type Kysely, sql } from 'kysely';
import type { ModelPrice } from '../../src/core/pricing.js';
import type { UsageRow } from '../../src/core/usage-line.js';
import { aggregateRollups, type KindOf } from '../../src/storage/usage-rollups.js';

// Usage written as an earlier version wrote it, into a database migrated only that far (the tests of a migration that
// moves rollup rows): today's rows, with only the columns the database's tables have yet, and the endpoint kinds of
// that version. Columns added later (migration 104's token parts) are left out, as that version never wrote them.

/** The columns a table has now (the SQLite file's, or the PostgreSQL schema's on the search path). */
async function columnsOf(db: Kysely<unknown>, table: string): Promise<Set<string>> {
  const sqlite = await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(db).catch(() => null);
  if (sqlite && sqlite.rows.length > 0) return new Set(sqlite.rows.map((r) => r.name));
  const pg = await sql<{ name: string }>`select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = ${table}`.execute(db);
  return new Set(pg.rows.map((r) => r.name));
}

/** Inserts rows into a table, each with only the columns the table has. */
export async function insertAsOf(db: Kysely<unknown>, table: string, rows: ReadonlyArray<Record<string, unknown>>): Promise<void> {
  if (rows.length === 0) return;
  const have = await columnsOf(db, table);
  const columns = Object.keys(rows[0]).filter((c) => have.has(c));
  for (let i = 0; i < rows.length; i += 200) {
    const values = rows.slice(i, i + 200).map((r) => sql`(${sql.join(columns.map((c) => r[c]))})`);
    await sql`insert into ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))}) values ${sql.join(values)}`.execute(db);
  }
}

/** Writes the rollups of `events` (by `kindOf`, at `prices`) as an earlier version did; `withEvents` the events too. */
export async function writeUsageAsOf(
  db: Kysely<unknown>,
  events: UsageRow[],
  prices: Readonly<Record<string, ModelPrice>>,
  kindOf: KindOf,
  withEvents = true,
): Promise<void> {
  const rows = aggregateRollups(events, prices, kindOf);
  for (const [table, tableRows] of Object.entries(rows)) await insertAsOf(db, table, tableRows as unknown as Array<Record<string, unknown>>);
  if (withEvents) await insertAsOf(db, 'usage_events', events as unknown as Array<Record<string, unknown>>);
}
