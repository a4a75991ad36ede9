// The Usage and Costs API shapes the Usage page reads: the server's own types (src/contract/usage.ts), imported
// type-only, so a change of the answer fails the dashboard's typecheck instead of drifting. Only the page's own view
// of them is declared here.

import type { CompletionsUsageResult, EmbeddingsUsageResult } from '../../../../src/contract/usage.js';

export type { CostResult, UsageBucket as Bucket, UsagePage as BucketPage } from '../../../../src/contract/usage.js';

/**
 * A completions or embeddings result as the page reads it: an embeddings result has no output or cached tokens, and
 * `kind` says which usage the result came from (set by the page when it merges kinds).
 */
export type UsageResult = (CompletionsUsageResult | (EmbeddingsUsageResult & { output_tokens?: undefined; input_cached_tokens?: undefined })) & {
  kind?: 'completions' | 'embeddings';
};
