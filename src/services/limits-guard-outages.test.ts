import { describe, expect, it } from 'vitest';
import { keyRecord } from '../../test/harness/key-record.js';
import { testGuard } from '../../test/harness/limits-guard.js';
import { type CounterCheck, type RateCheck, UnansweredAcquire } from '../core/limit-store.js';
import { planMetering } from '../core/metering-plan.js';
import { DEFAULT_PRICES } from '../core/pricing.js';
import { MemoryLimitStore } from '../infra/memory-limit-store.js';

// What the guard does when the shared store (Redis) fails, found by an outside review: (1) an acquire Redis did not
// answer may still run there (a Redis that hung thaws), charging a request the guard refused or admitted on the local
// store: the guard cancels it; (2) what the local store counted in one outage was taken as truth in the next, though
// the key had used Redis between them: the local store starts afresh when an outage begins after Redis came back.
// (test/redis-outages.test.ts runs both against a real Redis.)

const NOW = Date.parse('2026-03-01T10:00:00Z');
const BODY = { messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 };
const input = (limits: object) => ({
  record: keyRecord({ limits }),
  model: 'gpt-4o',
  endpoint: '/chat/completions',
  body: BODY,
  plan: planMetering({ method: 'POST', endpoint: '/chat/completions', body: BODY, form: null, model: 'gpt-4o', bodyBytes: 0, prices: DEFAULT_PRICES, defaultPrice: null }),
  nowMs: NOW,
});

/** A shared store that fails every acquire with `failure()`, and has come back `comebacks` times. */
class FailingStore extends MemoryLimitStore {
  comebacks = 0;
  constructor(private readonly failure: () => Error) {
    super();
  }
  override acquire(): never {
    throw this.failure();
  }
  recoveries(): number {
    return this.comebacks;
  }
}

describe('LimitsGuard when the shared store fails', () => {
  it('cancels an acquire the shared store did not answer, and tries the cancel again until it lands', async () => {
    const cancels: number[] = [];
    const shared = new FailingStore(
      () =>
        new UnansweredAcquire(new Error('Command timed out'), async (nowMs) => {
          cancels.push(nowMs);
          if (cancels.length === 1) throw new Error('Command timed out');
        }),
    );
    const guard = testGuard({ clock: () => NOW }, shared, undefined, { localStore: new MemoryLimitStore() });
    // Rate limits fail open: the request is admitted on the local store, and its acquire on Redis cancelled.
    const admission = await guard.admit(input({ rate_limits: { max_requests_per_1_minute: 10 } }));
    expect(admission.headers['x-ratelimit-remaining-requests']).toBe('9');
    await Promise.resolve();
    expect(cancels).toEqual([NOW]);
    expect(guard.pendingSettles).toBe(1);
    await guard.retrySettles();
    expect(cancels).toEqual([NOW, NOW]);
    expect(guard.pendingSettles).toBe(0);
  });

  it('decides on a local store emptied at each new outage (the shared store came back since), kept through one outage', async () => {
    const shared = new FailingStore(() => new Error('connection refused'));
    const guard = testGuard({ clock: () => NOW }, shared, undefined, { localStore: new MemoryLimitStore() });
    const remaining = async () => (await guard.admit(input({ rate_limits: { max_requests_per_1_minute: 3 } }))).headers['x-ratelimit-remaining-requests'];
    expect([await remaining(), await remaining()]).toEqual(['2', '1']);
    shared.comebacks++;
    // A second outage: the minute is counted afresh on the local store (with a day's limit, from stored usage).
    expect([await remaining(), await remaining()]).toEqual(['2', '1']);
  });
});

/** A memory store with every counter present (seeded at 0 when missing, as stored usage with nothing recorded would). */
class SeededStore extends MemoryLimitStore {
  override acquire(rates: RateCheck[], counters: CounterCheck[], nowMs: number) {
    for (const c of counters) for (const k of c.keys) void this.seedCounter(k, 0, 0, nowMs);
    return super.acquire(rates, counters, nowMs);
  }
  /** A counter's value (nano-dollars, or requests for a quota). */
  counter(key: string): number {
    return super.acquire([], [{ keys: [key], cap: Number.MAX_SAFE_INTEGER, amount: 0, ttlSec: 60 }], NOW).counters[0].used;
  }
}

/** A shared store that fails every call while `down`, and has come back `comebacks` times. */
class ToggledStore extends SeededStore {
  down = false;
  comebacks = 0;
  override acquire(rates: RateCheck[], counters: CounterCheck[], nowMs: number) {
    if (this.down) throw new Error('connection refused');
    return super.acquire(rates, counters, nowMs);
  }
  override adjust(...args: Parameters<MemoryLimitStore['adjust']>) {
    if (this.down) throw new Error('connection refused');
    return super.adjust(...args);
  }
  recoveries(): number {
    return this.comebacks;
  }
}

