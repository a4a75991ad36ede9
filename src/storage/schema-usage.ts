/** One metered request; `id` makes writes idempotent (a replayed batch never double-counts). */
export interface UsageEventsTable {
  id: string;
  created_at_ms: number;
  org_id: string;
  project_id: string | null;
  api_key_id: string | null;
  model: string | null;
  provider: string | null;
  endpoint: string;
  method: string;
  status: number;
  /** ok | upstream_error | timeout | client_aborted | stream_interrupted | refused */
  outcome: string;
  /** 1 when the request reached a model (billed); refused requests are 0. */
  billable: number;
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
  latency_ms: number;
  upstream_latency_ms: number | null;
  cost_nanousd: number;
  streamed: number;
  error_code: string | null;
  /** Images, characters or seconds the request was billed by (image, speech and transcription endpoints), else 0. */
  units: number;
  /** 1 when the request was billed with no price for its model (recorded at cost 0, for keys without a spend limit). */
  unpriced: number;
  /** Tollgate's id of the request (`x-request-id` of its answer); null on events written before migration 090. */
  request_id: string | null;
  /** The upstream's own id of the request (its `x-request-id`, passed on as `x-upstream-request-id`), if it gave one. */
  upstream_request_id: string | null;
}

/** Tables of usage, limits and budgets (see migrations-usage.ts). */
export interface UsageTables {
  usage_events: UsageEventsTable;
}
