// OpenAI's project.rate_limit as Tollgate shows it: one object per model the project can use (OpenAI lists one per
// model), whether a limit is set for it or not. The spec requires `max_requests_per_1_minute` and
// `max_tokens_per_1_minute` to be integers, so "no limit at this level" is shown as RATE_LIMIT_UNLIMITED; the
// optional dimensions are left out when unset (the spec: "only present for relevant models").

/** "No project limit" where the spec requires an integer: the largest integer JSON carries exactly (2^53 − 1). */
export const RATE_LIMIT_UNLIMITED = Number.MAX_SAFE_INTEGER;

/** Every dimension of a project.rate_limit, in the spec's order. */
export const RATE_LIMIT_FIELDS = [
  'max_requests_per_1_minute',
  'max_tokens_per_1_minute',
  'max_images_per_1_minute',
  'max_audio_megabytes_per_1_minute',
  'max_requests_per_1_day',
  'batch_1_day_max_input_tokens',
] as const;

export type RateLimitField = (typeof RATE_LIMIT_FIELDS)[number];

/** The dimensions the gateway enforces (the others are stored and shown: docs/admin-api.md). */
export const ENFORCED_RATE_LIMIT_FIELDS: readonly RateLimitField[] = ['max_requests_per_1_minute', 'max_tokens_per_1_minute', 'max_requests_per_1_day'];

/** The id of a model's rate limit before any is stored (`rl-gpt-4o`, as OpenAI names them). */
export function modelRateLimitId(model: string): string {
  return `rl-${model}`;
}

/** The model a model-named rate limit id names, or null when the id is not one. */
export function modelOfRateLimitId(id: string): string | null {
  return id.startsWith('rl-') && id.length > 3 ? id.slice(3) : null;
}

export interface RateLimitModelSources {
  providers: ReadonlyArray<{ models: readonly string[] | null }>;
  aliases: Readonly<Record<string, string>>;
  prices: Readonly<Record<string, unknown>>;
}

/** The built-in model, the only one that answers when no provider is configured (providers/echo.ts). */
const ECHO_MODEL = 'tollgate-echo';

/**
 * The models a project can use on this instance, sorted: the echo model when no provider is configured; else the
 * models the providers declare and the aliases, and, when a provider declares none (it takes any model: the default
 * `openai` one), the price table's models too.
 */
export function rateLimitModels(sources: RateLimitModelSources): string[] {
  if (sources.providers.length === 0) return [ECHO_MODEL];
  const out = new Set<string>();
  for (const p of sources.providers) for (const m of p.models ?? []) out.add(m);
  for (const alias of Object.keys(sources.aliases)) out.add(alias);
  if (sources.providers.some((p) => p.models === null)) for (const m of Object.keys(sources.prices)) if (m !== ECHO_MODEL) out.add(m);
  return [...out].sort();
}
