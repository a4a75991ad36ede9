// OpenAI's Usage and Costs API shapes, as the Usage page reads them (api-client.ts's getUsage).

export interface UsageResult {
  object: 'organization.usage.completions.result' | 'organization.usage.embeddings.result';
  input_tokens: number;
  /** Completions only. */
  output_tokens?: number;
  input_cached_tokens?: number;
  num_model_requests: number;
  project_id: string | null;
  api_key_id: string | null;
  model: string | null;
  /** Tollgate's addition: the priced cost of these requests, in USD. */
  cost_usd?: number;
  /** Tollgate's addition: requests it refused (never billed). */
  num_refused_requests?: number;
  /** Which usage kind the result came from (set by the dashboard when it merges kinds). */
  kind?: 'completions' | 'embeddings';
}

export interface CostResult {
  object: 'organization.costs.result';
  amount: { value: number; currency: string };
  line_item: string | null;
  project_id: string | null;
}

export interface Bucket<R> {
  object: 'bucket';
  start_time: number;
  end_time: number;
  results: R[];
}

export interface BucketPage<R> {
  object: 'page';
  data: Array<Bucket<R>>;
  has_more: boolean;
  next_page: string | null;
}
