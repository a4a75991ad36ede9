import type { GcraDecision } from './gcra.js';
import type { MaybePromise } from './maybe-promise.js';

// The port behind rate limits, quotas and budgets: in process by default, Redis when several instances share limits.
// One `acquire` decides every limit of a request atomically: all are charged, or none.

export interface RateCheck {
  key: string;
  limit: number;
  periodMs: number;
  cost: number;
  /**
   * Whether a bucket the store does not hold is reported `missing` (to be rebuilt from stored usage) rather than
   * started full: set for RPD, whose day a restart would otherwise hand out again. A store keeps such a bucket a whole
   * period after its last use, so that it is rebuilt once per start, not each time it refills.
   */
  seedable?: boolean;
}

export interface CounterCheck {
  /** Counter keys summed against the cap; the first one is charged. */
  keys: string[];
  cap: number;
  amount: number;
  ttlSec: number;
  /**
   * Whether `amount` is a reservation settled later (a budget's): counted among the counter's reservations in flight
   * until its settle releases it, so that a refusal can tell whether anything in flight may still make room. A quota's
   * place is kept whatever the outcome: not one.
   */
  reserves?: boolean;
}

export interface AcquireOutcome {
  allowed: boolean;
  /**
   * Counter keys and seedable rate keys the store does not hold (a new period, a restarted store): nothing was
   * charged; the caller seeds them from stored usage and asks again. Found inside the same atomic step, so no extra
   * round trip per request.
   */
  missing?: string[];
  rates: GcraDecision[];
  /**
   * Per counter: the sum after charging (or the current sum when refused), and whether it fitted; for a charged
   * counter of a store that can lose counters (Redis), its `epoch`: which life of the counter (from one seeding to its
   * loss) holds the reservation, which a settle names so that it never moves a counter seeded again since.
   */
  counters: Array<{
    allowed: boolean;
    used: number;
    epoch?: string;
    /**
     * Of `used`, what requests admitted and not yet settled reserved (this one's included when charged): what their
     * settles may still give back. Absent when the store cannot tell.
     */
    inFlight?: number;
  }>;
  /**
   * For a store that is emptied at times (`reset`: the in-process store used while Redis fails), which emptying the
   * decision was made after; a settle names it, so that it moves nothing the store holds from a later one.
   */
  generation?: number;
}

/**
 * A settle of a rate bucket: moved by `delta` units. A `seedable` one (RPD, RateCheck) the store does not hold is left
 * alone (it is rebuilt from stored usage, which the settled request is in as it was recorded), and one it holds is kept
 * a period after `nowMs`, as an acquire keeps it.
 */
export interface RateAdjust {
  key: string;
  limit: number;
  periodMs: number;
  delta: number;
  seedable?: boolean;
}

/** A settle of a counter: `delta` applied only while the counter the store holds is the one charged (`epoch`). */
export interface CounterAdjust {
  key: string;
  delta: number;
  ttlSec: number;
  epoch?: string;
  /** The reservation (CounterCheck `reserves`) the settled request held, no longer in flight; with the same epoch rule. */
  release?: number;
  /** Every key the counter sums (a rolling window's days, `key` first), for its settled spend (SettledCounters); `[key]` when absent. */
  keys?: string[];
}

/**
 * Per counter of an adjust (in its order): what the counter's keys hold once it is applied, less what requests still in
 * flight reserved there: the spend settled, which budget alerts are told of (the sum an admission sees holds other
 * requests' reservations: a $5 alert told "spent $6" of $0.00015 spent, found by a review). Null for a counter the
 * adjust left alone (not held, or from another seeding or generation).
 */
export type SettledCounters = Array<number | null>;

/**
 * The failure of an acquire that a shared store was sent and did not answer (it timed out, or its connection was
 * lost): it may have run, or may still run later, when a Redis that hung thaws. `cancel` undoes it in either order:
 * it gives back what the acquire charged if it ran, and makes it charge nothing if it runs afterwards. Whoever gives
 * up on the acquire calls `cancel`, again until it succeeds (it is applied once); left alone, a request refused or
 * admitted elsewhere stayed charged in full (found by an outside review: a $1 budget charged $0.25 by six 503s).
 */
export class UnansweredAcquire extends Error {
  constructor(
    cause: unknown,
    readonly cancel: (nowMs: number) => Promise<void>,
  ) {
    super(`limit store gave no answer: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'UnansweredAcquire';
  }
}

export interface LimitStore {
  /**
   * The decision at once from a store in process (no trip through the microtask queue per request), later from Redis.
   * A shared store that may have run an acquire it did not answer rejects with `UnansweredAcquire`.
   */
  acquire(rates: RateCheck[], counters: CounterCheck[], nowMs: number): MaybePromise<AcquireOutcome>;
  /**
   * Settles estimates: moves rate buckets by `delta` units and counters by `delta`; `nowMs` from the injected clock. A
   * counter the store no longer holds, or holds from a later seeding than the settle's `epoch`, is left alone: it is
   * counted again from stored usage, which a settle of a reservation it never held must not move (a counter made
   * from a negative settle was never seeded again, and handed its whole period's spend back). On the shared store a
   * settle is applied once: given again (the same `rates` list: the guard's retry of one whose reply was lost, which
   * the store may have applied) it is skipped. The in-process store never fails a settle, so is never given one again;
   * it skips one whose `generation` (the admission's, AcquireOutcome) is not its own: every bucket and counter the
   * request held was forgotten since, and those it holds now were counted afresh without it. Answers each counter's
   * settled spend after it (SettledCounters), or undefined for a settle skipped as applied already.
   */
  adjust(
    rates: RateAdjust[],
    counters: CounterAdjust[],
    nowMs: number,
    generation?: number,
  ): MaybePromise<SettledCounters | undefined>;
  /** Sets a counter from stored usage the first time it is needed (no-op when present); `nowMs` from the injected clock. */
  seedCounter(key: string, value: number, ttlSec: number, nowMs: number): Promise<void>;
  /** Sets a seedable rate bucket's state rebuilt from stored usage (no-op when present), kept a period after `nowMs`. */
  seedRate(key: string, tat: number, periodMs: number, nowMs: number): Promise<void>;
  /**
   * For readiness: resolves when the shared store answers (Redis), absent for the in-process store, which is always
   * there. The check is reported under `name`.
   */
  readonly health?: { name: string; ping(): Promise<unknown> };
  /**
   * For start-up: resolves true once the shared store (Redis) is connected, false when it is not within `timeoutMs`
   * (the instance then starts anyway, unready, and the failure modes apply). Absent for the in-process store.
   */
  connected?(timeoutMs: number): Promise<boolean>;
  /**
   * For a shared store (Redis): how many times it has come back (connected again, or answered after failing). What the
   * local store counted while it was out is truth only until then: a later outage starts it afresh.
   */
  recoveries?(): number;
  /**
   * For a shared store (Redis): drops counters (with their epochs and reservations in flight) and buckets, so that the
   * next decision finds them missing and they are counted again from stored usage. Used once the store answers again
   * after an outage, for what the local store charged meanwhile, which the shared store's own counts never saw.
   */
  forget?(counterKeys: string[], rateKeys: string[]): Promise<void>;
  /**
   * Forgets every bucket and counter (the in-process store used as the fallback, when a new outage begins), and starts
   * a new generation: settles of the requests admitted before move nothing.
   */
  reset?(): void;
  /** The store's generation now (the number of its resets), for a store that has them: what AcquireOutcome names. */
  readonly generation?: number;
  close(): Promise<void>;
}