const DAY_BUDGET = 's:k:key_1:d2026-03-01';
// 400 characters of prompt and up to 1,000 tokens of answer: a reservation of ~$0.01 on gpt-4o.
const LONG = { messages: [{ role: 'user', content: 'x'.repeat(400) }], max_tokens: 1000 };
const chat = (limits: object, model = 'gpt-4o') => ({
  record: keyRecord({ limits }),
  model,
  endpoint: '/chat/completions',
  body: LONG,
  plan: planMetering({ method: 'POST', endpoint: '/chat/completions', body: LONG, form: null, model, bodyBytes: 0, prices: DEFAULT_PRICES, defaultPrice: null }),
  nowMs: NOW,
});
const SPENT = { tokens: { input: 100, cached: 0, output: 10 }, costNanoUsd: 1000, billable: true };
const NOTHING = { tokens: { input: 0, cached: 0, output: 0 }, costNanoUsd: 0, billable: false };

function outages() {
  const shared = new ToggledStore();
  const local = new SeededStore();
  const guard = testGuard({ clock: () => NOW }, shared, undefined, { localStore: local, budgetFailure: 'open' });
  return { shared, local, guard };
}

// A request admitted on the local store in one outage and settled after the next outage emptied it (and its counters
// were seeded again from stored usage, which never held that request's reservation) gave the counter back its whole
// reservation: $1.79 left of a $1 limit (found by an outside review). Redis's counters have an epoch for this.
describe('LimitsGuard settles nothing onto a local store emptied since the request was admitted', () => {
  const budget = { spend_limit: { threshold_amount: 100, interval: 'day' } };

  it('leaves a budget counter seeded again at the next outage as it was', async () => {
    const { shared, local, guard } = outages();
    shared.down = true;
    const before = await guard.admit(chat(budget));
    expect(local.counter(DAY_BUDGET)).toBeGreaterThan(1_000_000);
    shared.comebacks++;
    // The next outage: the local store starts afresh, its counter seeded again (at 0 here) for this request.
    const during = await guard.admit(chat(budget));
    const held = local.counter(DAY_BUDGET);
    expect(held).toBeGreaterThan(1_000_000);
    before.settle(SPENT);
    expect(local.counter(DAY_BUDGET)).toBe(held);
    during.settle(SPENT);
    expect(local.counter(DAY_BUDGET)).toBe(1000);
  });

  it('leaves a TPM bucket started afresh at the next outage as it was', async () => {
    const { shared, guard } = outages();
    const tpm = { rate_limits: { max_tokens_per_1_minute: 100_000 } };
    const remaining = (a: { headers: Record<string, string> }) => Number(a.headers['x-ratelimit-remaining-tokens']);
    shared.down = true;
    const before = await guard.admit(chat(tpm));
    const estimate = 100_000 - remaining(before);
    expect(estimate).toBeGreaterThan(0);
    shared.comebacks++;
    const during = await guard.admit(chat(tpm));
    expect(remaining(during)).toBe(100_000 - estimate);
    before.settle(NOTHING);
    // Given back there, the first request's estimate freed the second's: the third saw only itself counted.
    expect(remaining(await guard.admit(chat(tpm)))).toBe(100_000 - 2 * estimate);
  });
});

