import { type GcraDecision, gcra, gcraAdjust, gcraStanding } from '../core/gcra.js';
import type { MaybePromise } from '../core/maybe-promise.js';
import type { AcquireOutcome, CounterAdjust, CounterCheck, LimitStore, RateAdjust, RateCheck, SettledCounters } from '../core/limit-store.js';

/**
 * The single-instance limit store: plain maps, decided synchronously, so concurrent requests in one process
 * cannot interleave between check and charge. Expired entries are swept now and then.
 */
export class MemoryLimitStore implements LimitStore {
  private readonly tats = new Map<string, { tat: number; expires: number }>();
  /** Each counter's value, and of it what requests in flight reserved (CounterCheck `reserves`). */
  private readonly counters = new Map<string, { value: number; reserved: number; expires: number }>();
  private lastSweep = 0;
  /**
   * How many times the store was emptied (reset): a settle of a request admitted before the last emptying is skipped.
   * The counters and buckets it held were forgotten, and those of the same keys now were counted afresh (from stored
   * usage) without its reservation: its settle gave them back a reservation they never held (found by an outside review:
   * $1.79 left of a $1 limit, when a request of one Redis outage settled after the next one).
   */
  private resets = 0;

  /**
   * Decided at once (no promise): plain loops, and entries updated in place, since this runs for every request of a
   * key with limits.
   */
  acquire(rates: RateCheck[], counters: CounterCheck[], nowMs: number): AcquireOutcome {
    this.sweep(nowMs);
    let missing: string[] | null = null;
    for (const c of counters) {
      for (const k of c.keys) {
        if (this.counters.has(k)) continue;
        if (!missing) missing = [];
        missing.push(k);
      }
    }
    let allowed = true;
    const decisions: GcraDecision[] = new Array(rates.length);
    for (let i = 0; i < rates.length; i++) {
      const r = rates[i];
      const entry = this.tats.get(r.key);
      // A seedable bucket never seen since the start (or unused for a whole period) is rebuilt from stored usage first.
      if (!entry && r.seedable) {
        if (!missing) missing = [];
        missing.push(r.key);
        continue;
      }
      decisions[i] = gcra(r, entry?.tat ?? 0, r.cost, nowMs);
      if (!decisions[i].allowed) allowed = false;
    }
    if (missing) return { allowed: false, missing, rates: [], counters: [] };
    const counterResults: AcquireOutcome['counters'] = new Array(counters.length);
    for (let i = 0; i < counters.length; i++) {
      const c = counters[i];
      let sum = 0;
      let inFlight = 0;
      for (const k of c.keys) {
        const entry = this.counters.get(k);
        if (!entry) continue;
        sum += entry.value;
        inFlight += entry.reserved;
      }
      counterResults[i] = { allowed: sum + c.amount <= c.cap, used: sum, inFlight };
      if (!counterResults[i].allowed) allowed = false;
    }
    if (!allowed) {
      // Charged nowhere: a bucket that would have let it through reports its state as it stands.
      for (let i = 0; i < rates.length; i++) {
        if (decisions[i].allowed) decisions[i] = gcraStanding(rates[i], this.tats.get(rates[i].key)?.tat ?? 0, nowMs);
      }
    } else {
      for (let i = 0; i < rates.length; i++) {
        const r = rates[i];
        const tat = decisions[i].tat;
        const expires = r.seedable ? Math.max(tat, nowMs + r.periodMs) + 1000 : tat + 1000;
        const entry = this.tats.get(r.key);
        if (entry) {
          entry.tat = tat;
          entry.expires = expires;
        } else this.tats.set(r.key, { tat, expires });
      }
      for (let i = 0; i < counters.length; i++) {
        const c = counters[i];
        const expires = c.ttlSec ? nowMs + c.ttlSec * 1000 : Number.POSITIVE_INFINITY;
        const reserved = c.reserves ? c.amount : 0;
        const entry = this.counters.get(c.keys[0]);
        if (entry) {
          entry.value += c.amount;
          entry.reserved += reserved;
          entry.expires = expires;
        } else this.counters.set(c.keys[0], { value: c.amount, reserved, expires });
        counterResults[i].used += c.amount;
        counterResults[i].inFlight = (counterResults[i].inFlight ?? 0) + reserved;
      }
    }
    return { allowed, rates: decisions, counters: counterResults, generation: this.resets };
  }

  get generation(): number {
    return this.resets;
  }

  /** Applied at once; typed as the port's answer, so that a store built on this one may answer later. */
  adjust(
    rates: RateAdjust[],
    counters: CounterAdjust[],
    nowMs: number,
    generation = this.resets,
  ): MaybePromise<SettledCounters | undefined> {
    if (generation !== this.resets) return counters.map(() => null);
    for (const r of rates) {
      const entry = this.tats.get(r.key);
      if (!entry && r.seedable) continue;
      const tat = gcraAdjust(r, entry?.tat ?? nowMs, r.delta, nowMs);
      const expires = r.seedable ? Math.max(tat, nowMs + r.periodMs) + 1000 : tat + 1000;
      if (entry) {
        entry.tat = tat;
        entry.expires = expires;
      } else this.tats.set(r.key, { tat, expires });
    }
    // A counter no longer held (its period swept) is left alone: it is seeded again from stored usage if ever needed.
    const settled: SettledCounters = new Array(counters.length);
    for (let i = 0; i < counters.length; i++) {
      const c = counters[i];
      const entry = this.counters.get(c.key);
      settled[i] = null;
      if (!entry) continue;
      entry.value += c.delta;
      if (c.release) entry.reserved = Math.max(0, entry.reserved - c.release);
      let spent = 0;
      for (const k of c.keys ?? [c.key]) {
        const held = this.counters.get(k);
        if (held) spent += held.value - held.reserved;
      }
      settled[i] = spent;
    }
    return settled;
  }

  async seedCounter(key: string, value: number, ttlSec: number, nowMs: number): Promise<void> {
    if (!this.counters.has(key)) this.counters.set(key, { value, reserved: 0, expires: ttlSec ? nowMs + ttlSec * 1000 : Number.POSITIVE_INFINITY });
  }

  async seedRate(key: string, tat: number, periodMs: number, nowMs: number): Promise<void> {
    if (!this.tats.has(key)) this.tats.set(key, { tat, expires: Math.max(tat, nowMs + periodMs) + 1000 });
  }

  reset(): void {
    this.resets++;
    this.tats.clear();
    this.counters.clear();
  }

  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweep < 60_000) return;
    this.lastSweep = nowMs;
    for (const [k, v] of this.tats) if (v.expires < nowMs) this.tats.delete(k);
    for (const [k, v] of this.counters) if (v.expires < nowMs) this.counters.delete(k);
  }

  async close(): Promise<void> {}
}
