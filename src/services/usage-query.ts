import { type ExpressionBuilder, type SelectQueryBuilder, sql } from 'kysely';
import type { BucketWidth } from '../core/buckets.js';
import { nanoToUsd } from '../core/pricing.js';
import { rawUsageSince } from '../core/usage-retention.js';
import type { UsageResult } from '../contract/usage.js';
import type { DB } from '../storage/schema.js';
import { BILLED_ELSEWHERE_KIND, ENDPOINT_KINDS, FREE_KIND, MODEL_LISTINGS, RESPONSE_RETRIEVAL_PREFIX } from '../storage/schema-rollups.js';
import type { ServiceDeps } from './context.js';
import { bool, bucketWidth, byBucket, checkParams, cmp, groupBy, invalid, list, listOf, type Page, pageSpan, type Query, range, toPage } from './usage-params.js';

// OpenAI's Usage API (GET /v1/organization/usage/{kind}), answered from the hourly and daily rollups (minute buckets
// from usage_events). Tollgate adds `cost_usd`, `num_refused_requests` and `num_unpriced_requests` to usage results:
// requests Tollgate refused are never billed and are counted apart; requests of a model it had no price for are billed
// at 0 and counted apart. Usage is recorded per key; a user's usage is that of the keys they own (`user_id`,
// `user_ids`), a service account's keys have no user.

export const USAGE_KINDS = [
  'completions',
  'embeddings',
  'moderations',
  'images',
  'audio_speeches',
  'audio_transcriptions',
  'vector_stores',
  'code_interpreter_sessions',
  'file_search_calls',
  'web_search_calls',
] as const;
export type UsageKind = (typeof USAGE_KINDS)[number];

/**
 * Kinds Tollgate meters (moderations: free, counted as OpenAI counts them); the others answer pages of empty buckets
 * (every parameter still checked).
 */
const METERED: ReadonlySet<UsageKind> = new Set(['completions', 'embeddings', 'moderations', 'images', 'audio_speeches', 'audio_transcriptions']);

const KEY_FIELDS = ['project_id', 'user_id', 'api_key_id', 'model'] as const;
const MODEL_FILTERS = ['project_ids', 'user_ids', 'api_key_ids', 'models'] as const;

/** Each kind's filters and group_by values, as OpenAI's specification lists them (usage-{kind} operations). */
const SPEC: Readonly<Record<UsageKind, { filters: readonly string[]; groups: readonly string[] }>> = {
  completions: { filters: [...MODEL_FILTERS, 'batch'], groups: [...KEY_FIELDS, 'batch', 'service_tier'] },
  embeddings: { filters: MODEL_FILTERS, groups: KEY_FIELDS },
  moderations: { filters: MODEL_FILTERS, groups: KEY_FIELDS },
  images: { filters: [...MODEL_FILTERS, 'sources', 'sizes'], groups: [...KEY_FIELDS, 'size', 'source'] },
  audio_speeches: { filters: MODEL_FILTERS, groups: KEY_FIELDS },
  audio_transcriptions: { filters: MODEL_FILTERS, groups: KEY_FIELDS },
  vector_stores: { filters: ['project_ids'], groups: ['project_id'] },
  code_interpreter_sessions: { filters: ['project_ids'], groups: ['project_id'] },
  file_search_calls: { filters: ['project_ids', 'user_ids', 'api_key_ids', 'vector_store_ids'], groups: ['project_id', 'user_id', 'api_key_id', 'vector_store_id'] },
  web_search_calls: { filters: [...MODEL_FILTERS, 'context_levels'], groups: [...KEY_FIELDS, 'context_level'] },
};

/** Values OpenAI's specification allows for the enum filters. */
const ENUM_FILTERS: Readonly<Record<string, readonly string[]>> = {
  sources: ['image.generation', 'image.edit', 'image.variation'],
  sizes: ['256x256', '512x512', '1024x1024', '1792x1792', '1024x1792'],
  context_levels: ['low', 'medium', 'high'],
};

/**
 * What a metered kind cannot be asked about: Tollgate does not record an image's size or source (refused, never
 * answered as if it knew). Kinds Tollgate does not meter answer empty buckets whatever they are asked, which is exact.
 */
const UNRECORDED: Readonly<Record<string, string>> = {
  size: "Tollgate does not record an image's size",
  sizes: "Tollgate does not record an image's size",
  source: "Tollgate does not record an image's source (generation, edit or variation)",
  sources: "Tollgate does not record an image's source (generation, edit or variation)",
};

