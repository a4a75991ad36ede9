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

/**
 * The bucket as it stands at `now`, charged nothing: for a request another check refused, whose headers must show the
 * state it left unchanged (remaining as before, the reset of the current state), not the one it would have made.
 */
export function gcraStanding(spec: BucketSpec, tat: number, now: number): GcraDecision {
  // A request of no units, decided: its remaining and reset are the bucket's as it stands (0 left when it owes more
  // than a period, where the decision refuses).
  const d = gcra(spec, tat, 0, now);
  return { ...d, allowed: true, tat, retryAfterMs: 0 };
}

/** Moves a bucket's state by `delta` units (settling an estimate to the real count); never below `now`. */
export function gcraAdjust(spec: BucketSpec, tat: number, delta: number, now: number): number {
  const interval = spec.periodMs / spec.limit;
  return Math.max(now, tat + delta * interval);
}

/** Requests counted in one span of stored usage (an hour of the rollups), and when the span ends (ms). */
export interface UsedSpan {
  endMs: number;
  count: number;
}

/**
 * A bucket's state rebuilt from stored usage, for a store that holds none (the in-process store after a restart, a
 * Redis that lost its data): the requests counted since `fromMs`, in spans (hours of the rollups), replayed through
 * GCRA oldest first. Nothing is known of the requests before `fromMs`, so the bucket is taken as empty then (the most
 * they can have left), each span's requests as arriving together at its end (the latest they can have; never after
 * `nowMs`), and each step stops one period after its arrival, as an admitted request always does. Each of these only
 * raises the state, so it is never looser than the one lost (a key that used its N just before is refused at once),
 * and never tighter than all the counted requests spent at `nowMs` (N used 23 hours ago have mostly refilled).
 */
export function seedTat(spec: BucketSpec, fromMs: number, spans: readonly UsedSpan[], nowMs: number): number {
  const interval = spec.periodMs / spec.limit;
  let tat = Math.min(fromMs + spec.periodMs, nowMs);
  for (const s of [...spans].sort((a, b) => a.endMs - b.endMs)) {
    if (!(s.count > 0)) continue;
    const at = Math.min(s.endMs, nowMs);
    tat = Math.min(Math.max(tat, at) + s.count * interval, at + spec.periodMs);
  }
  return tat;
}

/**
 * The starts (ms) of the UTC-aligned spans of `widthMs` that can hold requests a bucket of `periodMs` still feels at
 * `nowMs`, oldest first: from the span holding `nowMs - periodMs` to the one holding `nowMs`.
 */
export function seedSpanStarts(periodMs: number, widthMs: number, nowMs: number): number[] {
  const out: number[] = [];
  for (let t = Math.floor((nowMs - periodMs) / widthMs) * widthMs; t <= nowMs; t += widthMs) out.push(t);
  return out;
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
