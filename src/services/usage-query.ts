import { type ExpressionBuilder, sql } from 'kysely';
import { BUCKET_SECONDS, type BucketWidth, bucketCeil, bucketFloor, decodeCursor, encodeCursor, isBucketWidth, pageWindow } from '../core/buckets.js';
import { TollgateError } from '../core/errors.js';
import { nanoToUsd } from '../core/pricing.js';
import { rawUsageSince } from '../core/usage-retention.js';
import type { DB } from '../storage/schema.js';
import { ENDPOINT_KINDS, RESPONSE_RETRIEVAL_PREFIX } from '../storage/schema-rollups.js';
import type { ServiceDeps } from './context.js';

// OpenAI's Usage API (GET /v1/organization/usage/{kind}) and Costs API (GET /v1/organization/costs), answered
// from the hourly and daily rollups (minute buckets from usage_events). Tollgate adds `cost_usd`,
// `num_refused_requests` and `num_unpriced_requests` to usage results: requests Tollgate refused are never billed
// and are counted apart; requests of a model it had no price for are billed at 0 and counted apart.

export const USAGE_KINDS = [
  'completions',
  'embeddings',
  'moderations',
  'images',
  'audio_speeches',
  'audio_transcriptions',
  'vector_stores',
  'code_interpreter_sessions',
] as const;
export type UsageKind = (typeof USAGE_KINDS)[number];

/** Kinds Tollgate meters; the others answer pages of empty buckets. */
const METERED: ReadonlySet<UsageKind> = new Set(['completions', 'embeddings', 'images', 'audio_speeches', 'audio_transcriptions']);

/** group_by values OpenAI accepts that Tollgate does not record (an image's size and source). */
const UNRECORDED_GROUPS: ReadonlySet<string> = new Set(['size', 'source']);

const KEY_FIELDS = ['project_id', 'user_id', 'api_key_id', 'model'];
/** group_by values OpenAI accepts per kind. */
const GROUP_BY: Readonly<Record<UsageKind, readonly string[]>> = {
  completions: [...KEY_FIELDS, 'batch'],
  embeddings: KEY_FIELDS,
  moderations: KEY_FIELDS,
  images: [...KEY_FIELDS, 'size', 'source'],
  audio_speeches: KEY_FIELDS,
  audio_transcriptions: KEY_FIELDS,
  vector_stores: ['project_id'],
  code_interpreter_sessions: ['project_id'],
};

/** Buckets per page: [default, max] as OpenAI documents them. */
const USAGE_LIMITS: Readonly<Record<BucketWidth, readonly [number, number]>> = { '1d': [7, 31], '1h': [24, 168], '1m': [60, 1440] };
const COSTS_LIMITS = [7, 180] as const;

export interface Page<T> {
  object: 'page';
  data: Array<{ object: 'bucket'; start_time: number; end_time: number; results: T[] }>;
  has_more: boolean;
  next_page: string | null;
}

type Query = Record<string, unknown>;

const invalid = (param: string, message: string) => new TollgateError('invalid_value', `Invalid value for '${param}': ${message}`, param);

function single(query: Query, name: string): string | undefined {
  const v = query[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string') throw invalid(name, 'expected a single value.');
  return v;
}

function seconds(query: Query, name: string, required: boolean): number | undefined {
  const v = single(query, name);
  if (v === undefined) {
    if (required) throw new TollgateError('missing_required_parameter', `Missing required parameter: '${name}'.`, name);
    return undefined;
  }
  if (!/^\d{1,12}$/.test(v)) throw invalid(name, 'expected unix seconds (a non-negative integer).');
  return Number(v);
}

/** A list parameter: `x=a,b`, `x=a&x=b` or `x[]=a&x[]=b`. */
function list(query: Query, name: string): string[] {
  const out: string[] = [];
  for (const key of [name, `${name}[]`]) {
    const v = query[key];
    for (const item of Array.isArray(v) ? v : v === undefined ? [] : [v]) {
      if (typeof item !== 'string') throw invalid(name, 'expected a list of strings.');
      out.push(...item.split(',').map((s) => s.trim()).filter(Boolean));
    }
  }
  return [...new Set(out)];
}

interface Range {
  start: number;
  end: number;
  width: number;
  limit: number;
  cursor: number | null;
}

function range(query: Query, width: BucketWidth, limits: readonly [number, number], now: number): Range {
  const start = seconds(query, 'start_time', true) as number;
  const endTime = seconds(query, 'end_time', false);
  if (endTime !== undefined && endTime <= start) throw invalid('end_time', 'must be after start_time.');
  const end = endTime ?? now;
  const [defaultLimit, maxLimit] = limits;
  const rawLimit = single(query, 'limit');
  const limit = rawLimit === undefined ? defaultLimit : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) {
    throw invalid('limit', `expected an integer from 1 to ${maxLimit} for bucket_width ${width}.`);
  }
  const step = BUCKET_SECONDS[width];
  const page = single(query, 'page');
  let cursor: number | null = null;
  if (page !== undefined) {
    cursor = decodeCursor(page);
    if (cursor === null || cursor % step !== 0 || cursor < bucketFloor(start, step) || cursor >= bucketCeil(end, step)) {
      throw invalid('page', 'not a page cursor of this query (use next_page as returned).');
    }
  }
  return { start, end, width: step, limit, cursor };
}

