import { gcra, gcraAdjust } from '../core/gcra.js';
import type { AcquireOutcome, CounterCheck, LimitStore, RateCheck } from '../core/limit-store.js';

/**
 * The single-instance limit store: plain maps, decided synchronously, so concurrent requests in one process
 * cannot interleave between check and charge. Expired entries are swept now and then.
 */
export class MemoryLimitStore implements LimitStore {
  private readonly tats = new Map<string, { tat: number; expires: number }>();
  private readonly counters = new Map<string, { value: number; expires: number }>();
  private lastSweep = 0;

  async acquire(rates: RateCheck[], counters: CounterCheck[], nowMs: number): Promise<AcquireOutcome> {
    return this.acquireSync(rates, counters, nowMs);
  }

  /** Synchronous core of acquire (exported for tests of exactness). */
  acquireSync(rates: RateCheck[], counters: CounterCheck[], nowMs: number): AcquireOutcome {
    this.sweep(nowMs);
    const missing = counters.flatMap((c) => c.keys.filter((k) => !this.counters.has(k)));
    if (missing.length > 0) return { allowed: false, missing, rates: [], counters: [] };
    const decisions = rates.map((r) => gcra(r, this.tats.get(r.key)?.tat ?? 0, r.cost, nowMs));
    const sums = counters.map((c) => c.keys.reduce((s, k) => s + (this.counters.get(k)?.value ?? 0), 0));
    const counterResults = counters.map((c, i) => ({ allowed: sums[i] + c.amount <= c.cap, used: sums[i] }));
    const allowed = decisions.every((d) => d.allowed) && counterResults.every((c) => c.allowed);
    if (allowed) {
      rates.forEach((r, i) => {
        this.tats.set(r.key, { tat: decisions[i].tat, expires: decisions[i].tat + 1000 });
      });
      counters.forEach((c, i) => {
        const k = c.keys[0];
        const prev = this.counters.get(k);
        this.counters.set(k, { value: (prev?.value ?? 0) + c.amount, expires: c.ttlSec ? nowMs + c.ttlSec * 1000 : Number.POSITIVE_INFINITY });
        counterResults[i].used = sums[i] + c.amount;
      });
    }
    return { allowed, rates: decisions, counters: counterResults };
  }

  async adjust(
    rates: Array<{ key: string; limit: number; periodMs: number; delta: number }>,
    counters: Array<{ key: string; delta: number; ttlSec: number }>,
    nowMs: number,
  ): Promise<void> {
    for (const r of rates) {
      const tat = gcraAdjust(r, this.tats.get(r.key)?.tat ?? nowMs, r.delta, nowMs);
      this.tats.set(r.key, { tat, expires: tat + 1000 });
    }
    for (const c of counters) {
      const prev = this.counters.get(c.key);
      this.counters.set(c.key, { value: (prev?.value ?? 0) + c.delta, expires: prev?.expires ?? (c.ttlSec ? nowMs + c.ttlSec * 1000 : Number.POSITIVE_INFINITY) });
    }
  }

  async seedCounter(key: string, value: number, ttlSec: number, nowMs: number): Promise<void> {
    if (!this.counters.has(key)) this.counters.set(key, { value, expires: ttlSec ? nowMs + ttlSec * 1000 : Number.POSITIVE_INFINITY });
  }

  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweep < 60_000) return;
    this.lastSweep = nowMs;
    for (const [k, v] of this.tats) if (v.expires < nowMs) this.tats.delete(k);
    for (const [k, v] of this.counters) if (v.expires < nowMs) this.counters.delete(k);
  }

  async close(): Promise<void> {}
}
