// OpenAI's Usage and Costs API shapes (GET /v1/organization/usage/{kind}, GET /v1/organization/costs), as Tollgate
// answers them: the server's builders are typed against these, and the dashboard's Usage page reads them.

/** A bucket of a usage or costs page: [start_time, end_time) in unix seconds, with its results. */
export interface UsageBucket<R> {
  object: 'bucket';
  start_time: number;
  end_time: number;
  results: R[];
}

/** A page of buckets (every bucket of the page's span, empty ones included). */
export interface UsagePage<R> {
  object: 'page';
  data: Array<UsageBucket<R>>;
  has_more: boolean;
  next_page: string | null;
}

/** The fields a usage result is grouped by; null where the answer is not grouped by that field. */
export interface UsageDimensions {
  project_id: string | null;
  user_id: string | null;
  api_key_id: string | null;
  model: string | null;
}

/** Tollgate's additions to every usage result. */
export interface UsageExtras {
  /** The priced cost of these requests, in USD. */
  cost_usd: number;
  /** Requests Tollgate refused (never billed). */
  num_refused_requests: number;
  /** Requests of a model Tollgate had no price for (billed at 0). */
  num_unpriced_requests: number;
}

export interface CompletionsUsageResult extends UsageDimensions, UsageExtras {
  object: 'organization.usage.completions.result';
  input_tokens: number;
  output_tokens: number;
  input_cached_tokens: number;
  /** Input written to a prompt cache (Anthropic's cache writes): part of input_tokens, apart from input_cached_tokens. */
  input_cache_write_tokens: number;
  /** input_tokens less input_cached_tokens and input_cache_write_tokens. */
  input_uncached_tokens: number;
  /** Uncached audio input, and audio output. */
  input_audio_tokens: number;
  output_audio_tokens: number;
  /** Uncached image input, and image output. */
  input_image_tokens: number;
  output_image_tokens: number;
  num_model_requests: number;
  /**
   * Web searches the provider ran for these requests and billed per search (Anthropic's
   * `server_tool_use.web_search_requests`); their cost is in cost_usd.
   */
  num_web_search_requests: number;
  /** false when grouped by batch (Tollgate relays no Batch API jobs), else null. */
  batch: boolean | null;
  /** The tier the requests ran at, when grouped by service_tier (null where it is not known). */
  service_tier: string | null;
}

export interface EmbeddingsUsageResult extends UsageDimensions, UsageExtras {
  object: 'organization.usage.embeddings.result';
  input_tokens: number;
  num_model_requests: number;
}

export interface ImagesUsageResult extends UsageDimensions, UsageExtras {
  object: 'organization.usage.images.result';
  images: number;
  num_model_requests: number;
  source: string | null;
  size: string | null;
}

export interface AudioSpeechesUsageResult extends UsageDimensions, UsageExtras {
  object: 'organization.usage.audio_speeches.result';
  characters: number;
  num_model_requests: number;
}

export interface AudioTranscriptionsUsageResult extends UsageDimensions, UsageExtras {
  object: 'organization.usage.audio_transcriptions.result';
  seconds: number;
  num_model_requests: number;
}

export interface ModerationsUsageResult extends UsageDimensions, UsageExtras {
  object: 'organization.usage.moderations.result';
  /** The input tokens the answers reported (0 where they report none, as OpenAI's do not). */
  input_tokens: number;
  /** Requests the model answered (moderations are free: never billed, cost_usd 0). */
  num_model_requests: number;
}

/** Any usage result Tollgate answers (kinds it does not meter answer empty buckets). */
export type UsageResult =
  | CompletionsUsageResult
  | EmbeddingsUsageResult
  | ModerationsUsageResult
  | ImagesUsageResult
  | AudioSpeechesUsageResult
  | AudioTranscriptionsUsageResult;

/** A costs result: integer nano-dollars summed, converted to USD last. */
export interface CostResult {
  object: 'organization.costs.result';
  amount: { value: number; currency: 'usd' };
  line_item: string | null;
  project_id: string | null;
  api_key_id: string | null;
  /** A line item's quantity (its tokens; a web search line item's searches), else null. */
  quantity: number | null;
  /** `tokens` (or `web_search_requests`) with a quantity, else null. */
  quantity_unit: 'tokens' | 'web_search_requests' | null;
}