function groupBy(query: Query, allowed: readonly string[]): Set<string> {
  const fields = list(query, 'group_by');
  for (const f of fields) if (!allowed.includes(f)) throw invalid('group_by', `'${f}' is not one of ${allowed.join(', ')}.`);
  return new Set(fields);
}

function bucketWidth(query: Query, allowed: readonly BucketWidth[]): BucketWidth {
  const v = single(query, 'bucket_width') ?? '1d';
  if (!isBucketWidth(v) || !allowed.includes(v)) throw invalid('bucket_width', `expected one of ${allowed.join(', ')}.`);
  return v;
}

function toPage<T>(r: Range, resultsOf: (start: number) => T[]): Page<T> {
  const w = pageWindow(r);
  return {
    object: 'page',
    data: w.starts.map((s) => ({ object: 'bucket', start_time: s, end_time: s + r.width, results: resultsOf(s) })),
    has_more: w.next !== null,
    next_page: w.next === null ? null : encodeCursor(w.next),
  };
}

/** Sums of one (bucket, group); ungrouped dimensions are null. */
interface UsageSums {
  bucket_start: number;
  project_id: string | null;
  api_key_id: string | null;
  model: string | null;
  num_model_requests: number;
  num_refused_requests: number;
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
  cost_nanousd: number;
  /** Images, characters or seconds, by kind. */
  units: number;
  num_unpriced_requests: number;
}

interface UsageFilter {
  kind: UsageKind;
  from: number;
  to: number;
  group: string[];
  projectIds: string[];
  apiKeyIds: string[];
  models: string[];
}

const DIMENSIONS = ['project_id', 'api_key_id', 'model'] as const;

/** Reads the per-key tables only when the question is about keys; the project tables are much smaller. */
function rollupTable(width: '1h' | '1d', perKey: boolean): 'usage_rollups_1d' {
  const name = perKey ? `usage_rollups_${width}` : `usage_rollups_project_${width}`;
  // All four tables have one shape; the cast only picks one of them for typing.
  return name as 'usage_rollups_1d';
}

/** The sums every usage and cost query reads from a rollup table. */
function rollupSums(eb: ExpressionBuilder<DB, 'usage_rollups_1d'>) {
  return [
    eb.fn.sum<number>('num_model_requests').as('num_model_requests'),
    eb.fn.sum<number>('num_refused_requests').as('num_refused_requests'),
    eb.fn.sum<number>('input_tokens').as('input_tokens'),
    eb.fn.sum<number>('cached_tokens').as('cached_tokens'),
    eb.fn.sum<number>('output_tokens').as('output_tokens'),
    eb.fn.sum<number>('input_cost_nanousd').as('input_cost'),
    eb.fn.sum<number>('cached_cost_nanousd').as('cached_cost'),
    eb.fn.sum<number>('output_cost_nanousd').as('output_cost'),
    eb.fn.sum<number>('units').as('units'),
    eb.fn.sum<number>('num_unpriced_requests').as('num_unpriced_requests'),
  ];
}