/** Buckets per page: [default, max] as OpenAI documents them. */
const USAGE_LIMITS: Readonly<Record<BucketWidth, readonly [number, number]>> = { '1d': [7, 31], '1h': [24, 168], '1m': [60, 1440] };

/** Sums of one (bucket, group); ungrouped dimensions are null. */
interface UsageSums {
  bucket_start: number;
  project_id: string | null;
  api_key_id: string | null;
  model: string | null;
  /** The service tier (null: not known, or not grouped by). */
  service_tier: string | null;
  num_model_requests: number;
  num_refused_requests: number;
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
  /** The parts of the tokens billed at rates of their own (migration 104). */
  cache_write_tokens: number;
  audio_input_tokens: number;
  audio_output_tokens: number;
  image_input_tokens: number;
  image_output_tokens: number;
  /** Web searches billed per search (migration 110). */
  web_search_requests: number;
  cost_nanousd: number;
  /** Images, characters or seconds, by kind. */
  units: number;
  num_unpriced_requests: number;
}

/** What a usage question reads: its kind, page span, the dimensions it groups by in SQL and its filters (null: none). */
interface UsageFilter {
  kind: UsageKind;
  from: number;
  to: number;
  /** SQL grouping columns among DIMENSIONS. */
  cols: Array<(typeof DIMENSIONS)[number]>;
  projectIds: string[] | null;
  apiKeyIds: string[] | null;
  userIds: string[] | null;
  models: string[] | null;
}

const DIMENSIONS = ['project_id', 'api_key_id', 'model', 'service_tier'] as const;

/** Reads the per-key tables only when the question is about keys; the project tables are much smaller. */
function rollupTable(width: '1h' | '1d', perKey: boolean): 'usage_rollups_1d' {
  const name = perKey ? `usage_rollups_${width}` : `usage_rollups_project_${width}`;
  // All four tables have one shape; the cast only picks one of them for typing.
  return name as 'usage_rollups_1d';
}

/** The sums every usage query reads from a rollup table. */
function rollupSums(eb: ExpressionBuilder<DB, 'usage_rollups_1d'>) {
  return [
    eb.fn.sum<number>('num_model_requests').as('num_model_requests'),
    eb.fn.sum<number>('num_refused_requests').as('num_refused_requests'),
    eb.fn.sum<number>('input_tokens').as('input_tokens'),
    eb.fn.sum<number>('cached_tokens').as('cached_tokens'),
    eb.fn.sum<number>('output_tokens').as('output_tokens'),
    eb.fn.sum<number>('cache_write_tokens').as('cache_write_tokens'),
    eb.fn.sum<number>('audio_input_tokens').as('audio_input_tokens'),
    eb.fn.sum<number>('audio_output_tokens').as('audio_output_tokens'),
    eb.fn.sum<number>('image_input_tokens').as('image_input_tokens'),
    eb.fn.sum<number>('image_output_tokens').as('image_output_tokens'),
    eb.fn.sum<number>('input_cost_nanousd').as('input_cost'),
    eb.fn.sum<number>('cached_cost_nanousd').as('cached_cost'),
    eb.fn.sum<number>('output_cost_nanousd').as('output_cost'),
    eb.fn.sum<number>('web_search_cost_nanousd').as('web_search_cost'),
    eb.fn.sum<number>('web_search_requests').as('web_search_requests'),
    eb.fn.sum<number>('units').as('units'),
    eb.fn.sum<number>('num_unpriced_requests').as('num_unpriced_requests'),
  ];
}

/** Applies the filters of a question to a query over rollups or usage_events (both name their columns alike). */
function filtered<Q extends SelectQueryBuilder<DB, 'usage_rollups_1d' | 'usage_events', object>>(q: Q, f: UsageFilter): Q {
  // An empty list is "none of these": an empty filter never means "everything".
  if ([f.projectIds, f.apiKeyIds, f.models, f.userIds].some((ids) => ids?.length === 0)) return q.where(sql<boolean>`1 = 0`) as Q;
  let out = q;
  if (f.projectIds) out = out.where('project_id', 'in', f.projectIds) as Q;
  if (f.apiKeyIds) out = out.where('api_key_id', 'in', f.apiKeyIds) as Q;
  if (f.models) out = out.where('model', 'in', f.models) as Q;
  const users = f.userIds;
  if (users) {
    out = out.where((eb) =>
      eb('api_key_id', 'in', eb.selectFrom('api_keys').select('api_keys.id').where('api_keys.owner_type', '=', 'user').where('api_keys.owner_id', 'in', users)),
    ) as Q;
  }
  return out;
}

