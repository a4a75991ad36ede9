import { type ExpressionBuilder, sql } from 'kysely';
import { nanoToUsd } from '../core/pricing.js';
import type { CostResult } from '../contract/usage.js';
import type { DB } from '../storage/schema.js';
import { FREE_KIND, ROLLUP_COST_SQL } from '../storage/schema-rollups.js';
import type { ServiceDeps } from './context.js';
import { pageWindow } from '../core/buckets.js';
import { bucketWidth, byBucket, checkParams, cmp, groupBy, JsonAnswer, list, type Page, pageJson, pageSpan, type Query, type Range, range, toPage } from './usage-params.js';

// OpenAI's Costs API (GET /v1/organization/costs): daily costs, grouped by project, key and/or line item
// (`<model>, input`, `…, cached input`, `…, output`, `…, web search`), filtered by project and key. Sums are of integer nano-dollars,
// converted to USD last, so line items add up to the total exactly. Where each question is answered from:
// - by line item: the day rollups (per key when keys are asked about, else per project);
// - by key, without line items: usage_costs_key_1d, one row per key and day, answered as JSON the database wrote;
// - for some keys, without line items: usage_costs_key_1d;
// - otherwise: the per-project day rollup.

const COSTS_LIMITS = [7, 180] as const;
/** The line items of a model's cost; web search's quantity is its searches, the others' their tokens. */
const LINE_ITEMS = ['input', 'cached input', 'output', 'web search'] as const;
const LINE_ITEM_UNITS = ['tokens', 'tokens', 'tokens', 'web_search_requests'] as const;


/**
 * One result. `quantity` and `quantity_unit` (OpenAI's spec: the quantity of a line item, null where no single unit
 * applies) are the line item's tokens (or a web search line item's searches) where it counted any, else null: a
 * total, or a line item of a model billed by other units (images, characters, seconds) only.
 */
function costResult(
  nano: number,
  lineItem: string | null,
  projectId: string | null,
  apiKeyId: string | null,
  quantity = 0,
  unit: CostResult['quantity_unit'] = 'tokens',
): CostResult {
  return {
    object: 'organization.costs.result',
    amount: { value: nanoToUsd(nano), currency: 'usd' },
    line_item: lineItem,
    project_id: projectId,
    api_key_id: apiKeyId,
    quantity: quantity > 0 ? quantity : null,
    quantity_unit: quantity > 0 ? unit : null,
  };
}

/**
 * The rollup rows the Costs API reads: not those of free requests (moderations: counted as model requests in the Usage
 * API, billed nothing), unless they carry a cost (a billed request of their route by another method). A free request's
 * tokens are no line item, nor a day of them a result at $0. usage_costs_key_1d never holds them (usage-rollups.ts).
 */
const costsOnly = sql<boolean>`(endpoint_kind <> ${FREE_KIND} or ${sql.raw(ROLLUP_COST_SQL)} <> 0)`;

interface CostQuestion {
  orgId: string;
  from: number;
  to: number;
  /** The page's bucket starts (days). */
  days: number[];
  group: Set<string>;
  /** null: not filtered; []: none of them. */
  projectIds: string[] | null;
  apiKeyIds: string[] | null;
}

/** GET /v1/organization/costs. */
export async function getCosts(deps: ServiceDeps, orgId: string, query: Query): Promise<Page<CostResult> | JsonAnswer> {
  checkParams(query, ['project_ids', 'api_key_ids', 'group_by'], ['project_ids', 'api_key_ids', 'group_by']);
  const width = bucketWidth(query, ['1d']);
  const r = range(query, width, COSTS_LIMITS, Math.floor(deps.clock() / 1000));
  const q: CostQuestion = {
    orgId,
    ...pageSpan(r),
    days: pageWindow(r).starts,
    group: groupBy(query, ['project_id', 'line_item', 'api_key_id']),
    projectIds: list(query, 'project_ids'),
    apiKeyIds: list(query, 'api_key_ids'),
  };
  const none = q.to <= q.from || q.projectIds?.length === 0 || q.apiKeyIds?.length === 0;
  if (none) return toPage(r, () => []);
  if (q.group.has('line_item')) return byLineItem(deps, q, r);
  if (q.group.has('api_key_id')) return byKey(deps, q, r);
  return totals(deps, q, r);
}

