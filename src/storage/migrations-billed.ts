import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from './migrations.js';

// Frozen history: this file imports nothing from runtime code; the tables, key, columns and endpoint kinds it reads
// are written out here as migrations 030, 080, 097 and 099 left them (today's are in schema-rollups.ts).

/** The rollup tables (030): bucket width in seconds, and whether a table keeps the key dimension. */
const TABLES_103 = [
  { table: 'usage_rollups_1h', width: 3600, perKey: true },
  { table: 'usage_rollups_1d', width: 86_400, perKey: true },
  { table: 'usage_rollups_project_1h', width: 3600, perKey: false },
  { table: 'usage_rollups_project_1d', width: 86_400, perKey: false },
] as const;

/** A rollup row's identity within its table and kind (030's key with 097's tier, less endpoint_kind). */
const IDENTITY_103 = ['org_id', 'bucket_start', 'project_id', 'api_key_id', 'model', 'service_tier'] as const;
const KEY_103 = ['org_id', 'bucket_start', 'project_id', 'api_key_id', 'model', 'endpoint_kind', 'service_tier'] as const;

/** The summed columns other than the three cost parts (030 and 080), moved as the events sum them. */
const COUNTS_103 = [
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
const COSTS_103 = ['input_cost_nanousd', 'cached_cost_nanousd', 'output_cost_nanousd'] as const;
const SUMS_103 = [...COUNTS_103, ...COSTS_103] as const;

/** The POST routes of each kind as 099 left them (ENDPOINT_KINDS then): every route of the kinds but completions. */
const POSTS_OF_KIND_099: Readonly<Record<string, readonly string[]>> = {
  completions: ['/chat/completions', '/completions', '/responses', '/responses/compact', '/messages'],
  embeddings: ['/embeddings'],
  moderations: ['/moderations'],
  images: ['/images/generations', '/images/edits', '/images/variations'],
  audio_speeches: ['/audio/speech'],
  audio_transcriptions: ['/audio/transcriptions', '/audio/translations'],
};
/** A background response's cancellation (its route's template, as usage_events records it): a completion from 103 on. */
const CANCEL_103 = '/responses/{response_id}/cancel';

const DAY_MS = 86_400_000;
// 15 columns a row: 500 rows stay well under SQLite's 32,766 parameters.
const ROWS_PER_STATEMENT = 500;

type Sums = Record<(typeof SUMS_103)[number], number>;
type Identity = Record<(typeof IDENTITY_103)[number], string | number>;

/**
 * 103: two kinds of billed request had been rolled up under 'other', which no usage endpoint answers, while the Costs
 * API billed them: a background response's cancellation (`POST /responses/{id}/cancel`, billed with the usage it
 * answers, as its retrieval is) and a billed request of a route no kind listed (a model call on a route the API does
 * not list, or by another method than the API's, billed by the usage its answer reported). From this version on a
 * cancellation is a completion, whatever its outcome, and such a billed request counts under its route's POST kind, else
 * as a completion. As 099 did for the Messages API, each rollup row's share of those events still kept in usage_events
 * is moved from its 'other' row to its new kind's row (counts and tokens as the events sum them; the cost parts as they
 * are when the events hold all of the row's cost, else their total in the parts' proportions); what the retention
 * deleted stays under 'other'. Totals, and every sum across kinds, never change; usage_costs_key_1d has no endpoint
 * kind. One transaction, marked done in data_moves in it: on PostgreSQL the migrator's, on SQLite its own.
 */
export function billedKindMigrations(_dialect: Dialect): Record<string, Migration> {
  return {
    '103_usage_billed_routes_kinds': {
      async up(db: Kysely<unknown>) {
        if (db.isTransaction) await moveBilled(db);
        else await db.transaction().execute((trx) => moveBilled(trx));
      },
    },
    '105_usage_moderation_requests': {
      // One statement per table, each whole by itself and idempotent: no transaction of its own needed.
      async up(db: Kysely<unknown>) {
        for (const { table } of TABLES_103) await countModerations(db, table);
      },
    },
  };
}

/**
 * 105: a moderation the model answered counts as a model request of the kind 'moderations' from this version on (free,
 * never billed: OpenAI's usage/moderations reports them), where the rollups had counted only billed requests, so
 * num_model_requests of every moderations row was 0. Each such row's requests that were neither refused nor failed are
 * exactly those (outcome 'ok'), all history long: num_model_requests becomes that count (never lowered: a billed request
 * of the route by another method, which 103 may have put there, is counted already). Their input tokens were not
 * recorded and stay 0. Cost, and usage_costs_key_1d (which never counts free requests), do not change.
 */
async function countModerations(db: Kysely<unknown>, table: string): Promise<void> {
  const answered = sql`num_requests - num_refused_requests - num_failed_requests`;
  await sql`
    update ${sql.table(table)} set num_model_requests = ${answered}
    where endpoint_kind = 'moderations' and num_model_requests < ${answered}
  `.execute(db);
}

/** The events that were 'other' under 099's kinds and are not from 103 on (see billedKindMigrations). */
function movedEvents() {
  const oldPosts = Object.values(POSTS_OF_KIND_099).flat();
  const billed = sql`billable = 1 and outcome <> 'refused'`;
  return sql`(
    (method = 'POST' and endpoint = ${CANCEL_103})
    or (${billed}
      and not (method = 'POST' and endpoint in (${sql.join(oldPosts)}))
      and not (method = 'GET' and endpoint like '/responses/%' and endpoint not like '/responses/%/%')
      and not (method = 'GET' and endpoint in ('/models', '/models/{model}')))
  )`;
}

/** The kind a moved event counts under from 103 on: a cancellation's, or its route's POST kind, else completions. */
function newKind() {
  const cases = Object.entries(POSTS_OF_KIND_099)
    .filter(([kind]) => kind !== 'completions')
    .map(([kind, routes]) => sql`when endpoint in (${sql.join(routes)}) then ${sql.lit(kind)}`);
  return sql`case when method = 'POST' and endpoint = ${CANCEL_103} then 'completions' ${sql.join(cases, sql` `)} else 'completions' end`;
}

async function moveBilled(db: Kysely<unknown>): Promise<void> {
  await sql`create table if not exists data_moves (name text primary key)`.execute(db);
  if ((await sql`select name from data_moves where name = ${'103'}`.execute(db)).rows.length > 0) return;
  await sql`insert into data_moves (name) values (${'103'})`.execute(db);
  const span = await sql<{ first: unknown; last: unknown }>`
    select min(created_at_ms) as first, max(created_at_ms) as last from usage_events where ${movedEvents()}
  `.execute(db);
  const { first, last } = span.rows[0] ?? {};
  if (first === null || first === undefined || last === null || last === undefined) return;
  // A UTC day at a time: every bucket (an hour or a day) lies within one, and a day's rows fit in memory.
  for (let day = Math.floor(Number(first) / DAY_MS) * DAY_MS; day <= Number(last); day += DAY_MS) {
    for (const t of TABLES_103) await moveDay(db, t.table, t.width, t.perKey, day);
  }
}

/** Moves one UTC day's moved events of one table from its 'other' rows to the rows of their kinds. */
async function moveDay(db: Kysely<unknown>, table: string, width: number, perKey: boolean, dayMs: number): Promise<void> {
  const billed = sql`billable = 1 and outcome <> 'refused'`;
  const e = (c: string) => sql.ref(`e.${c}`);
  const o = (c: string) => sql.ref(`o.${c}`);
  // The events summed as the rollups summed them (usage-rollups.ts, as of this version), per new kind, joined to
  // their 'other' row.
  const rows = await sql<Record<string, unknown>>`
    select ${sql.join(IDENTITY_103.map((c) => sql`${e(c)} as ${sql.ref(c)}`))}, e.kind as kind,
      ${sql.join(SUMS_103.map((c) => sql`${o(c)} as ${sql.ref(`o_${c}`)}`))},
      ${sql.join(COUNTS_103.map((c) => sql`${e(c)} as ${sql.ref(`e_${c}`)}`))}, e.cost as e_cost
    from (
      select org_id, (created_at_ms / ${sql.lit(width * 1000)}) * ${sql.lit(width)} as bucket_start,
        coalesce(project_id, '') as project_id, ${perKey ? sql`coalesce(api_key_id, '')` : sql`''`} as api_key_id,
        coalesce(model, '') as model, coalesce(service_tier, '') as service_tier, ${newKind()} as kind,
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
      where created_at_ms >= ${dayMs} and created_at_ms < ${dayMs + DAY_MS} and ${movedEvents()}
      group by 1, 2, 3, 4, 5, 6, 7
    ) e
    join ${sql.table(table)} o on o.endpoint_kind = 'other' and ${sql.join(
      IDENTITY_103.map((c) => sql`${o(c)} = ${e(c)}`),
      sql` and `,
    )}
    order by ${sql.join(IDENTITY_103.map((c) => e(c)))}, e.kind
  `.execute(db);
  if (rows.rows.length === 0) return;
  const toKinds = new Map<string, Array<Identity & Sums>>();
  const fromOther: Array<Identity & Sums> = [];
  // What each 'other' row still holds, as its share goes to one kind after another (ordered by identity, then kind).
  let left: Sums | null = null;
  let leftOf = '';
  for (const r of rows.rows) {
    const id = Object.fromEntries(IDENTITY_103.map((c) => [c, c === 'bucket_start' ? Number(r[c]) : String(r[c])])) as Identity;
    const idText = JSON.stringify(IDENTITY_103.map((c) => id[c]));
    if (left === null || leftOf !== idText) {
      left = Object.fromEntries(SUMS_103.map((c) => [c, Number(r[`o_${c}`])])) as Sums;
      leftOf = idText;
    }
    const moved = {} as Sums;
    // Never more than the 'other' row still holds (an event the rollups never counted moves nothing of another's).
    for (const c of COUNTS_103) moved[c] = Math.max(0, Math.min(Number(r[`e_${c}`]), left[c]));
    const [input, cached, output] = movedCost([left.input_cost_nanousd, left.cached_cost_nanousd, left.output_cost_nanousd], Number(r.e_cost));
    Object.assign(moved, { input_cost_nanousd: input, cached_cost_nanousd: cached, output_cost_nanousd: output });
    if (SUMS_103.every((c) => moved[c] === 0)) continue;
    for (const c of SUMS_103) left[c] -= moved[c];
    const kind = String(r.kind);
    toKinds.set(kind, [...(toKinds.get(kind) ?? []), { ...id, ...moved }]);
    fromOther.push({ ...id, ...(Object.fromEntries(SUMS_103.map((c) => [c, -moved[c]])) as Sums) });
  }
  for (const [kind, adds] of [...toKinds.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) await addRows(db, table, kind, adds);
  await addRows(db, table, 'other', mergedById(fromOther));
  // 'other' rows the move emptied.
  const orgs = [...new Set(fromOther.map((r) => String(r.org_id)))];
  for (const org of orgs) {
    await sql`
      delete from ${sql.table(table)}
      where org_id = ${org} and bucket_start >= ${dayMs / 1000} and bucket_start < ${(dayMs + DAY_MS) / 1000} and endpoint_kind = 'other'
        and ${sql.join(
          SUMS_103.map((c) => sql`${sql.ref(c)} = 0`),
          sql` and `,
        )}
    `.execute(db);
  }
}

/** Rows of one identity summed into one (an upsert's rows must each name a different row of the table). */
function mergedById(rows: Array<Identity & Sums>): Array<Identity & Sums> {
  const out = new Map<string, Identity & Sums>();
  for (const r of rows) {
    const id = JSON.stringify(IDENTITY_103.map((c) => r[c]));
    const acc = out.get(id);
    if (!acc) out.set(id, { ...r });
    else for (const c of SUMS_103) acc[c] += r[c];
  }
  return [...out.values()];
}

/**
 * The part of an 'other' row's cost parts (input, cached, output) that `total` of it moves: all of them when it is
 * all of their sum, else `total` shared in their proportions (integer shares; the remainder to the parts with room
 * left, largest first), never more than a part holds. (Migration 099's, copied: a migration imports no other's code.)
 */
function movedCost(parts: [number, number, number], total: number): [number, number, number] {
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
  const columns = [...KEY_103, ...SUMS_103];
  const add = SUMS_103.map((c) => sql`${sql.ref(c)} = ${sql.ref(`${table}.${c}`)} + ${sql.ref(`excluded.${c}`)}`);
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const values = rows.slice(i, i + ROWS_PER_STATEMENT).map((r) => sql`(${sql.join(columns.map((c) => (c === 'endpoint_kind' ? kind : r[c])))})`);
    await sql`
      insert into ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))}) values ${sql.join(values)}
      on conflict (${sql.join(KEY_103.map((c) => sql.ref(c)))}) do update set ${sql.join(add)}
    `.execute(db);
  }
}