async function sumRollups(deps: ServiceDeps, orgId: string, width: '1h' | '1d', f: UsageFilter): Promise<UsageSums[]> {
  const perKey = f.cols.includes('api_key_id') || f.apiKeyIds !== null || f.userIds !== null;
  const q = filtered(
    deps.database.db
      .selectFrom(rollupTable(width, perKey))
      .where('org_id', '=', orgId)
      .where('bucket_start', '>=', f.from)
      .where('bucket_start', '<', f.to)
      .where('endpoint_kind', '=', f.kind),
    f,
  );
  const rows = await q
    .select(['bucket_start', ...f.cols])
    .select(rollupSums)
    .groupBy(['bucket_start', ...f.cols])
    .execute();
  return rows.map((r) => sumsOf(r, Number(r.bucket_start), Number(r.input_cost) + Number(r.cached_cost) + Number(r.output_cost) + Number(r.web_search_cost)));
}

/** The routes whose POSTs count under a kind (ENDPOINT_KINDS), and those of every kind. */
const POSTS_OF_KIND = new Map<string, string[]>();
for (const [route, kind] of Object.entries(ENDPOINT_KINDS)) {
  if (!route.startsWith('POST ')) throw new Error(`ENDPOINT_KINDS lists POSTs only: ${route}`);
  POSTS_OF_KIND.set(kind, [...(POSTS_OF_KIND.get(kind) ?? []), route.slice('POST '.length)]);
}
const EVERY_KIND_ROUTE = [...POSTS_OF_KIND.values()].flat();

/**
 * Minute buckets straight from usage_events (over its time index): a page spans at most one day. The events of a kind
 * are picked as endpointKind (storage/schema-rollups.ts) picks them for the hour and day rollups.
 */
async function sumEvents(deps: ServiceDeps, orgId: string, f: UsageFilter): Promise<UsageSums[]> {
  const endpoints = POSTS_OF_KIND.get(f.kind) ?? [];
  if (endpoints.length === 0 && f.kind !== BILLED_ELSEWHERE_KIND) return [];
  const minute = sql<number>`created_at_ms / 60000`;
  const billed = sql`billable = 1 and outcome <> 'refused'`;
  // Model requests: billed ones, and of the free kind (moderations) those its model answered, as the rollups count
  // them (usage-rollups.ts isFreeModelRequest).
  const counted = f.kind === FREE_KIND ? sql`(${billed} or outcome = 'ok')` : billed;
  const q = filtered(
    deps.database.db
      .selectFrom('usage_events')
      .where('org_id', '=', orgId)
      .where('created_at_ms', '>=', f.from * 1000)
      .where('created_at_ms', '<', f.to * 1000)
      .where((eb) => {
        const isBilled = eb.and([eb('billable', '=', 1), eb('outcome', '<>', 'refused')]);
        // The kind's routes: their POSTs, and billed requests of them by any other method.
        const kinds = [];
        if (endpoints.length > 0) kinds.push(eb.and([eb('endpoint', 'in', endpoints), eb.or([eb('method', '=', 'POST'), isBilled])]));
        if (f.kind === BILLED_ELSEWHERE_KIND) {
          // Billed requests of routes no kind lists (never a listing of models, which is never billed).
          kinds.push(eb.and([isBilled, eb('endpoint', 'not in', EVERY_KIND_ROUTE), eb.not(eb.and([eb('method', '=', 'GET'), eb('endpoint', 'in', MODEL_LISTINGS)]))]));
        }
        if (f.kind === 'completions') {
          // A background response is billed by the retrieval of its result (GET /responses/{id}): billed ones count,
          // and refused ones are counted as refused, as the hour and day rollups count them. GET /responses/{id}
          // alone, as the rollups tell it (isResponseRetrieval): not /responses/{id}/input_items.
          const retrieval = eb.and([
            eb('method', '=', 'GET'),
            eb('endpoint', 'like', `${RESPONSE_RETRIEVAL_PREFIX}%`),
            eb('endpoint', 'not like', `${RESPONSE_RETRIEVAL_PREFIX}%/%`),
          ]);
          kinds.push(eb.and([retrieval, eb.or([isBilled, eb('outcome', '=', 'refused')])]));
        }
        return eb.or(kinds);
      }),
    f,
  );
  const rows = await q
    .select([minute.as('minute'), ...f.cols])
    .select([
      sql<number>`sum(case when ${counted} then 1 else 0 end)`.as('num_model_requests'),
      sql<number>`sum(case when outcome = 'refused' then 1 else 0 end)`.as('num_refused_requests'),
      sql<number>`sum(case when ${counted} then input_tokens else 0 end)`.as('input_tokens'),
      sql<number>`sum(case when ${counted} then cached_tokens else 0 end)`.as('cached_tokens'),
      sql<number>`sum(case when ${counted} then output_tokens else 0 end)`.as('output_tokens'),
      sql<number>`sum(case when ${counted} then cache_write_tokens else 0 end)`.as('cache_write_tokens'),
      sql<number>`sum(case when ${counted} then audio_input_tokens else 0 end)`.as('audio_input_tokens'),
      sql<number>`sum(case when ${counted} then audio_output_tokens else 0 end)`.as('audio_output_tokens'),
      sql<number>`sum(case when ${counted} then image_input_tokens else 0 end)`.as('image_input_tokens'),
      sql<number>`sum(case when ${counted} then image_output_tokens else 0 end)`.as('image_output_tokens'),
      sql<number>`sum(case when ${billed} then web_search_requests else 0 end)`.as('web_search_requests'),
      sql<number>`sum(case when ${billed} then cost_nanousd else 0 end)`.as('cost_nanousd'),
      sql<number>`sum(case when ${billed} then units else 0 end)`.as('units'),
      sql<number>`sum(case when ${billed} and unpriced = 1 then 1 else 0 end)`.as('num_unpriced_requests'),
    ])
    .groupBy([minute, ...f.cols])
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
    cache_write_tokens: unknown;
    audio_input_tokens: unknown;
    audio_output_tokens: unknown;
    image_input_tokens: unknown;
    image_output_tokens: unknown;
    web_search_requests: unknown;
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
    service_tier: r.service_tier || null,
    num_model_requests: Number(r.num_model_requests),
    num_refused_requests: Number(r.num_refused_requests),
    input_tokens: Number(r.input_tokens),
    cached_tokens: Number(r.cached_tokens),
    output_tokens: Number(r.output_tokens),
    cache_write_tokens: Number(r.cache_write_tokens),
    audio_input_tokens: Number(r.audio_input_tokens),
    audio_output_tokens: Number(r.audio_output_tokens),
    image_input_tokens: Number(r.image_input_tokens),
    image_output_tokens: Number(r.image_output_tokens),
    web_search_requests: Number(r.web_search_requests),
    cost_nanousd: costNanoUsd,
    units: Number(r.units),
    num_unpriced_requests: Number(r.num_unpriced_requests),
  };
}