/** Rows of the per-key or per-project day rollups, by line item. */
async function byLineItem(deps: ServiceDeps, q: CostQuestion, r: Range): Promise<Page<CostResult>> {
  const perKey = q.group.has('api_key_id') || q.apiKeyIds !== null;
  const cols = [...(q.group.has('project_id') ? ['project_id' as const] : []), ...(q.group.has('api_key_id') ? ['api_key_id' as const] : []), 'model' as const];
  let sel = deps.database.db
    .selectFrom(perKey ? 'usage_rollups_1d' : 'usage_rollups_project_1d')
    .where('org_id', '=', q.orgId)
    .where('bucket_start', '>=', q.from)
    .where('bucket_start', '<', q.to);
  if (q.projectIds) sel = sel.where('project_id', 'in', q.projectIds);
  if (q.apiKeyIds) sel = sel.where('api_key_id', 'in', q.apiKeyIds);
  const raw = await sel
    .where(costsOnly)
    .select(['bucket_start', ...cols])
    .select((eb: ExpressionBuilder<DB, 'usage_rollups_1d'>) => [
      eb.fn.sum<number>('num_model_requests').as('num_model_requests'),
      eb.fn.sum<number>('input_tokens').as('input_tokens'),
      eb.fn.sum<number>('cached_tokens').as('cached_tokens'),
      eb.fn.sum<number>('output_tokens').as('output_tokens'),
      eb.fn.sum<number>('input_cost_nanousd').as('input_cost'),
      eb.fn.sum<number>('cached_cost_nanousd').as('cached_cost'),
      eb.fn.sum<number>('output_cost_nanousd').as('output_cost'),
      eb.fn.sum<number>('web_search_requests').as('web_search_requests'),
      eb.fn.sum<number>('web_search_cost_nanousd').as('web_search_cost'),
    ])
    .groupBy(['bucket_start', ...cols])
    .execute();
  const rows = raw.map((row) => {
    const dims = row as Partial<Record<'project_id' | 'api_key_id' | 'model', string>>;
    const cached = Number(row.cached_tokens);
    return {
      bucket_start: Number(row.bucket_start),
      project_id: dims.project_id || null,
      api_key_id: dims.api_key_id || null,
      model: dims.model || 'unknown model',
      quantities: [Number(row.input_tokens) - cached, cached, Number(row.output_tokens), Number(row.web_search_requests)],
      cost: [Number(row.input_cost), Number(row.cached_cost), Number(row.output_cost), Number(row.web_search_cost)],
    };
  });
  const buckets = byBucket(rows, (a, b) => cmp(a.project_id, b.project_id) || cmp(a.api_key_id, b.api_key_id) || cmp(a.model, b.model));
  return toPage(r, (s) =>
    (buckets.get(s) ?? []).flatMap((row) =>
      LINE_ITEMS.flatMap((item, i) =>
        row.quantities[i] > 0 || row.cost[i] !== 0
          ? [costResult(row.cost[i], `${row.model}, ${item}`, row.project_id, row.api_key_id, row.quantities[i], LINE_ITEM_UNITS[i])]
          : [],
      ),
    ),
  );
}