// A route's fallback decided on the other store than its first model's admission charged only what it adds there, and
// settled all of it there: the first admission's reservation was given back to a store that never held it (Redis's
// counter went negative by it) and kept on its own (found by an outside review). Now the first admission is released
// on its own store, and the fallback charged in full on its own.
describe('LimitsGuard admits a fallback on the other store than its first model', () => {
  const budget = { spend_limit: { threshold_amount: 100, interval: 'day' } };

  it('first on the local store (Redis down), fallback on Redis (back): each counter holds what its store admitted', async () => {
    const { shared, local, guard } = outages();
    shared.down = true;
    const first = await guard.admit(chat(budget));
    const reserved = local.counter(DAY_BUDGET);
    expect(reserved).toBeGreaterThan(1_000_000);
    shared.down = false;
    shared.comebacks++;
    const fallback = await guard.admitFallback(first, chat(budget));
    expect(shared.counter(DAY_BUDGET)).toBe(reserved);
    expect(local.counter(DAY_BUDGET)).toBe(0);
    fallback.settle(SPENT);
    expect(shared.counter(DAY_BUDGET)).toBe(1000);
    expect(local.counter(DAY_BUDGET)).toBe(0);
  });

  it('first on Redis, fallback on the local store (Redis down since): the Redis reservation is given back once Redis answers', async () => {
    const { shared, local, guard } = outages();
    const first = await guard.admit(chat(budget));
    const reserved = shared.counter(DAY_BUDGET);
    expect(reserved).toBeGreaterThan(1_000_000);
    shared.down = true;
    const fallback = await guard.admitFallback(first, chat(budget));
    expect(local.counter(DAY_BUDGET)).toBe(reserved);
    fallback.settle(SPENT);
    expect(local.counter(DAY_BUDGET)).toBe(1000);
    shared.down = false;
    await guard.retrySettles();
    expect(guard.pendingSettles).toBe(0);
    expect(shared.counter(DAY_BUDGET)).toBe(0);
  });

  it('first on the local store, fallback there after a new outage emptied it: charged in full, settled exactly', async () => {
    const { shared, local, guard } = outages();
    shared.down = true;
    const first = await guard.admit(chat(budget));
    const reserved = local.counter(DAY_BUDGET);
    // Redis came back and failed again: the fallback's decision begins a new outage, the local store emptied.
    shared.comebacks++;
    const fallback = await guard.admitFallback(first, chat(budget));
    expect(local.counter(DAY_BUDGET)).toBe(reserved);
    fallback.settle(SPENT);
    expect(local.counter(DAY_BUDGET)).toBe(1000);
  });

  it('refused on the other store, leaves the first admission as it was', async () => {
    const { shared, local, guard } = outages();
    shared.down = true;
    const first = await guard.admit(chat(budget));
    const reserved = local.counter(DAY_BUDGET);
    shared.down = false;
    shared.comebacks++;
    // Redis holds nearly the whole dollar already (other instances' spend): no room for the fallback's reservation.
    await shared.seedCounter(DAY_BUDGET, 1_000_000_000 - reserved + 1, 0, NOW);
    await expect((async () => guard.admitFallback(first, chat(budget)))()).rejects.toMatchObject({ code: 'api_key_spend_limit_exceeded' });
    expect(shared.counter(DAY_BUDGET)).toBe(1_000_000_000 - reserved + 1);
    first.settle(SPENT);
    expect(local.counter(DAY_BUDGET)).toBe(1000);
  });
});

// What the local store admitted while Redis failed was never added to Redis's counts: a Redis that came back with its
// data (frozen, or behind a partition) handed a key that much again (found by a review: an RPD of 10 and a quota of 10
// each let 12 requests through). test/redis-outage-recount.test.ts runs it against a real Redis and two instances.
describe('LimitsGuard after an outage in which the local store admitted requests', () => {
  const quota = { request_quota: { max_requests: 10, interval: 'day' } };

  /** A shared store that tells the order of what it is asked, and forgets keys as Redis's `forget` does. */
  class ForgettingStore extends ToggledStore {
    readonly calls: string[] = [];
    readonly health = {
      name: 'test',
      ping: async () => {
        if (this.down) throw new Error('connection refused');
      },
    };
    override acquire(rates: RateCheck[], counters: CounterCheck[], nowMs: number) {
      if (!this.down) this.calls.push('acquire');
      return super.acquire(rates, counters, nowMs);
    }
    async forget(counterKeys: string[], rateKeys: string[]): Promise<void> {
      if (this.down) throw new Error('connection refused');
      this.calls.push(`forget ${[...counterKeys, ...rateKeys].join(' ')}`);
    }
  }

  it('writes its usage, then drops on the shared store what it charged, before the shared store decides again', async () => {
    const shared = new ForgettingStore();
    const guard = testGuard({ clock: () => NOW }, shared, undefined, {
      localStore: new SeededStore(),
      budgetFailure: 'open',
      writeRecordedUsage: async () => {
        shared.calls.push('write');
      },
    });
    expect((await guard.admit(input(quota))).headers['x-tollgate-remaining-requests-quota']).toBe('9');
    shared.down = true;
    const during = await guard.admit(input(quota));
    const running = await guard.admit(input(quota));
    during.settle(NOTHING);
    expect(guard.pendingRecounts).toBe(1);
    // Still down: the decision falls back to the local store, nothing dropped.
    (await guard.admit(input(quota))).settle(NOTHING);
    expect(shared.calls).toEqual(['acquire']);
    shared.down = false;
    shared.comebacks++;
    await guard.admit(input(quota));
    const [key] = shared.calls[2].split(' ').slice(1);
    expect(key).toMatch(/^q:k:key_1:/);
    expect(shared.calls).toEqual(['acquire', 'write', `forget ${key}`, 'acquire']);
    expect(guard.pendingRecounts).toBe(0);
    // A request admitted on the local store that ends after Redis came back: its key is dropped again once it is written.
    running.settle(NOTHING);
    expect(guard.pendingRecounts).toBe(1);
    await guard.admit(input(quota));
    expect(shared.calls.slice(4)).toEqual(['write', `forget ${key}`, 'acquire']);
    expect(guard.pendingRecounts).toBe(0);
  });
});