/** Grouped by user: rows summed by bucket and the owner of their key (null for a service account's keys). */
type UserSums = UsageSums & { user_id: string | null };

async function byUser(deps: ServiceDeps, orgId: string, rows: UsageSums[], keepKey: boolean): Promise<UserSums[]> {
  const owners = new Map<string, string>();
  const keys = await deps.database.db
    .selectFrom('api_keys')
    .select(['id', 'owner_id'])
    .where('org_id', '=', orgId)
    .where('owner_type', '=', 'user')
    .execute();
  for (const k of keys) if (k.owner_id) owners.set(k.id, k.owner_id);
  const merged = new Map<string, UserSums>();
  for (const r of rows) {
    const user = (r.api_key_id && owners.get(r.api_key_id)) || null;
    const row: UserSums = { ...r, user_id: user, api_key_id: keepKey ? r.api_key_id : null };
    const id = `${r.bucket_start}\u0000${row.project_id ?? ''}\u0000${user ?? ''}\u0000${row.api_key_id ?? ''}\u0000${row.model ?? ''}\u0000${row.service_tier ?? ''}`;
    const acc = merged.get(id);
    if (!acc) {
      merged.set(id, row);
      continue;
    }
    acc.num_model_requests += r.num_model_requests;
    acc.num_refused_requests += r.num_refused_requests;
    acc.input_tokens += r.input_tokens;
    acc.cached_tokens += r.cached_tokens;
    acc.output_tokens += r.output_tokens;
    acc.cache_write_tokens += r.cache_write_tokens;
    acc.audio_input_tokens += r.audio_input_tokens;
    acc.audio_output_tokens += r.audio_output_tokens;
    acc.image_input_tokens += r.image_input_tokens;
    acc.image_output_tokens += r.image_output_tokens;
    acc.web_search_requests += r.web_search_requests;
    acc.cost_nanousd += r.cost_nanousd;
    acc.units += r.units;
    acc.num_unpriced_requests += r.num_unpriced_requests;
  }
  return [...merged.values()];
}