/** Totals per day (and project), from the per-project day rollup, or from the keys' day costs when keys are named. */
async function totals(deps: ServiceDeps, q: CostQuestion, r: Range): Promise<Page<CostResult>> {
  const byProject = q.group.has('project_id');
  const db = deps.database.db;
  let rows: Array<{ bucket_start: number; project_id: string | null; requests: number; cost: number }>;
  if (q.apiKeyIds) {
    // Each day by name: the key leads (org, day, key), so named keys are looked up, not a month of keys scanned.
    let sel = db.selectFrom('usage_costs_key_1d').where('org_id', '=', q.orgId).where('bucket_start', 'in', q.days).where('api_key_id', 'in', q.apiKeyIds);
    if (q.projectIds) sel = sel.where('project_id', 'in', q.projectIds);
    const raw = await sel
      .select(['bucket_start', ...(byProject ? ['project_id' as const] : [])])
      .select((eb) => [eb.fn.sum<number>('num_model_requests').as('requests'), eb.fn.sum<number>('cost_nanousd').as('cost')])
      .groupBy(['bucket_start', ...(byProject ? ['project_id' as const] : [])])
      .execute();
    rows = raw.map((x) => ({ bucket_start: Number(x.bucket_start), project_id: (x as { project_id?: string }).project_id || null, requests: Number(x.requests), cost: Number(x.cost) }));
  } else {
    let sel = db.selectFrom('usage_rollups_project_1d').where('org_id', '=', q.orgId).where('bucket_start', '>=', q.from).where('bucket_start', '<', q.to);
    if (q.projectIds) sel = sel.where('project_id', 'in', q.projectIds);
    const raw = await sel
      .where(costsOnly)
      .select(['bucket_start', ...(byProject ? ['project_id' as const] : [])])
      .select((eb) => [
        eb.fn.sum<number>('num_model_requests').as('requests'),
        sql<number>`sum(${sql.raw(ROLLUP_COST_SQL)})`.as('cost'),
      ])
      .groupBy(['bucket_start', ...(byProject ? ['project_id' as const] : [])])
      .execute();
    rows = raw.map((x) => ({ bucket_start: Number(x.bucket_start), project_id: (x as { project_id?: string }).project_id || null, requests: Number(x.requests), cost: Number(x.cost) }));
  }
  const buckets = byBucket(rows, (a, b) => cmp(a.project_id, b.project_id));
  return toPage(r, (s) => (buckets.get(s) ?? []).flatMap((row) => (row.requests > 0 || row.cost !== 0 ? [costResult(row.cost, null, row.project_id, null)] : [])));
}

/**
 * Connections a page of costs by key is split across on PostgreSQL: two, for the two cores Tollgate is measured on
 * (docs/usage-api.md, Performance); more would take more of the pool that the usage sink and other queries share.
 */
const PG_CONNECTIONS = 2;

/**
 * The rows of usage_costs_key_1d whose ids are not plain words (an empty one included), which costs by key must quote
 * with to_json. Word for word the predicate of migration 098's partial index (storage/migrations-fidelity.ts), so
 * that PostgreSQL answers it from that index, which holds no row at all where every id is Tollgate's.
 */
export const ODD_IDS = sql.raw(`api_key_id !~ '^[A-Za-z0-9_-]+$' or project_id !~ '^[A-Za-z0-9_-]+$'`);

/** `days` in up to `n` runs of consecutive days, as even as can be. */
function splitDays(days: number[], n: number): number[][] {
  const size = Math.ceil(days.length / n);
  const out: number[][] = [];
  for (let i = 0; i < days.length; i += size) out.push(days.slice(i, i + size));
  return out;
}

/**
 * Costs per key (and project), written as JSON by the database: a month by key is ~290,000 results (~40 MB), and
 * fetching them as rows, building objects and serialising them took several times longer than having the database
 * write each day's results as one JSON text (`value` is the nano-dollars as a double divided by 1e9, which both
 * databases print as a number JSON reads back to the same double as nanoToUsd gives). One result per key: a key's
 * usage is always its project's (a key never changes project), so each (day, key) has one row of the table.
 */
