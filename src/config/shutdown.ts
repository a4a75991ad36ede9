import { MAX_TIMER_MS } from './config.js';

// How a SIGTERM ends (server.ts, main.ts): requests get TOLLGATE_SHUTDOWN_GRACE_MS, then their connections are cut;
// requests cut so are metered once their relay has ended (a stream's delivered text counted by the tokenizer), and
// the shutdown waits for that before the usage recorder stops; then the flush (or its spill to disk) and the closing
// of pools and the database. A shutdown still unfinished past all of it is forced (exit 1).

/**
 * After the grace: how long requests whose connections were cut (and answers read on without their client, aborted)
 * get to be metered. One metered later still is put in the usage log at once, for the next start (usage-recorder.ts).
 */
export const SHUTDOWN_SETTLE_MS = 3_000;

/**
 * Of the flush's time below: how long the requests still under way after the settling, their sends to the providers
 * aborted then, get to fail and give back their reservations; and again how long the settles sent to a shared limit
 * store (Redis) get to land before it is closed.
 */
export const SHUTDOWN_ABORT_MS = 1_000;

/** After the settling: what the usage flush (or its spill to disk) and the closing of pools and the database get. */
export const SHUTDOWN_FLUSH_MS = 5_000;

/**
 * When main.ts forces a shutdown still unfinished (exit 1): after the grace, the settling and the flush, within a Node
 * timer's range. A fixed 15 s cut a longer grace short, its streams unbilled (found by a durability review).
 */
export function forcedExitAfterMs(graceMs: number): number {
  return Math.min(MAX_TIMER_MS, graceMs + SHUTDOWN_SETTLE_MS + SHUTDOWN_FLUSH_MS);
}
