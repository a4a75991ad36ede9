/**
 * The Usage API category of a gateway endpoint (OpenAI's /v1/organization/usage/{kind}); keyed by
 * `METHOD path` as usage_events stores them (the route's template). Listing models is 'models' (UNCHARGED_KIND);
 * anything else is 'other' (files, batches, …) unless it was billed (below). Anthropic's Messages API is a completion as
 * OpenAI's chat completions are (native or translated either way); its free `POST /messages/count_tokens` stays
 * 'other'. A background response's cancellation answers its usage and bills it, as its retrieval does
 * (docs/metering.md): a completion. Rollups written before a route was listed: migrations 099 and 103.
 */
export const ENDPOINT_KINDS: Readonly<Record<string, string>> = {
  'POST /chat/completions': 'completions',
  'POST /completions': 'completions',
  'POST /responses': 'completions',
  'POST /responses/compact': 'completions',
  'POST /responses/{response_id}/cancel': 'completions',
  'POST /messages': 'completions',
  'POST /embeddings': 'embeddings',
  'POST /moderations': 'moderations',
  'POST /images/generations': 'images',
  'POST /images/edits': 'images',
  'POST /images/variations': 'images',
  'POST /audio/speech': 'audio_speeches',
  'POST /audio/transcriptions': 'audio_transcriptions',
  'POST /audio/translations': 'audio_transcriptions',
};

/** Retrievals of one response (`GET /responses/{id}`): they bill background responses, so they count as completions. */
export const RESPONSE_RETRIEVAL_PREFIX = '/responses/';

function isResponseRetrieval(method: string, endpoint: string): boolean {
  return method === 'GET' && endpoint.startsWith(RESPONSE_RETRIEVAL_PREFIX) && endpoint.indexOf('/', RESPONSE_RETRIEVAL_PREFIX.length) < 0;
}

/**
 * The kind of the requests Tollgate answers itself without charging them to any rate limit or quota (listing models,
 * `GET /models` and `GET /models/{model}`): stored and rolled up like any other, and left out when a restart counts a
 * key's requests again (services/limit-seeding.ts).
 */
export const UNCHARGED_KIND = 'models';

/** The routes of UNCHARGED_KIND (with GET). */
export const MODEL_LISTINGS: readonly string[] = ['/models', '/models/{model}'];

function isModelListing(method: string, endpoint: string): boolean {
  return method === 'GET' && MODEL_LISTINGS.includes(endpoint);
}

/**
 * The kind of free model requests: moderations, which OpenAI bills nothing for and reports in usage/moderations as
 * model requests with their input tokens. Its requests the model answered count in num_model_requests (and their
 * tokens) though never billed (usage-rollups.ts isFreeModelRequest); the Costs API leaves out its rows that cost
 * nothing.
 */
export const FREE_KIND = 'moderations';

/** The kind a billed request of a route no kind lists counts under (see endpointKind). */
export const BILLED_ELSEWHERE_KIND = 'completions';

/**
 * The Usage API category of a request. A billed request (`billed`: it reached a model, see usage-rollups.ts isBilled)
 * is never 'other': the gateway bills any model call whose answer reports usage, also on a route the API does not
 * list (an OpenAI-compatible server's own, such as `/fim/completions`) and by another method than the API's (a PUT
 * naming a model, which an upstream may run as a POST). Such a request counts under the kind of the route's POST when
 * it has one, else as a completion (it was billed by the tokens its answer reported): what the Costs API bills is in
 * some usage kind, whatever the path or method.
 */
export function endpointKind(method: string, endpoint: string, billed = false): string {
  const kind =
    ENDPOINT_KINDS[`${method} ${endpoint}`] ?? (isResponseRetrieval(method, endpoint) ? 'completions' : isModelListing(method, endpoint) ? UNCHARGED_KIND : 'other');
  if (kind !== 'other' || !billed) return kind;
  return ENDPOINT_KINDS[`POST ${endpoint}`] ?? BILLED_ELSEWHERE_KIND;
}

/**
 * One row of a usage rollup: the sums of the usage events of one bucket and one (project, key, model, endpoint kind,
 * service tier). Missing project, key, model or tier are stored as '' (NULL in a unique key would defeat ON CONFLICT).
 * Tokens and costs count billed requests only (tokens also FREE_KIND's answered ones); refused requests are counted
 * apart and never billed.
 */