async function sumRollups(deps: ServiceDeps, orgId: string, width: '1h' | '1d', f: UsageFilter): Promise<UsageSums[]> {
  const cols = DIMENSIONS.filter((c) => f.group.includes(c));
  let q = deps.database.db
    .selectFrom(rollupTable(width, cols.includes('api_key_id') || f.apiKeyIds.length > 0))
    .where('org_id', '=', orgId)
    .where('bucket_start', '>=', f.from)
    .where('bucket_start', '<', f.to)
    .where('endpoint_kind', '=', f.kind);
  if (f.projectIds.length) q = q.where('project_id', 'in', f.projectIds);
  if (f.apiKeyIds.length) q = q.where('api_key_id', 'in', f.apiKeyIds);
  if (f.models.length) q = q.where('model', 'in', f.models);
  const rows = await q
    .select(['bucket_start', ...cols])
    .select(rollupSums)
    .groupBy(['bucket_start', ...cols])
    .execute();
  return rows.map((r) => sumsOf(r, Number(r.bucket_start), Number(r.input_cost) + Number(r.cached_cost) + Number(r.output_cost)));
}

/** Minute buckets straight from usage_events (over its time index): a page spans at most one day. */
async function sumEvents(deps: ServiceDeps, orgId: string, f: UsageFilter): Promise<UsageSums[]> {
  const endpoints = Object.entries(ENDPOINT_KINDS)
    .filter(([, kind]) => kind === f.kind)
    .map(([route]) => route.slice('POST '.length));
  if (endpoints.length === 0) return [];
  const cols = DIMENSIONS.filter((c) => f.group.includes(c));
  const minute = sql<number>`created_at_ms / 60000`;
  const billed = sql`billable = 1 and outcome <> 'refused'`;
  let q = deps.database.db
    .selectFrom('usage_events')
    .where('org_id', '=', orgId)
    .where('created_at_ms', '>=', f.from * 1000)
    .where('created_at_ms', '<', f.to * 1000)
    .where((eb) => {
      const posts = eb.and([eb('method', '=', 'POST'), eb('endpoint', 'in', endpoints)]);
      // A background response is billed by the retrieval of its result (GET /responses/{id}); only billed ones count.
      if (f.kind !== 'completions') return posts;
      return eb.or([posts, eb.and([eb('method', '=', 'GET'), eb('endpoint', 'like', `${RESPONSE_RETRIEVAL_PREFIX}%`), eb('billable', '=', 1)])]);
    });
  if (f.projectIds.length) q = q.where('project_id', 'in', f.projectIds);
  if (f.apiKeyIds.length) q = q.where('api_key_id', 'in', f.apiKeyIds);
  if (f.models.length) q = q.where('model', 'in', f.models);
  const rows = await q
    .select([minute.as('minute'), ...cols])
    .select([
      sql<number>`sum(case when ${billed} then 1 else 0 end)`.as('num_model_requests'),
      sql<number>`sum(case when outcome = 'refused' then 1 else 0 end)`.as('num_refused_requests'),
      sql<number>`sum(case when ${billed} then input_tokens else 0 end)`.as('input_tokens'),
      sql<number>`sum(case when ${billed} then cached_tokens else 0 end)`.as('cached_tokens'),
      sql<number>`sum(case when ${billed} then output_tokens else 0 end)`.as('output_tokens'),
      sql<number>`sum(case when ${billed} then cost_nanousd else 0 end)`.as('cost_nanousd'),
      sql<number>`sum(case when ${billed} then units else 0 end)`.as('units'),
      sql<number>`sum(case when ${billed} and unpriced = 1 then 1 else 0 end)`.as('num_unpriced_requests'),
    ])
    .groupBy([minute, ...cols])
    .execute();
  return rows.map((r) => sumsOf(r, Number(r.minute) * 60, Number(r.cost_nanousd)));
}

/** One grouped row (from the rollups or from usage_events) as sums; an empty dimension ('' in rollups) is null. */
function sumsOf(
  r: Partial<Record<(typeof DIMENSIONS)[number], string | null>> & {
    num_model_requests: unknown;
    num_refused_requests: unknown;
    input_tokens: unknown;
    cached_tokens: unknown;
    output_tokens: unknown;
    units: unknown;
    num_unpriced_requests: unknown;
  },
  bucketStart: number,
  costNanoUsd: number,
): UsageSums {
  return {
    bucket_start: bucketStart,
    project_id: r.project_id || null,
    api_key_id: r.api_key_id || null,
    model: r.model || null,
    num_model_requests: Number(r.num_model_requests),
    num_refused_requests: Number(r.num_refused_requests),
    input_tokens: Number(r.input_tokens),
    cached_tokens: Number(r.cached_tokens),
    output_tokens: Number(r.output_tokens),
    cost_nanousd: costNanoUsd,
    units: Number(r.units),
    num_unpriced_requests: Number(r.num_unpriced_requests),
  };
}

