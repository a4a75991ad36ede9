// GCRA (generic cell rate algorithm), the token bucket expressed as one timestamp per limit: no fixed windows,
// so no 2× burst at a boundary. A limit of N per period admits a burst of N at once, then refills at N per period.
// State: `tat`, the theoretical arrival time (ms) at which the bucket is full again.

export interface BucketSpec {
  limit: number;
  periodMs: number;
}

export interface GcraDecision {
  allowed: boolean;
  /** New state when allowed (unchanged when refused). */
  tat: number;
  /** Units left right after this decision. */
  remaining: number;
  /** Until the bucket is full again (OpenAI's x-ratelimit-reset-*). */
  resetMs: number;
  /** When refused: until this request would be allowed; 0 when allowed. */
  retryAfterMs: number;
}

/** Decides one request of `cost` units against one bucket at time `now` (ms). */
export function gcra(spec: BucketSpec, tat: number, cost: number, now: number): GcraDecision {
  const interval = spec.periodMs / spec.limit;
  const base = Math.max(tat, now);
  const newTat = base + cost * interval;
  const allowAt = newTat - spec.periodMs;
  if (cost > spec.limit || allowAt > now) {
    const used = (base - now) / interval;
    return {
      allowed: false,
      tat,
      remaining: Math.max(0, Math.floor(spec.limit - used)),
      resetMs: Math.max(0, base - now),
      retryAfterMs: cost > spec.limit ? Number.POSITIVE_INFINITY : Math.ceil(allowAt - now),
    };
  }
  return {
    allowed: true,
    tat: newTat,
    remaining: Math.max(0, Math.floor((spec.periodMs - (newTat - now)) / interval + 1e-9)),
    resetMs: Math.max(0, newTat - now),
    retryAfterMs: 0,
  };
}

/** Moves a bucket's state by `delta` units (settling an estimate to the real count); never below `now`. */
export function gcraAdjust(spec: BucketSpec, tat: number, delta: number, now: number): number {
  const interval = spec.periodMs / spec.limit;
  return Math.max(now, tat + delta * interval);
}

/** OpenAI's duration format for reset headers: `20ms`, `1s`, `6m0s`, `1h2m3s`. */
export function formatResetDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  let s = Math.ceil(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h) return `${h}h${m}m${s}s`;
  if (m) return `${m}m${s}s`;
  return `${s}s`;
}
