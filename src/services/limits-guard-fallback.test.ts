import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { keyRecord } from '../../test/harness/key-record.js';
import { testGuard } from '../../test/harness/limits-guard.js';
import type { ModelRateLimit, ProjectPolicy } from '../core/limit-plan.js';
import type { CounterCheck, RateCheck } from '../core/limit-store.js';
import { planMetering } from '../core/metering-plan.js';
import { DEFAULT_PRICES } from '../core/pricing.js';
import type { Admission } from '../core/request-guard.js';
import type { KeyRecord } from '../core/verify.js';
import { MemoryLimitStore } from '../infra/memory-limit-store.js';
import { RedisLimitStore } from '../infra/redis-limit-store.js';

// A route's fallback to another model (issue 20 §3) admits the request again as that model, taking over its first
// admission: the limits that do not depend on the model count the request once, the fallback model's own limits are
// charged, a pricier model's extra cost is reserved, and nothing reserved for the first model alone stays held.

const NOW = Date.parse('2026-03-01T10:00:00Z');

/** A memory store with every counter present (seeded at 0), so that decisions are made at once. */
class SeededStore extends MemoryLimitStore {
  override acquire(rates: RateCheck[], counters: CounterCheck[], nowMs: number) {
    for (const c of counters) for (const k of c.keys) void this.seedCounter(k, 0, 0, nowMs);
    return super.acquire(rates, counters, nowMs);
  }
  /** A counter's value (nano-dollars, or requests for a quota). */
  counter(key: string): number {
    const out = super.acquire([], [{ keys: [key], cap: Number.MAX_SAFE_INTEGER, amount: 0, ttlSec: 60 }], NOW);
    return out.counters[0].used;
  }
}

const perModel = (model: string, rl: Partial<ModelRateLimit>): ModelRateLimit => ({
  model,
  max_requests_per_1_minute: null,
  max_tokens_per_1_minute: null,
  max_requests_per_1_day: null,
  ...rl,
});

function setup(policy: ProjectPolicy = { rateLimits: [], spend: null }) {
  const store = new SeededStore();
  return { store, guard: testGuard({ clock: () => NOW }, store, () => policy) };
}

// 400 characters of prompt: an estimate of ~100 input tokens; 1,000 output tokens at most.
const BODY = { messages: [{ role: 'user', content: 'x'.repeat(400) }], max_tokens: 1000 };

const input = (record: KeyRecord, model: string) => ({
  record,
  model,
  endpoint: '/chat/completions',
  body: BODY,
  plan: planMetering({ method: 'POST', endpoint: '/chat/completions', body: BODY, form: null, model, bodyBytes: 0, prices: DEFAULT_PRICES, defaultPrice: null }),
  nowMs: NOW,
});

const NONE = { tokens: { input: 0, cached: 0, output: 0 }, costNanoUsd: 0, billable: false };

