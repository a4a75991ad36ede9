// Budget and quota periods, in UTC: calendar day, ISO week (from Monday), calendar month, all time,
// or a rolling window of N days (the sum of the last N day counters).

export type Interval = 'day' | 'week' | 'month' | 'total' | `rolling_${number}d`;

export const INTERVAL_PATTERN = /^(day|week|month|total|rolling_([1-9]|[1-8][0-9]|90)d)$/;

const DAY = 86_400_000;

function dayKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Days of a rolling interval, or null. */
export function rollingDays(interval: Interval): number | null {
  const m = /^rolling_(\d+)d$/.exec(interval);
  return m ? Number(m[1]) : null;
}

/** The counter keys of the period containing `now`: the first is the one charged, all are summed. */
export function periodKeys(interval: Interval, now: number): string[] {
  const rolling = rollingDays(interval);
  if (rolling) return Array.from({ length: rolling }, (_, i) => `d${dayKey(now - i * DAY)}`);
  switch (interval) {
    case 'day':
      return [`d${dayKey(now)}`];
    case 'week':
      return [`w${dayKey(periodStart('week', now))}`];
    case 'month':
      return [`m${dayKey(now).slice(0, 7)}`];
    default:
      return ['total'];
  }
}

/** Start (ms) of the period containing `now` (for a rolling window: the start of its oldest day). */
export function periodStart(interval: Interval, now: number): number {
  const d = new Date(now);
  const startOfDay = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  const rolling = rollingDays(interval);
  if (rolling) return startOfDay - (rolling - 1) * DAY;
  switch (interval) {
    case 'day':
      return startOfDay;
    case 'week':
      return startOfDay - ((d.getUTCDay() + 6) % 7) * DAY;
    case 'month':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    default:
      return 0;
  }
}

/** Start (ms) of each key's own slice, for seeding counters from stored usage. */
export function keyRange(key: string): { start: number; end: number } {
  if (key === 'total') return { start: 0, end: Number.MAX_SAFE_INTEGER };
  const kind = key[0];
  const rest = key.slice(1);
  if (kind === 'd') {
    const s = Date.parse(`${rest}T00:00:00Z`);
    return { start: s, end: s + DAY };
  }
  if (kind === 'w') {
    const s = Date.parse(`${rest}T00:00:00Z`);
    return { start: s, end: s + 7 * DAY };
  }
  const [y, m] = rest.split('-').map(Number);
  return { start: Date.UTC(y, m - 1, 1), end: Date.UTC(y, m, 1) };
}

/**
 * Seconds the counter key of a period ending at `end` (ms) must live while a window of `windowKeys` such keys reads it
 * (a rolling N-day window sums its last N days: a day's key is read for N - 1 days past its end). Found by an outside
 * review: a past day of a rolling_7d budget expired a day after it ended and was seeded again from the database
 * every minute on the request path.
 */
export function windowKeyTtlSeconds(end: number, windowKeys: number, now: number): number {
  return ttlSecondsUntil(end === Number.MAX_SAFE_INTEGER ? end : end + Math.max(0, windowKeys - 1) * DAY, now);
}

/** Seconds a counter key of a period ending at `end` (ms) must live: until then plus a day of slack; 0 for ever. */
export function ttlSecondsUntil(end: number, now: number): number {
  if (end === Number.MAX_SAFE_INTEGER) return 0;
  return Math.max(60, Math.ceil((end - now) / 1000) + 86_400);
}
