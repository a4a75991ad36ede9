// The Usage and Costs API shapes the Usage page reads: the server's own types (src/contract/usage.ts), imported
// type-only, so a change of the answer fails the dashboard's typecheck instead of drifting. Only the page's own view
// of them is declared here.

import type {
  AudioSpeechesUsageResult,
  AudioTranscriptionsUsageResult,
  CompletionsUsageResult,
  EmbeddingsUsageResult,
  ImagesUsageResult,
} from '../../../../src/contract/usage.js';

export type { CostResult, UsageBucket as Bucket, UsagePage as BucketPage } from '../../../../src/contract/usage.js';

/** The usage kinds Tollgate meters (its other Usage API kinds always answer empty buckets: docs/usage-api.md). */
export const METERED_USAGE_KINDS = ['completions', 'embeddings', 'images', 'audio_speeches', 'audio_transcriptions'] as const;
export type UsageKind = (typeof METERED_USAGE_KINDS)[number];

/** Token fields a kind billed by images, characters or seconds does not report (its usage result has none). */
type NoTokens = { input_tokens?: undefined; output_tokens?: undefined; input_cached_tokens?: undefined };

/**
 * A usage result of any metered kind as the page reads it: only completions report output and cached tokens, and
 * images, speech and transcriptions no tokens at all; `kind` says which usage the result came from (set by the page
 * when it merges kinds).
 */
export type UsageResult = (
  | CompletionsUsageResult
  | (EmbeddingsUsageResult & Omit<NoTokens, 'input_tokens'>)
  | (ImagesUsageResult & NoTokens)
  | (AudioSpeechesUsageResult & NoTokens)
  | (AudioTranscriptionsUsageResult & NoTokens)
) & {
  kind?: UsageKind;
};

/** A cost of the Costs API by project, key and model (its line item's model), in USD. */
export interface CostRow {
  project_id: string | null;
  api_key_id: string | null;
  model: string | null;
  cost_usd: number;
}