async function byKey(deps: ServiceDeps, q: CostQuestion, r: Range): Promise<JsonAnswer> {
  const byProject = q.group.has('project_id');
  const pg = deps.database.dialect === 'postgres';
  // An id as a JSON string ('', none, as null). On PostgreSQL a plain id (all of Tollgate's: `key_`, `proj_` and
  // base62) is quoted as it is, which took a quarter less of the database's CPU than to_json; when the range holds any
  // other (ids.odd, below), every id goes through to_json.
  const quote = (col: 'api_key_id' | 'project_id') =>
    pg
      ? sql`case when ids.odd then coalesce(to_json(nullif(${sql.ref(col)}, ''))::text, 'null') else '"' || ${sql.ref(col)} || '"' end`
      : sql`json_quote(nullif(${sql.ref(col)}, ''))`;
  const value = pg ? sql`(cost_nanousd::float8 / 1e9)::text` : sql`(cost_nanousd / 1e9)`;
  // Constant parts as few literals as can be: on PostgreSQL each || copies the row's text so far.
  const head = sql.lit('{"object":"organization.costs.result","amount":{"value":');
  const keyed = byProject
    ? sql`${sql.lit(',"currency":"usd"},"line_item":null,"project_id":')} || ${quote('project_id')} || ${sql.lit(',"api_key_id":')}`
    : sql.lit(',"currency":"usd"},"line_item":null,"project_id":null,"api_key_id":');
  const result = sql`${head} || ${value} || ${keyed} || ${quote('api_key_id')} || ${sql.lit(',"quantity":null,"quantity_unit":null}')}`;
  // In the order the rows are read, the table's (key, project) order; sorting them again cost half the time on PostgreSQL.
  // SQLite's as bytes: decoding ~40 MB of UTF-8 into strings took longer than the database took to write it.
  const joined = pg ? sql<string | Buffer>`string_agg(${result}, ',')` : sql<string | Buffer>`cast(group_concat(${result}, ',') as blob)`;
  let rows: Array<{ bucket_start: number | string; results: string | Buffer | null }>;
  if (pg) {
    // One aggregate per day, each over the day's range of the table's key. Grouped by day in one query, PostgreSQL
    // hashed a month of texts (~40 MB), spilled them to disk past work_mem and spent twice the CPU (EXPLAIN ANALYZE:
    // HashAggregate, 14 batches, 13 MB on disk, for 279,000 rows); a query per day was planned as a scan of the table
    // each. JIT is off for it: the plan's cost passes jit_above_cost and compiling took ~120 ms, for string building.
    const filters = [
      sql`c.org_id = ${q.orgId}`,
      sql`c.bucket_start = d.bucket_start`,
      ...(q.projectIds ? [sql`c.project_id in (${sql.join(q.projectIds)})`] : []),
      ...(q.apiKeyIds ? [sql`c.api_key_id in (${sql.join(q.apiKeyIds)})`] : []),
    ];
    // The days split across connections, run at once: each backend writes its days' text on a core of its own
    // (one backend wrote a month's ~43 MB alone, the database's CPU most of the answer's time). Each day is read whole
    // by one transaction; the two may see the table a few milliseconds apart, as two pages of an answer already do.
    // Named keys are few rows: one connection.
    const spans = q.apiKeyIds ? [q.days] : splitDays(q.days, PG_CONNECTIONS);
    const answers = await Promise.all(
      spans.map((days) =>
        deps.database.db.transaction().execute(async (trx) => {
          await sql`set local jit = off`.execute(trx);
          const answer = await sql<{ bucket_start: string; results: string | null }>`
            select d.bucket_start, (select ${joined} from usage_costs_key_1d c where ${sql.join(filters, sql` and `)}) as results
            from unnest(cast(${`{${days.join(',')}}`} as bigint[])) as d(bucket_start),
              (select exists (select from usage_costs_key_1d o
                where o.org_id = ${q.orgId} and o.bucket_start >= ${q.from} and o.bucket_start < ${q.to} and (${ODD_IDS})) as odd) as ids`.execute(trx);
          return answer.rows;
        }),
      ),
    );
    rows = answers.flat();
  } else {
    let sel = deps.database.db
      .selectFrom('usage_costs_key_1d')
      .where('org_id', '=', q.orgId)
      .where('bucket_start', '>=', q.from)
      .where('bucket_start', '<', q.to);
    if (q.projectIds) sel = sel.where('project_id', 'in', q.projectIds);
    if (q.apiKeyIds) sel = sel.where('bucket_start', 'in', q.days).where('api_key_id', 'in', q.apiKeyIds);
    rows = await sel.select(['bucket_start', joined.as('results')]).groupBy('bucket_start').execute();
  }
  const results = new Map<number, string | Buffer>(rows.flatMap((d) => (d.results === null ? [] : [[Number(d.bucket_start), d.results] as const])));
  return new JsonAnswer(pageJson(r, (start) => results.get(start) ?? ''));
}