const byDims = (a: UserSums, b: UserSums) =>
  cmp(a.project_id, b.project_id) ||
  cmp(a.user_id, b.user_id) ||
  cmp(a.api_key_id, b.api_key_id) ||
  cmp(a.model, b.model) ||
  cmp(a.service_tier, b.service_tier);

function usageResult(kind: UsageKind, s: UserSums, group: Set<string>): UsageResult {
  const dims = { project_id: s.project_id, user_id: s.user_id, api_key_id: s.api_key_id, model: s.model };
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
  if (kind === 'moderations') {
    return { object: 'organization.usage.moderations.result', input_tokens: s.input_tokens, num_model_requests: s.num_model_requests, ...dims, ...extras };
  }
  if (kind === 'embeddings') {
    return { object: 'organization.usage.embeddings.result', input_tokens: s.input_tokens, num_model_requests: s.num_model_requests, ...dims, ...extras };
  }
  return {
    object: 'organization.usage.completions.result',
    input_tokens: s.input_tokens,
    output_tokens: s.output_tokens,
    input_cached_tokens: s.cached_tokens,
    input_cache_write_tokens: s.cache_write_tokens,
    // Never below 0, whatever an upstream reported (core/pricing.ts tokenParts takes each part from what is left).
    input_uncached_tokens: Math.max(0, s.input_tokens - s.cached_tokens - s.cache_write_tokens),
    input_audio_tokens: s.audio_input_tokens,
    output_audio_tokens: s.audio_output_tokens,
    input_image_tokens: s.image_input_tokens,
    output_image_tokens: s.image_output_tokens,
    num_model_requests: s.num_model_requests,
    num_web_search_requests: s.web_search_requests,
    ...dims,
    // Tollgate relays no Batch API jobs: grouped by batch, everything is batch=false.
    batch: group.has('batch') ? false : null,
    // Grouped by tier: the tier requests ran at (null for those whose tier is not known).
    service_tier: s.service_tier,
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
export async function getUsage(
  deps: ServiceDeps,
  orgId: string,
  kind: UsageKind,
  query: Query,
  retentionDays: number | null = null,
): Promise<Page<UsageResult>> {
  const spec = SPEC[kind];
  const lists = [...spec.filters.filter((f) => f !== 'batch'), 'group_by'];
  checkParams(query, [...spec.filters, 'group_by'], lists);
  const width = bucketWidth(query, ['1m', '1h', '1d']);
  const r = range(query, width, USAGE_LIMITS[width], Math.floor(deps.clock() / 1000));
  const group = groupBy(query, spec.groups);
  const filters: Record<string, string[] | null> = {};
  for (const name of lists) if (name !== 'group_by') filters[name] = ENUM_FILTERS[name] ? listOf(query, name, ENUM_FILTERS[name]) : list(query, name);
  const batch = spec.filters.includes('batch') ? bool(query, 'batch') : undefined;
  const metered = METERED.has(kind);
  if (metered) {
    for (const name of group) if (UNRECORDED[name]) throw invalid('group_by', `${UNRECORDED[name]}; it cannot group by ${name}.`);
    for (const name of Object.keys(filters)) {
      if (UNRECORDED[name] && filters[name] !== null) throw invalid(name, `${UNRECORDED[name]}; it cannot filter by it.`);
    }
  }
  const f: UsageFilter = {
    kind,
    ...pageSpan(r),
    // Grouped by user: by key in SQL, then by each key's owner.
    cols: DIMENSIONS.filter((c) => group.has(c) || (c === 'api_key_id' && group.has('user_id'))),
    projectIds: filters.project_ids ?? null,
    apiKeyIds: filters.api_key_ids ?? null,
    userIds: filters.user_ids ?? null,
    models: filters.models ?? null,
  };
  if (width === '1m') checkRawWindow(deps, f.from, retentionDays);
  // Tollgate relays no Batch API jobs: batch=true asks for none of what it meters.
  const answered = metered && batch !== true && f.to > f.from;
  const rows = !answered ? [] : width === '1m' ? await sumEvents(deps, orgId, f) : await sumRollups(deps, orgId, width, f);
  const sums: UserSums[] = group.has('user_id') ? await byUser(deps, orgId, rows, group.has('api_key_id')) : rows.map((row) => ({ ...row, user_id: null }));
  // Groups that only failed upstream carry nothing the Usage API reports: leave them out rather than show zeros.
  const buckets = byBucket(
    sums.filter((s) => s.num_model_requests > 0 || s.num_refused_requests > 0 || s.cost_nanousd !== 0),
    byDims,
  );
  return toPage(r, (s) => (buckets.get(s) ?? []).map((row) => usageResult(kind, row, group)));
}
