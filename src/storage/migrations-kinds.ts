import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from './migrations.js';

// Frozen history: this file imports nothing from runtime code; the tables, key and columns it touches are written out
// here as migrations 030, 080 and 097 left them (today's are in schema-rollups.ts).

/** The rollup tables (030): bucket width in seconds, and whether a table keeps the key dimension. */
const TABLES_099 = [
  { table: 'usage_rollups_1h', width: 3600, perKey: true },
  { table: 'usage_rollups_1d', width: 86_400, perKey: true },
  { table: 'usage_rollups_project_1h', width: 3600, perKey: false },
  { table: 'usage_rollups_project_1d', width: 86_400, perKey: false },
] as const;

/** A rollup row's identity within its table and kind (030's key with 097's tier, less endpoint_kind). */
const IDENTITY_099 = ['org_id', 'bucket_start', 'project_id', 'api_key_id', 'model', 'service_tier'] as const;
const KEY_099 = ['org_id', 'bucket_start', 'project_id', 'api_key_id', 'model', 'endpoint_kind', 'service_tier'] as const;

/** The summed columns other than the three cost parts (030 and 080), moved as the events sum them. */
const COUNTS_099 = [
  'num_requests',
  'num_model_requests',
  'num_refused_requests',
  'num_failed_requests',
  'input_tokens',
  'cached_tokens',
  'output_tokens',
  'units',
  'num_unpriced_requests',
] as const;
const COSTS_099 = ['input_cost_nanousd', 'cached_cost_nanousd', 'output_cost_nanousd'] as const;
const SUMS_099 = [...COUNTS_099, ...COSTS_099] as const;

const DAY_MS = 86_400_000;
// 15 columns a row: 500 rows stay well under SQLite's 32,766 parameters.
const ROWS_PER_STATEMENT = 500;

type Sums = Record<(typeof SUMS_099)[number], number>;
type Identity = Record<(typeof IDENTITY_099)[number], string | number>;

/**
 * 099: Anthropic's Messages API (`POST /messages`) and OpenAI's Responses compaction (`POST /responses/compact`, billed
 * as tokens) count as completions in the Usage API from this version on; the rollups had put them under 'other'. Each
 * rollup row's share of those events still kept in usage_events
 * (TOLLGATE_USAGE_RETENTION_DAYS) is moved from its 'other' row to its 'completions' row: added to what is there (a
 * key's chat completions of the same model, hour and tier), subtracted from what stays (count_tokens, files, batches,
 * and Messages events already deleted, which cannot be told apart from them any more). An 'other' row left with
 * nothing is deleted. Counts and tokens move as the events sum them, exactly as they were rolled up. The cost parts
 * (input, cached, output) were split at the gateway's prices, which this migration does not know: when the events
 * moved hold all of the row's cost, its parts move as they are (exact); otherwise their total moves, shared in the
 * parts' proportions. Totals, and every sum over both kinds, never change; usage_costs_key_1d has no endpoint kind
 * and is left as it is. One transaction: on PostgreSQL the
 * migrator's; on SQLite (whose migrator runs none) its own, so an interrupted move leaves nothing half done.
 */
export function kindMigrations(_dialect: Dialect): Record<string, Migration> {
  return {
    '099_usage_messages_completions': {
      async up(db: Kysely<unknown>) {
        if (db.isTransaction) await moveMessages(db);
        else await db.transaction().execute((trx) => moveMessages(trx));
      },
    },
  };
}

async function moveMessages(db: Kysely<unknown>): Promise<void> {
  // Done once, whatever happens between this transaction's commit and the migrator's record of 099 (on SQLite they are
  // two steps: a crash between them would run it again and move the same events twice). The mark is written in the
  // same transaction as the move.
  await sql`create table if not exists data_moves (name text primary key)`.execute(db);
  if ((await sql`select name from data_moves where name = ${'099'}`.execute(db)).rows.length > 0) return;
  await sql`insert into data_moves (name) values (${'099'})`.execute(db);
  const span = await sql<{ first: unknown; last: unknown }>`
    select min(created_at_ms) as first, max(created_at_ms) as last from usage_events where method = 'POST' and endpoint in ('/messages', '/responses/compact')
  `.execute(db);
  const { first, last } = span.rows[0] ?? {};
  if (first === null || first === undefined || last === null || last === undefined) return;
  // A UTC day at a time: every bucket (an hour or a day) lies within one, and a day's rows fit in memory.
  for (let day = Math.floor(Number(first) / DAY_MS) * DAY_MS; day <= Number(last); day += DAY_MS) {
    for (const t of TABLES_099) await moveDay(db, t.table, t.width, t.perKey, day);
  }
}

