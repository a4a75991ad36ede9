// When a webhook delivery that failed is tried again: after 1 s, 4 s, 16 s, 1 min, 5 min, 30 min, 1 h, 2 h, 4 h, 8 h
// and 8 h, so that an endpoint down for most of a day still gets the event (Stripe retries for days, OpenAI for 72 h;
// an alert about a leaked key is of little use later than that). The last attempt is about 23 h 36 min after the first.

/** The waits after each failed attempt, in milliseconds: twelve attempts in all. */
export const WEBHOOK_RETRY_SCHEDULE_MS: readonly number[] = Object.freeze([
  1_000, 4_000, 16_000, 60_000, 300_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000, 28_800_000,
]);

/**
 * When the next attempt is due after `failed` attempts failed (the last at `nowMs`), or null when the schedule is
 * spent and the delivery is given up.
 */
export function nextWebhookAttemptAt(schedule: readonly number[], failed: number, nowMs: number): number | null {
  const wait = schedule[failed - 1];
  return wait === undefined ? null : nowMs + wait;
}