describe('LimitsGuard.admitFallback', () => {
  it("counts the request once against the key's RPM and request quota", async () => {
    const { guard } = setup();
    const record = keyRecord({ limits: { rate_limits: { max_requests_per_1_minute: 2 }, request_quota: { max_requests: 2, interval: 'day' } } });
    const first = await guard.admit(input(record, 'gpt-4.1-nano'));
    expect(first.headers['x-ratelimit-remaining-requests']).toBe('1');
    const fallback = await guard.admitFallback(first, input(record, 'gpt-4o'));
    expect(fallback.headers['x-ratelimit-remaining-requests']).toBe('1');
    expect(fallback.headers['x-tollgate-remaining-requests-quota']).toBe('1');
    fallback.settle(NONE);
    // The key's second request of the minute and of its quota is still its own.
    const second = await guard.admit(input(record, 'gpt-4.1-nano'));
    expect(second.headers['x-ratelimit-remaining-requests']).toBe('0');
    expect(second.headers['x-tollgate-remaining-requests-quota']).toBe('0');
  });

  it("charges the fallback model's own limits, and refuses it when they are used up, leaving the first admission as it was", async () => {
    const { guard, store } = setup({ rateLimits: [perModel('gpt-4o', { max_requests_per_1_minute: 1 })], spend: null });
    const record = keyRecord({ limits: { spend_limit: { threshold_amount: 100, interval: 'day' } } });
    const first = await guard.admit(input(record, 'gpt-4.1-nano'));
    const reserved = store.counter('s:k:key_1:d2026-03-01');
    expect(reserved).toBeGreaterThan(0);
    const fallback = await guard.admitFallback(first, input(record, 'gpt-4o'));
    expect(fallback.headers['x-ratelimit-remaining-requests']).toBe('0');
    fallback.settle(NONE);
    // gpt-4o's one request of the minute went to that fallback.
    expect(() => guard.admit(input(record, 'gpt-4o'))).toThrow(/Rate limit reached for project proj_1 for gpt-4o/);
    const again = await guard.admit(input(record, 'gpt-4.1-nano'));
    const held = store.counter('s:k:key_1:d2026-03-01');
    expect(() => guard.admitFallback(again, input(record, 'gpt-4o'))).toThrow(/Rate limit reached/);
    // Refused: the first admission still holds its reservation, and settles as usual.
    expect(store.counter('s:k:key_1:d2026-03-01')).toBe(held);
    again.settle({ ...NONE, costNanoUsd: 1234, billable: true });
    expect(store.counter('s:k:key_1:d2026-03-01')).toBe(1234);
  });

  it('reserves only the extra cost of a pricier fallback, and settles the budget to what the request cost, once', async () => {
    const { guard, store } = setup();
    const record = keyRecord({ limits: { spend_limit: { threshold_amount: 100, interval: 'day' } } });
    const first = await guard.admit(input(record, 'gpt-4.1-nano'));
    const cheap = store.counter('s:k:key_1:d2026-03-01');
    const fallback = await guard.admitFallback(first, input(record, 'gpt-4o'));
    const pricier = store.counter('s:k:key_1:d2026-03-01');
    // gpt-4o's output costs 25 times gpt-4.1-nano's: the counter holds gpt-4o's reservation, not the sum of both.
    expect(pricier).toBeGreaterThan(cheap * 10);
    const alone = setup();
    await alone.guard.admit(input(record, 'gpt-4o'));
    expect(pricier).toBe(alone.store.counter('s:k:key_1:d2026-03-01'));
    fallback.settle({ tokens: { input: 10, cached: 0, output: 100 }, costNanoUsd: 5_000, billable: true });
    // Settling the first admission after the hand-over changes nothing.
    first.settle({ tokens: { input: 10, cached: 0, output: 100 }, costNanoUsd: 7_000, billable: true });
    expect(store.counter('s:k:key_1:d2026-03-01')).toBe(5_000);
  });

  it('keeps the higher reservation when the fallback is the cheaper model', async () => {
    const { guard, store } = setup();
    const record = keyRecord({ limits: { spend_limit: { threshold_amount: 100, interval: 'day' } } });
    const first = await guard.admit(input(record, 'gpt-4o'));
    const held = store.counter('s:k:key_1:d2026-03-01');
    const fallback = await guard.admitFallback(first, input(record, 'gpt-4.1-nano'));
    expect(store.counter('s:k:key_1:d2026-03-01')).toBe(held);
    fallback.settle({ tokens: { input: 1, cached: 0, output: 1 }, costNanoUsd: 500, billable: true });
    expect(store.counter('s:k:key_1:d2026-03-01')).toBe(500);
  });

  it("gives back the TPM reserved in the first model's own bucket, and keeps the key's TPM reserved once", async () => {
    const { guard } = setup({ rateLimits: [perModel('gpt-4.1-nano', { max_tokens_per_1_minute: 2_000 })], spend: null });
    const record = keyRecord({ limits: { rate_limits: { max_tokens_per_1_minute: 10_000 } } });
    const first = await guard.admit(input(record, 'gpt-4.1-nano'));
    // The headers give the tighter bucket: gpt-4.1-nano's 2,000.
    const reserved = 2_000 - Number(first.headers['x-ratelimit-remaining-tokens']);
    expect(reserved).toBeGreaterThan(1_000);
    const fallback: Admission = await guard.admitFallback(first, input(record, 'gpt-4o'));
    // The key's bucket holds the request's estimate once.
    expect(Number(fallback.headers['x-ratelimit-remaining-tokens'])).toBe(10_000 - reserved);
    // gpt-4.1-nano's own bucket (2,000) has its reservation back: a request of the same size fits in it again.
    const other = await guard.admit(input(record, 'gpt-4.1-nano'));
    expect(Number(other.headers['x-ratelimit-remaining-tokens'])).toBe(2_000 - reserved);
    fallback.settle({ tokens: { input: 100, cached: 0, output: 50 }, costNanoUsd: 0, billable: true });
    other.settle(NONE);
    const after = await guard.admit(input(record, 'gpt-4o'));
    // The key's bucket: the fallback's 150 real tokens and this request's estimate.
    expect(Number(after.headers['x-ratelimit-remaining-tokens'])).toBe(10_000 - 150 - reserved);
  });

  it('takes over an admission only once, and a request without limits admits its fallback as any other', async () => {
    const { guard } = setup();
    const record = keyRecord({ limits: { rate_limits: { max_requests_per_1_minute: 3 } } });
    const first = await guard.admit(input(record, 'gpt-4.1-nano'));
    const fallback = await guard.admitFallback(first, input(record, 'gpt-4o'));
    expect(fallback.headers['x-ratelimit-remaining-requests']).toBe('2');
    // The first admission is spent: a second hand-over of it is charged as a request of its own.
    const again = await guard.admitFallback(first, input(record, 'gpt-4o'));
    expect(again.headers['x-ratelimit-remaining-requests']).toBe('1');
    const plain = keyRecord({ id: 'key_2' });
    const none = await guard.admit(input(plain, 'gpt-4.1-nano'));
    expect(await guard.admitFallback(none, input(plain, 'gpt-4o'))).toEqual(none);
  });
});