function byBucket<T extends { bucket_start: number }>(rows: T[], order: (a: T, b: T) => number): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const r of rows) {
    const list = out.get(r.bucket_start);
    if (list) list.push(r);
    else out.set(r.bucket_start, [r]);
  }
  for (const list of out.values()) list.sort(order);
  return out;
}

// Code-point order (not the locale's): the same on both databases, and fast for 10^5 results.
const cmp = (a: string | null, b: string | null) => {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
};
const byDims = (a: UsageSums, b: UsageSums) => cmp(a.project_id, b.project_id) || cmp(a.api_key_id, b.api_key_id) || cmp(a.model, b.model);

function usageResult(kind: UsageKind, s: UsageSums, group: string[]): Record<string, unknown> {
  const dims = { project_id: s.project_id, user_id: null, api_key_id: s.api_key_id, model: s.model };
  const extras = { cost_usd: nanoToUsd(s.cost_nanousd), num_refused_requests: s.num_refused_requests, num_unpriced_requests: s.num_unpriced_requests };
  if (kind === 'images') {
    return { object: 'organization.usage.images.result', images: s.units, num_model_requests: s.num_model_requests, source: null, size: null, ...dims, ...extras };
  }
  if (kind === 'audio_speeches') {
    return { object: 'organization.usage.audio_speeches.result', characters: s.units, num_model_requests: s.num_model_requests, ...dims, ...extras };
  }
  if (kind === 'audio_transcriptions') {
    return { object: 'organization.usage.audio_transcriptions.result', seconds: s.units, num_model_requests: s.num_model_requests, ...dims, ...extras };
  }
  if (kind === 'embeddings') {
    return { object: 'organization.usage.embeddings.result', input_tokens: s.input_tokens, num_model_requests: s.num_model_requests, ...dims, ...extras };
  }
  return {
    object: 'organization.usage.completions.result',
    input_tokens: s.input_tokens,
    output_tokens: s.output_tokens,
    input_cached_tokens: s.cached_tokens,
    input_audio_tokens: 0,
    output_audio_tokens: 0,
    num_model_requests: s.num_model_requests,
    ...dims,
    // Tollgate relays no Batch API jobs: grouped by batch, everything is batch=false.
    batch: group.includes('batch') ? false : null,
    ...extras,
  };
}

/**
 * Minute buckets come from the raw events, kept `retentionDays` (TOLLGATE_USAGE_RETENTION_DAYS; null: forever): a
 * page of them that starts before the window is refused rather than answered short (hour and day buckets come from
 * the rollups, kept for good).
 */
function checkRawWindow(deps: ServiceDeps, fromSeconds: number, retentionDays: number | null): void {
  const since = rawUsageSince(deps.clock(), retentionDays);
  if (since === null || fromSeconds * 1000 >= since) return;
  throw invalid(
    'start_time',
    `1m buckets are answered from ${since / 1000} on (raw usage is kept ${retentionDays} days, TOLLGATE_USAGE_RETENTION_DAYS); use bucket_width 1h or 1d for earlier times.`,
  );
}

