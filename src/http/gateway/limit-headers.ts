import type { ApiFormat } from '../../core/anthropic-errors.js';
import { TollgateError } from '../../core/errors.js';
import type { LimitLevel, LimitState } from '../../core/limit-state.js';
import type { Admission } from '../../core/request-guard.js';

// Tollgate's limits in the header names of the client's API. OpenAI's `x-ratelimit-*` (resets as durations, `1m0s`)
// are made with every decision (services/limits-guard.ts) and go on every answer under limits, Tollgate's own errors
// after admission included (withAdmissionHeaders). Anthropic's clients
// read `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}`, the reset an RFC 3339 time
// (https://docs.anthropic.com/en/api/rate-limits): those are added to Anthropic-format answers only, so that OpenAI's
// answers cost what they did. Tollgate's TPM counts input and output together: Anthropic's `tokens` names, not its
// `input-tokens`/`output-tokens` ones. OpenAI's names stay on Anthropic's answers too, for clients that read both.

/** An RFC 3339 time, in whole seconds rounded up (a client waiting until then finds the limit whole), as Anthropic's. */
function rfc3339(ms: number): string {
  return `${new Date(Math.ceil(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

function addLevel(h: Record<string, string>, kind: 'requests' | 'tokens', level: LimitLevel | null): void {
  if (level === null) return;
  h[`anthropic-ratelimit-${kind}-limit`] = String(level.limit);
  h[`anthropic-ratelimit-${kind}-remaining`] = String(level.remaining);
  h[`anthropic-ratelimit-${kind}-reset`] = rfc3339(level.resetAtMs);
}

/** Anthropic's rate-limit headers for where a request stands. */
export function anthropicLimitHeaders(state: LimitState): Record<string, string> {
  const h: Record<string, string> = {};
  addLevel(h, 'requests', state.requests);
  addLevel(h, 'tokens', state.tokens);
  return h;
}

/** The limit headers of an admitted request's answer in the client's API (`format`). */
export function admissionHeaders(admission: Admission, format: ApiFormat | undefined): Record<string, string> {
  if (format !== 'anthropic' || admission.limitState === undefined) return admission.headers;
  return { ...admission.headers, ...anthropicLimitHeaders(admission.limitState()) };
}

/**
 * `err`, answered by Tollgate after `admission` let its request through (an upstream that reset, refused the
 * connection, timed out, broke off; an open breaker), with the admission's limit headers, as every answer under
 * limits: they were missing from those answers alone (found by a review). Its own headers (retry-after,
 * x-should-retry) are kept; to an Anthropic client (`format`), Anthropic's names are made from the `limitState` it is
 * given when it is answered (respond.ts).
 */
export function withAdmissionHeaders<E>(err: E, admission: Admission, format: ApiFormat | undefined): E {
  if (!(err instanceof TollgateError)) return err;
  const { headers } = admission;
  for (const name in headers) if (!(name in err.headers)) err.headers[name] = headers[name];
  if (format === 'anthropic' && err.limitState === undefined && admission.limitState !== undefined) err.limitState = admission.limitState();
  return err;
}