/** Moves one UTC day's Messages events of one table from its 'other' rows to its 'completions' rows. */
async function moveDay(db: Kysely<unknown>, table: string, width: number, perKey: boolean, dayMs: number): Promise<void> {
  const billed = sql`billable = 1 and outcome <> 'refused'`;
  const e = (c: string) => sql.ref(`e.${c}`);
  const o = (c: string) => sql.ref(`o.${c}`);
  // The events summed as the rollups summed them (usage-rollups.ts, as of this version), joined to their 'other' row.
  const rows = await sql<Record<string, unknown>>`
    select ${sql.join(IDENTITY_099.map((c) => sql`${e(c)} as ${sql.ref(c)}`))},
      ${sql.join(SUMS_099.map((c) => sql`${o(c)} as ${sql.ref(`o_${c}`)}`))},
      ${sql.join(COUNTS_099.map((c) => sql`${e(c)} as ${sql.ref(`e_${c}`)}`))}, e.cost as e_cost
    from (
      select org_id, (created_at_ms / ${sql.lit(width * 1000)}) * ${sql.lit(width)} as bucket_start,
        coalesce(project_id, '') as project_id, ${perKey ? sql`coalesce(api_key_id, '')` : sql`''`} as api_key_id,
        coalesce(model, '') as model, coalesce(service_tier, '') as service_tier,
        count(*) as num_requests,
        sum(case when ${billed} then 1 else 0 end) as num_model_requests,
        sum(case when outcome = 'refused' then 1 else 0 end) as num_refused_requests,
        sum(case when outcome not in ('ok', 'refused') then 1 else 0 end) as num_failed_requests,
        sum(case when ${billed} then input_tokens else 0 end) as input_tokens,
        sum(case when ${billed} then cached_tokens else 0 end) as cached_tokens,
        sum(case when ${billed} then output_tokens else 0 end) as output_tokens,
        sum(case when ${billed} then units else 0 end) as units,
        sum(case when ${billed} and unpriced = 1 then 1 else 0 end) as num_unpriced_requests,
        sum(case when ${billed} then cost_nanousd else 0 end) as cost
      from usage_events
      where created_at_ms >= ${dayMs} and created_at_ms < ${dayMs + DAY_MS} and method = 'POST' and endpoint in ('/messages', '/responses/compact')
      group by 1, 2, 3, 4, 5, 6
    ) e
    join ${sql.table(table)} o on o.endpoint_kind = 'other' and ${sql.join(
      IDENTITY_099.map((c) => sql`${o(c)} = ${e(c)}`),
      sql` and `,
    )}
    order by ${sql.join(IDENTITY_099.map((c) => e(c)))}
  `.execute(db);
  if (rows.rows.length === 0) return;
  const toCompletions: Array<Identity & Sums> = [];
  const fromOther: Array<Identity & Sums> = [];
  for (const r of rows.rows) {
    const id = Object.fromEntries(IDENTITY_099.map((c) => [c, c === 'bucket_start' ? Number(r[c]) : String(r[c])])) as Identity;
    const moved = {} as Sums;
    // Never more than the 'other' row holds (an event the rollups never counted moves nothing of another's).
    for (const c of COUNTS_099) moved[c] = Math.max(0, Math.min(Number(r[`e_${c}`]), Number(r[`o_${c}`])));
    const parts = COSTS_099.map((c) => Number(r[`o_${c}`])) as [number, number, number];
    const [input, cached, output] = movedCost(parts, Number(r.e_cost));
    Object.assign(moved, { input_cost_nanousd: input, cached_cost_nanousd: cached, output_cost_nanousd: output });
    if (SUMS_099.every((c) => moved[c] === 0)) continue;
    toCompletions.push({ ...id, ...moved });
    fromOther.push({ ...id, ...(Object.fromEntries(SUMS_099.map((c) => [c, -moved[c]])) as Sums) });
  }
  await addRows(db, table, 'completions', toCompletions);
  await addRows(db, table, 'other', fromOther);
  // 'other' rows the move emptied (every one of their requests was a kept Messages request).
  const orgs = [...new Set(fromOther.map((r) => String(r.org_id)))];
  for (const org of orgs) {
    await sql`
      delete from ${sql.table(table)}
      where org_id = ${org} and bucket_start >= ${dayMs / 1000} and bucket_start < ${(dayMs + DAY_MS) / 1000} and endpoint_kind = 'other'
        and ${sql.join(
          SUMS_099.map((c) => sql`${sql.ref(c)} = 0`),
          sql` and `,
        )}
    `.execute(db);
  }
}

/**
 * The part of an 'other' row's cost parts (input, cached, output) that `total` of it moves: all of them when it is
 * all of their sum, else `total` shared in their proportions (integer shares; the remainder to the parts with room
 * left, largest first), never more than a part holds.
 */
export function movedCost(parts: [number, number, number], total: number): [number, number, number] {
  const sum = parts[0] + parts[1] + parts[2];
  const want = Math.max(0, Math.min(total, sum));
  if (want === sum) return [...parts];
  if (want === 0) return [0, 0, 0];
  const big = BigInt(want);
  const shares = parts.map((p) => Number((big * BigInt(p)) / BigInt(sum))) as [number, number, number];
  let rest = want - (shares[0] + shares[1] + shares[2]);
  for (const i of [0, 1, 2].sort((a, b) => parts[b] - parts[a])) {
    const room = Math.min(rest, parts[i] - shares[i]);
    shares[i] += room;
    rest -= room;
  }
  return shares;
}

/** Adds rows (negative sums subtract) to a table's rows of one kind: INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x. */
async function addRows(db: Kysely<unknown>, table: string, kind: string, rows: Array<Identity & Sums>): Promise<void> {
  const columns = [...KEY_099, ...SUMS_099];
  const add = SUMS_099.map((c) => sql`${sql.ref(c)} = ${sql.ref(`${table}.${c}`)} + ${sql.ref(`excluded.${c}`)}`);
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const values = rows.slice(i, i + ROWS_PER_STATEMENT).map((r) => sql`(${sql.join(columns.map((c) => (c === 'endpoint_kind' ? kind : r[c])))})`);
    await sql`
      insert into ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))}) values ${sql.join(values)}
      on conflict (${sql.join(KEY_099.map((c) => sql.ref(c)))}) do update set ${sql.join(add)}
    `.execute(db);
  }
}
