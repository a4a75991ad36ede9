const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/**
 * The first instant (ms, on a minute boundary) whose raw usage events are kept, `days` before `nowMs`; null when they
 * are kept forever. The retention deletes events before it, and minute buckets are answered only from it on: both
 * take it from the same clock, and the deletion's instant is never later than a query's, so a minute bucket that is
 * answered still has every one of its events.
 */
export function rawUsageSince(nowMs: number, days: number | null): number | null {
  if (days === null) return null;
  const since = nowMs - days * DAY_MS;
  return since - (((since % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
}