// A request decided on the local store while the shared one failed (fail-open) is settled there too: its settle went
// to the shared store, moving a counter that never held its reservation (found by an outside review).
describe('LimitsGuard settles on the store that admitted', () => {
  /** A shared store that is down: every call fails, and each adjust it was asked for is noted. */
  class DownStore extends MemoryLimitStore {
    adjusted = 0;
    override acquire(): never {
      throw new Error('limit store unreachable');
    }
    override adjust(): never {
      this.adjusted++;
      throw new Error('limit store unreachable');
    }
  }

  it('settles a fail-open admission on the local store, never on the shared one', async () => {
    const shared = new DownStore();
    const local = new SeededStore();
    const guard = testGuard({ clock: () => NOW }, shared, undefined, { localStore: local, budgetFailure: 'open' });
    const record = keyRecord({ limits: { spend_limit: { threshold_amount: 100, interval: 'day' } } });
    const admission = await guard.admit(input(record, 'gpt-4o'));
    const key = 's:k:key_1:d2026-03-01';
    expect(local.counter(key)).toBeGreaterThan(1000);
    admission.settle({ tokens: { input: 10, cached: 0, output: 10 }, costNanoUsd: 1000, billable: true });
    expect(local.counter(key)).toBe(1000);
    expect(shared.adjusted).toBe(0);
    expect(guard.pendingSettles).toBe(0);
  });
});

describe('LimitsGuard retries a refused settle', () => {
  it('once at a time: a second pass while the first waits on a slow store does not apply the settle twice', async () => {
    let calls = 0;
    let release!: () => void;
    class SlowStore extends SeededStore {
      override adjust(): Promise<undefined> {
        calls++;
        if (calls === 1) throw new Error('limit store unreachable');
        return new Promise<undefined>((r) => (release = () => r(undefined)));
      }
    }
    const store = new SlowStore();
    const guard = testGuard({ clock: () => NOW }, store, undefined, { localStore: new SeededStore() });
    const record = keyRecord({ limits: { spend_limit: { threshold_amount: 100, interval: 'day' } } });
    const admission = await guard.admit(input(record, 'gpt-4o'));
    admission.settle({ tokens: { input: 10, cached: 0, output: 10 }, costNanoUsd: 1000, billable: true });
    expect(guard.pendingSettles).toBe(1);
    const first = guard.retrySettles();
    const second = guard.retrySettles();
    release();
    await Promise.all([first, second]);
    expect(calls).toBe(2);
    expect(guard.pendingSettles).toBe(0);
  });
});

// A fallback decided on Redis after the budget counter its first admission charged was lost and seeded again (another
// epoch) took the first reservation as held there, though the counter never held it: its settle gave it back, the
// period's stored spend forgotten by as much.
describe.runIf(process.env.TEST_REDIS_URL)('LimitsGuard.admitFallback on a counter Redis seeded again since the first admission', () => {
  it('holds there only what the fallback charged, and settles to the stored spend plus what the request cost', async () => {
    const prefix = `tg-test-${randomBytes(4).toString('hex')}:`;
    const store = new RedisLimitStore(process.env.TEST_REDIS_URL as string, prefix);
    const redis = new Redis(process.env.TEST_REDIS_URL as string);
    try {
      await store.connected(10_000);
      const guard = testGuard({ clock: () => NOW }, store);
      const key = 's:k:key_1:d2026-03-01';
      const record = keyRecord({ limits: { spend_limit: { threshold_amount: 100, interval: 'day' } } });
      await store.seedCounter(key, 0, 3600, NOW);
      const first = await guard.admit(input(record, 'gpt-4o'));
      expect(Number(await redis.get(prefix + key))).toBeGreaterThan(1_000_000);
      // Redis loses the counter (a restart, an eviction); it is seeded again from stored usage: $0.0005 spent.
      await redis.del(prefix + key, `${prefix}${key}:e`);
      await store.seedCounter(key, 500_000, 3600, NOW);
      const fallback = await guard.admitFallback(first, input(record, 'gpt-4o'));
      const held = await redis.get(prefix + key);
      fallback.settle({ tokens: { input: 100, cached: 0, output: 10 }, costNanoUsd: 1000, billable: true });
      // The settle is sent without being awaited: read once it has moved the counter.
      for (let tries = 0; (await redis.get(prefix + key)) === held && tries < 500; tries++) await new Promise((r) => setTimeout(r, 20));
      expect(guard.pendingSettles).toBe(0);
      expect(Number(await redis.get(prefix + key))).toBe(501_000);
    } finally {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      await store.close();
    }
  });
});
