import type { Interval } from './periods.js';

/** Limits set on one key (the same shapes as OpenAI's project limits, plus request quotas). */
export interface KeyLimits {
  rate_limits?: {
    max_requests_per_1_minute?: number | null;
    max_tokens_per_1_minute?: number | null;
    max_requests_per_1_day?: number | null;
  } | null;
  /** Money cap in cents per interval. */
  spend_limit?: { threshold_amount: number; interval?: Interval } | null;
  request_quota?: { max_requests: number; interval?: 'day' | 'month' | 'total' } | null;
}

/** Whether any limit is set. */
export function hasLimits(l: KeyLimits | null | undefined): boolean {
  if (!l) return false;
  const r = l.rate_limits;
  return !!(r && (r.max_requests_per_1_minute || r.max_tokens_per_1_minute || r.max_requests_per_1_day)) || !!l.spend_limit || !!l.request_quota;
}