export interface UsageRollupsTable {
  org_id: string;
  /** Unix seconds, UTC-aligned to the table's width. */
  bucket_start: number;
  project_id: string;
  api_key_id: string;
  model: string;
  /** A value of ENDPOINT_KINDS, UNCHARGED_KIND, or 'other' (endpointKind). */
  endpoint_kind: string;
  /** The service tier the requests ran at ('' when not known; migration 097). */
  service_tier: string;
  num_requests: number;
  /** Requests that reached a model and were billed; of FREE_KIND, those its model answered (free). */
  num_model_requests: number;
  /** Requests Tollgate refused (scope, model, limits): never billed. */
  num_refused_requests: number;
  /** Requests that failed upstream (error, timeout, abort, interrupted stream). */
  num_failed_requests: number;
  /** Includes cached tokens (as OpenAI's `input_tokens`). */
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
  /** Cost of the uncached input tokens, nano-dollars. The three parts sum to the events' cost_nanousd. */
  input_cost_nanousd: number;
  cached_cost_nanousd: number;
  output_cost_nanousd: number;
  /** What billed requests were billed by besides tokens: images (images), characters (audio_speeches), seconds (audio_transcriptions). */
  units: number;
  /** Billed requests of a model Tollgate had no price for (cost 0): see docs/metering.md. */
  num_unpriced_requests: number;
  /**
   * Parts of input_tokens and output_tokens billed at rates of their own (migration 104; the events' columns of the
   * same names): input written to a prompt cache, uncached audio and image input, audio and image output.
   */
  cache_write_tokens: number;
  audio_input_tokens: number;
  audio_output_tokens: number;
  image_input_tokens: number;
  image_output_tokens: number;
  /**
   * Web searches the provider ran and billed per search (migration 110; the events' column of the same name), and
   * their cost, nano-dollars: apart from the three token line items, with which it sums to the events' cost_nanousd.
   */
  web_search_requests: number;
  web_search_cost_nanousd: number;
}

/**
 * Rollup tables (see migrations-rollups.ts). The `project` tables hold the same sums without the key dimension
 * (api_key_id is always ''): questions that do not ask about keys read far fewer rows there.
 * Minute buckets are read from usage_events directly.
 */
export interface UsageRollupTables {
  usage_rollups_1h: UsageRollupsTable;
  usage_rollups_1d: UsageRollupsTable;
  usage_rollups_project_1h: UsageRollupsTable;
  usage_rollups_project_1d: UsageRollupsTable;
}

/**
 * A day's billed requests and cost of one key (migration 094): the Costs API grouped or filtered by key without line
 * items reads one row per key and day here, where the per-key day table has one per key, model and endpoint kind.
 * Rows with neither a billed request nor a cost are not written.
 */
export interface UsageCostsKeyTable {
  org_id: string;
  /** Unix seconds, UTC day. */
  bucket_start: number;
  api_key_id: string;
  /** The key's project (a key never changes project; part of the key all the same, as in the other rollups). */
  project_id: string;
  num_model_requests: number;
  /** input + cached input + output + web search cost, nano-dollars. */
  cost_nanousd: number;
}

export interface RollupTables extends UsageRollupTables {
  usage_costs_key_1d: UsageCostsKeyTable;
}

/** The unique key of usage_costs_key_1d: a day's rows are in key order. */
export const COSTS_KEY_KEY = ['org_id', 'bucket_start', 'api_key_id', 'project_id'] as const;
/** The summed columns of usage_costs_key_1d. */
export const COSTS_KEY_SUMS = ['num_model_requests', 'cost_nanousd'] as const;

/** The unique key of every rollup table (api_key_id is '' in the project tables); service_tier appended by 097. */
export const ROLLUP_KEY = ['org_id', 'bucket_start', 'project_id', 'api_key_id', 'model', 'endpoint_kind', 'service_tier'] as const;

/**
 * The summed columns of every rollup table: migration 030's, then `units` and `num_unpriced_requests` (080), then the
 * token parts (104), then web searches and their cost (110).
 */
export const ROLLUP_SUMS = [
  'num_requests',
  'num_model_requests',
  'num_refused_requests',
  'num_failed_requests',
  'input_tokens',
  'cached_tokens',
  'output_tokens',
  'input_cost_nanousd',
  'cached_cost_nanousd',
  'output_cost_nanousd',
  'units',
  'num_unpriced_requests',
  'cache_write_tokens',
  'audio_input_tokens',
  'audio_output_tokens',
  'image_input_tokens',
  'image_output_tokens',
  'web_search_requests',
  'web_search_cost_nanousd',
] as const;

/**
 * The whole cost a rollup row sums, nano-dollars: its token line items and its web searches. Every reader of a
 * rollup's cost (budgets seeded and shown, the Usage and Costs APIs) sums this, so that none leaves a part out.
 */
export const ROLLUP_COST_SQL = 'input_cost_nanousd + cached_cost_nanousd + output_cost_nanousd + web_search_cost_nanousd';

/** Each rollup table: its bucket width in seconds, and whether it keeps the key dimension. */
export const ROLLUP_TABLES: ReadonlyArray<{ table: keyof UsageRollupTables; width: number; perKey: boolean }> = [
  { table: 'usage_rollups_1h', width: 3600, perKey: true },
  { table: 'usage_rollups_1d', width: 86_400, perKey: true },
  { table: 'usage_rollups_project_1h', width: 3600, perKey: false },
  { table: 'usage_rollups_project_1d', width: 86_400, perKey: false },
];
