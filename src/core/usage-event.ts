/** How a metered request ended. */
export type UsageOutcome = 'ok' | 'upstream_error' | 'timeout' | 'client_aborted' | 'stream_interrupted' | 'refused';

/**
 * One metered request, as the gateway builds it (http/gateway/metering.ts). It reaches storage as a usage line
 * (core/usage-line.ts), which storage reads into its `usage_events` row: flags there are 1 and 0, the outcome text.
 */
export interface UsageEvent {
  /** Makes writes idempotent: a replayed batch never counts twice. */
  id: string;
  createdAtMs: number;
  orgId: string;
  projectId: string | null;
  apiKeyId: string | null;
  model: string | null;
  provider: string | null;
  /** The route (core/api-routes.ts), e.g. `/chat/completions`. */
  endpoint: string;
  method: string;
  status: number;
  outcome: UsageOutcome;
  /** Whether the request reached a model (billed); a refused request never does. */
  billable: boolean;
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  latencyMs: number;
  upstreamLatencyMs: number | null;
  costNanoUsd: number;
  streamed: boolean;
  errorCode: string | null;
  /** Images, characters or seconds the request was billed by (image, speech and transcription endpoints), else 0. */
  units: number;
  /** Billed with no price for its model (at cost 0, for keys without a spend limit). */
  unpriced: boolean;
  /** Tollgate's id of the request (`x-request-id` of its answer); null on events written before migration 090. */
  requestId: string | null;
  /** The upstream's own id of the request (its `x-request-id`, passed on as `x-upstream-request-id`), if it gave one. */
  upstreamRequestId: string | null;
  /**
   * The provider credential that answered: its id (the name of the environment variable that holds it), never the
   * key; null when no provider answered, and on events written before migration 095.
   */
  credential: string | null;
  /**
   * The service tier the request ran at (OpenAI's `service_tier`): what the answer said, else what the request asked
   * for, else null (and on events written before migration 097). Only short plain words are kept (core/service-tier.ts).
   */
  serviceTier: string | null;
  /**
   * The parts of `inputTokens` and `outputTokens` billed at rates of their own (core/pricing.ts tokenParts), 0 when not
   * billed and on events written before migration 104: input written to a prompt cache (Anthropic's cache writes, of
   * either lifetime; `cacheWrite1hTokens` of them with the 1-hour one), uncached audio and image input, audio and image
   * output. With `cachedTokens` they let the rollups split the cost into line items at each part's rate.
   */
  cacheWriteTokens: number;
  cacheWrite1hTokens: number;
  audioInputTokens: number;
  audioOutputTokens: number;
  imageInputTokens: number;
  imageOutputTokens: number;
  /**
   * Web searches the provider ran for the request and bills per search (Anthropic's
   * `usage.server_tool_use.web_search_requests`), part of `costNanoUsd` at the price's `web_search`; 0 when not billed
   * and on events written before migration 110.
   */
  webSearchRequests: number;
}