/** GET /v1/organization/usage/{kind}: buckets of usage, empty buckets included. */
export async function getUsage(deps: ServiceDeps, orgId: string, kind: UsageKind, query: Query, retentionDays: number | null = null): Promise<Page<Record<string, unknown>>> {
  const width = bucketWidth(query, ['1m', '1h', '1d']);
  const r = range(query, width, USAGE_LIMITS[width], Math.floor(deps.clock() / 1000));
  const group = [...groupBy(query, GROUP_BY[kind])];
  for (const f of group) {
    if (UNRECORDED_GROUPS.has(f)) throw invalid('group_by', `Tollgate does not record an image's ${f}; group by project_id, user_id, api_key_id or model.`);
  }
  // user_ids is accepted and ignored: Tollgate attributes usage to keys and projects, not users.
  const filter: UsageFilter = { kind, ...pageSpan(r), group, projectIds: list(query, 'project_ids'), apiKeyIds: list(query, 'api_key_ids'), models: list(query, 'models') };
  if (width === '1m') checkRawWindow(deps, filter.from, retentionDays);
  const batchOnly = single(query, 'batch') === 'true';
  const metered = METERED.has(kind) && !batchOnly && filter.to > filter.from;
  const rows = !metered ? [] : width === '1m' ? await sumEvents(deps, orgId, filter) : await sumRollups(deps, orgId, width, filter);
  // Groups that only failed upstream carry nothing the Usage API reports: leave them out rather than show zeros.
  const buckets = byBucket(rows.filter((s) => s.num_model_requests > 0 || s.num_refused_requests > 0 || s.cost_nanousd !== 0), byDims);
  return toPage(r, (s) => (buckets.get(s) ?? []).map((row) => usageResult(kind, row, group)));
}

function pageSpan(r: Range): { from: number; to: number } {
  const w = pageWindow(r);
  return { from: w.from, to: w.to };
}

interface CostSums {
  bucket_start: number;
  project_id: string | null;
  model: string;
  num_model_requests: number;
  tokens: [input: number, cached: number, output: number];
  cost: [input: number, cached: number, output: number];
}

const LINE_ITEMS = ['input', 'cached input', 'output'] as const;

function costResult(nano: number, lineItem: string | null, projectId: string | null) {
  return { object: 'organization.costs.result', amount: { value: nanoToUsd(nano), currency: 'usd' }, line_item: lineItem, project_id: projectId };
}

/**
 * GET /v1/organization/costs: daily costs, grouped by project and/or line item (`<model>, input`, `…, cached input`,
 * `…, output`). Sums are of integer nano-dollars, converted to USD last, so line items add up to the total exactly.
 */
export async function getCosts(deps: ServiceDeps, orgId: string, query: Query): Promise<Page<ReturnType<typeof costResult>>> {
  const width = bucketWidth(query, ['1d']);
  const r = range(query, width, COSTS_LIMITS, Math.floor(deps.clock() / 1000));
  const group = groupBy(query, ['project_id', 'line_item']);
  const projectIds = list(query, 'project_ids');
  const { from, to } = pageSpan(r);
  const cols = [...(group.has('project_id') ? ['project_id' as const] : []), ...(group.has('line_item') ? ['model' as const] : [])];
  let q = deps.database.db.selectFrom(rollupTable('1d', false)).where('org_id', '=', orgId).where('bucket_start', '>=', from).where('bucket_start', '<', to);
  if (projectIds.length) q = q.where('project_id', 'in', projectIds);
  const raw =
    to > from
      ? await q
          .select(['bucket_start', ...cols])
          .select(rollupSums)
          .groupBy(['bucket_start', ...cols])
          .execute()
      : [];
  const rows = raw.map((row): CostSums => {
    const dims = row as Partial<Record<'project_id' | 'model', string>>;
    const cached = Number(row.cached_tokens);
    return {
      bucket_start: Number(row.bucket_start),
      project_id: dims.project_id || null,
      model: dims.model || 'unknown model',
      num_model_requests: Number(row.num_model_requests),
      tokens: [Number(row.input_tokens) - cached, cached, Number(row.output_tokens)],
      cost: [Number(row.input_cost), Number(row.cached_cost), Number(row.output_cost)],
    };
  });
  const buckets = byBucket(rows, (a, b) => cmp(a.project_id, b.project_id) || cmp(a.model, b.model));
  return toPage(r, (s) =>
    (buckets.get(s) ?? []).flatMap((row) => {
      if (!group.has('line_item')) {
        const total = row.cost[0] + row.cost[1] + row.cost[2];
        return row.num_model_requests > 0 || total !== 0 ? [costResult(total, null, row.project_id)] : [];
      }
      return LINE_ITEMS.flatMap((item, i) =>
        row.tokens[i] > 0 || row.cost[i] !== 0 ? [costResult(row.cost[i], `${row.model}, ${item}`, row.project_id)] : [],
      );
    }),
  );
}
