import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LimitStore, RateCheck } from '../core/limit-store.js';
import { MemoryLimitStore } from './memory-limit-store.js';
import { RedisLimitStore } from './redis-limit-store.js';

// Seedable rate buckets (RPD) on both limit stores: a bucket the store does not hold is reported missing rather
// than started full, a seeded state is taken once, and a bucket is kept a whole period after its last use.

const DAY = 86_400_000;
const now = Date.UTC(2026, 4, 4, 12, 30);

const stores: Array<{ name: string; make: () => { store: LimitStore; prefix: string; ready: () => Promise<unknown> } }> = [
  { name: 'memory', make: () => ({ store: new MemoryLimitStore(), prefix: '', ready: async () => {} }) },
];
const redisUrl = process.env.TEST_REDIS_URL;
if (redisUrl) {
  stores.push({
    name: 'redis',
    make: () => {
      const prefix = `tg-test-${randomBytes(4).toString('hex')}:`;
      const store = new RedisLimitStore(redisUrl, prefix);
      // No offline queue: the first call waits for the connection.
      const ready = () => (store.redis.status === 'ready' ? Promise.resolve() : new Promise((r) => store.redis.once('ready', r)));
      return { store, prefix, ready };
    },
  });
}

for (const { name, make } of stores) {
  describe(`seedable rate buckets [${name}]`, () => {
    const { store, prefix, ready } = make();
    beforeAll(ready);
    const used: string[] = [];
    afterAll(async () => {
      // Redis keeps these a day: the shared server is left as found.
      if (redisUrl && prefix) {
        const redis = new Redis(redisUrl);
        await redis.del(...used.map((k) => prefix + k));
        redis.disconnect();
      }
      await store.close();
    });
    let n = 0;
    const rpd = (limit: number): RateCheck => {
      const key = `rl:k:key_${name}_${++n}:rpd:${limit}`;
      used.push(key);
      return { key, limit, periodMs: DAY, cost: 1, seedable: true };
    };

    it('reports a seedable bucket it does not hold as missing and charges nothing, while a plain one starts full', async () => {
      const day = rpd(3);
      const minute: RateCheck = { key: `rl:k:key_${name}_m:rpm:2`, limit: 2, periodMs: 60_000, cost: 1 };
      used.push(minute.key);
      const first = await store.acquire([minute, day], [], now);
      expect(first).toMatchObject({ allowed: false, missing: [day.key] });
      // Nothing was charged: the minute's two are both still there.
      expect((await store.acquire([minute], [], now)).rates[0]).toMatchObject({ allowed: true, remaining: 1 });
      await store.seedRate(day.key, 0, DAY, now);
      const after = await store.acquire([minute, day], [], now);
      expect(after.missing).toBeUndefined();
      expect(after.rates.map((d) => [d.allowed, d.remaining])).toEqual([
        [true, 0],
        [true, 2],
      ]);
    });

    it('takes a seeded state once: a later seed does not overwrite what the store holds', async () => {
      const day = rpd(3);
      await store.seedRate(day.key, now + DAY, DAY, now);
      await store.seedRate(day.key, 0, DAY, now);
      expect((await store.acquire([day], [], now)).rates[0]).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: DAY / 3 });
    });

    if (name === 'memory') {
      it('keeps a bucket a period after its last use (not only until it refills), then asks for it again', async () => {
        const day = rpd(1000);
        await store.seedRate(day.key, 0, DAY, now);
        expect((await store.acquire([day], [], now)).allowed).toBe(true);
        // Refilled long ago (one request every 86.4 s), still held: no seeding while the day's usage may count.
        expect((await store.acquire([day], [], now + DAY - 60_000)).missing).toBeUndefined();
        expect((await store.acquire([day], [], now + 2 * DAY + 120_000)).missing).toEqual([day.key]);
      });
    } else {
      it('keeps a bucket a period after its last use (not only until it refills)', async () => {
        const day = rpd(1000);
        await store.seedRate(day.key, 0, DAY, now);
        expect((await store.acquire([day], [], now)).allowed).toBe(true);
        const redis = new Redis(redisUrl as string);
        try {
          expect(await redis.pttl(`${prefix}${day.key}`)).toBeGreaterThan(DAY - 60_000);
          await redis.del(`${prefix}${day.key}`);
        } finally {
          redis.disconnect();
        }
        expect((await store.acquire([day], [], now)).missing).toEqual([day.key]);
      });
    }
  });
}

describe.runIf(redisUrl)('settles on the shared store', () => {
  it('applies a settle once: the same settle given again (a retry after its reply was lost) is skipped, another is applied', async () => {
    const prefix = `tg-test-${randomBytes(4).toString('hex')}:`;
    const store = new RedisLimitStore(redisUrl as string, prefix);
    const redis = new Redis(redisUrl as string);
    try {
      await store.connected(10_000);
      const key = 'b:k:key_settle:month:2026-05';
      await store.seedCounter(key, 100, 3600, now);
      const admitted = await store.acquire([], [{ keys: [key], cap: 1000, amount: 50, ttlSec: 3600 }], now);
      expect(admitted.allowed).toBe(true);
      const epoch = admitted.counters[0].epoch;
      const rates: Parameters<LimitStore['adjust']>[0] = [];
      const counters = [{ key, delta: -30, ttlSec: 3600, epoch }];
      await store.adjust(rates, counters, now);
      await store.adjust(rates, counters, now);
      expect(Number(await redis.get(prefix + key))).toBe(120);
      // Another settle of the same amount is its own.
      await store.adjust([], [{ key, delta: -30, ttlSec: 3600, epoch }], now);
      expect(Number(await redis.get(prefix + key))).toBe(90);
    } finally {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      await store.close();
    }
  });
});

describe('settles on the in-process store after it was emptied', () => {
  it("moves nothing of a request admitted before the reset: the counter and bucket of the same keys are others' now", () => {
    const store = new MemoryLimitStore();
    const key = 's:k:key_reset:d2026-05-04';
    const tpm: RateCheck = { key: 'rl:k:key_reset:tpm:1000', limit: 1000, periodMs: 60_000, cost: 400 };
    void store.seedCounter(key, 0, 3600, now);
    const before = store.acquire([tpm], [{ keys: [key], cap: 1000, amount: 500, ttlSec: 3600 }], now);
    store.reset();
    void store.seedCounter(key, 100, 3600, now);
    const after = store.acquire([tpm], [{ keys: [key], cap: 1000, amount: 500, ttlSec: 3600 }], now);
    expect(after.counters[0].used).toBe(600);
    store.adjust([{ ...tpm, delta: -400 }], [{ key, delta: -500, ttlSec: 3600 }], now, before.generation);
    const held = store.acquire([{ ...tpm, cost: 0 }], [{ keys: [key], cap: 1000, amount: 0, ttlSec: 3600 }], now);
    expect([held.rates[0].remaining, held.counters[0].used]).toEqual([600, 600]);
    // The settle of the request admitted since is applied.
    store.adjust([{ ...tpm, delta: -400 }], [{ key, delta: -500, ttlSec: 3600 }], now, after.generation);
    const settled = store.acquire([{ ...tpm, cost: 0 }], [{ keys: [key], cap: 1000, amount: 0, ttlSec: 3600 }], now);
    expect([settled.rates[0].remaining, settled.counters[0].used]).toEqual([1000, 100]);
  });
});

describe('waiting for the shared store at start-up', () => {
  it('says false at once when Redis refuses the connection', async () => {
    // Nothing listens on port 9.
    const store = new RedisLimitStore('redis://127.0.0.1:9');
    try {
      expect(await store.connected(60_000)).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('says false once the time is up when the server never answers', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const store = new RedisLimitStore(`redis://127.0.0.1:${(silent.address() as AddressInfo).port}`);
    try {
      const started = performance.now();
      expect(await store.connected(300)).toBe(false);
      expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    } finally {
      await store.close();
      silent.close();
    }
  });

  it.runIf(redisUrl)('says true once Redis is connected, and at once when it already is', async () => {
    const store = new RedisLimitStore(redisUrl as string);
    try {
      expect(store.redis.status).not.toBe('ready');
      expect(await store.connected(10_000)).toBe(true);
      expect(store.redis.status).toBe('ready');
      expect(await store.connected(0)).toBe(true);
    } finally {
      await store.close();
    }
  });
});

// A request refused by one check is charged nowhere: the buckets that would have let it through report their state as
// it stands (found by an outside review: a 429 of a spend limit said one request fewer remained, with a later reset).
for (const { name, make } of stores) {
  describe(`a refused request's rate state [${name}]`, () => {
    const { store, prefix, ready } = make();
    beforeAll(ready);
    afterAll(async () => {
      if (redisUrl && prefix) {
        const redis = new Redis(redisUrl);
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length) await redis.del(...keys);
        redis.disconnect();
      }
      await store.close();
    });

    it('reports the unchanged remaining and reset of an allowing bucket when a counter refuses', async () => {
      const rpm: RateCheck = { key: `rl:k:key_${name}_unch:rpm:10`, limit: 10, periodMs: 60_000, cost: 1 };
      const tpm: RateCheck = { key: `rl:k:key_${name}_unch:tpm:1000`, limit: 1000, periodMs: 60_000, cost: 100 };
      const budget = `s:k:key_${name}_unch:m2026-05`;
      await store.seedCounter(budget, 0, 3600, now);
      const fits = { keys: [budget], cap: 1000, amount: 600, ttlSec: 3600 };
      const first = await store.acquire([rpm, tpm], [fits], now);
      expect(first.allowed).toBe(true);
      expect(first.rates.map((d) => [d.remaining, d.resetMs])).toEqual([
        [9, 6000],
        [900, 6000],
      ]);
      // The budget has 400 left: a request reserving 600 is refused, and charged nothing.
      const refused = await store.acquire([rpm, tpm], [fits], now);
      expect(refused.allowed).toBe(false);
      expect(refused.counters[0]).toMatchObject({ allowed: false, used: 600 });
      expect(refused.rates.map((d) => [d.allowed, d.remaining, d.resetMs, d.retryAfterMs])).toEqual([
        [true, 9, 6000, 0],
        [true, 900, 6000, 0],
      ]);
      // Nor did the refusal move them.
      const next = await store.acquire([rpm, tpm], [{ ...fits, amount: 100 }], now);
      expect(next.rates.map((d) => [d.remaining, d.resetMs])).toEqual([
        [8, 12000],
        [800, 12000],
      ]);
    });

    it('reports the unchanged state of an allowing bucket when another bucket refuses', async () => {
      const rpm: RateCheck = { key: `rl:k:key_${name}_unch2:rpm:10`, limit: 10, periodMs: 60_000, cost: 1 };
      const tpm: RateCheck = { key: `rl:k:key_${name}_unch2:tpm:100`, limit: 100, periodMs: 60_000, cost: 80 };
      expect((await store.acquire([rpm, tpm], [], now)).allowed).toBe(true);
      const refused = await store.acquire([rpm, tpm], [], now);
      expect(refused.allowed).toBe(false);
      expect(refused.rates.map((d) => [d.allowed, d.remaining, d.resetMs])).toEqual([
        [true, 9, 6000],
        [false, 20, 48000],
      ]);
    });
  });
}

// What of a counter requests in flight reserved, told with a refusal: the guard's refusal says whether retrying can
// help (something in flight may still give room back) or not (x-should-retry: false).
for (const { name, make } of stores) {
  describe(`reservations in flight [${name}]`, () => {
    const { store, prefix, ready } = make();
    beforeAll(ready);
    afterAll(async () => {
      if (redisUrl && prefix) {
        const redis = new Redis(redisUrl);
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length) await redis.del(...keys);
        redis.disconnect();
      }
      await store.close();
    });
    const budget = (key: string, amount: number) => ({ keys: [key], cap: 1000, amount, ttlSec: 3600, reserves: true });

    it('counts a reservation in flight until its settle releases it; a quota holds none', async () => {
      const key = `s:k:key_${name}_fl:m2026-05`;
      const quota = `q:k:key_${name}_fl:total`;
      await store.seedCounter(key, 100, 3600, now);
      await store.seedCounter(quota, 0, 3600, now);
      const a = await store.acquire([], [budget(key, 500), { keys: [quota], cap: 10, amount: 1, ttlSec: 3600 }], now);
      expect(a.allowed).toBe(true);
      const b = await store.acquire([], [budget(key, 300)], now);
      expect(b.allowed).toBe(true);
      // 900 used, 800 of it in flight: a request of 200 is refused, but its retry may fit once they settle.
      const refused = await store.acquire([], [budget(key, 200), { keys: [quota], cap: 10, amount: 1, ttlSec: 3600 }], now);
      expect(refused.allowed).toBe(false);
      expect(refused.counters[0]).toMatchObject({ allowed: false, used: 900, inFlight: 800 });
      expect(refused.counters[1]).toMatchObject({ allowed: true, used: 1 });
      // The first costs 450 of its 500, the second exactly its 300: neither is in flight any more.
      await store.adjust([], [{ key, delta: -50, ttlSec: 3600, epoch: a.counters[0].epoch, release: 500 }], now, a.generation);
      await store.adjust([], [{ key, delta: 0, ttlSec: 3600, epoch: b.counters[0].epoch, release: 300 }], now, b.generation);
      const spent = await store.acquire([], [budget(key, 200)], now);
      expect(spent.allowed).toBe(false);
      expect(spent.counters[0]).toMatchObject({ used: 850, inFlight: 0 });
      if (redisUrl && prefix) {
        const redis = new Redis(redisUrl);
        try {
          // Nothing in flight: the key is gone.
          expect(await redis.exists(`${prefix}${key}:r`)).toBe(0);
        } finally {
          redis.disconnect();
        }
      }
    });

    it('starts a counter seeded again with nothing in flight, and a late settle of the last epoch releases nothing', async () => {
      const key = `s:k:key_${name}_fl2:m2026-05`;
      await store.seedCounter(key, 0, 3600, now);
      const a = await store.acquire([], [budget(key, 600)], now);
      expect(a.allowed).toBe(true);
      // The counter is lost (Redis evicted it; the in-process store was emptied by a new outage) and seeded again.
      if (name === 'memory') (store as MemoryLimitStore).reset();
      else {
        const redis = new Redis(redisUrl as string);
        try {
          await redis.del(prefix + key);
        } finally {
          redis.disconnect();
        }
      }
      await store.seedCounter(key, 600, 3600, now);
      const b = await store.acquire([], [budget(key, 300)], now);
      expect(b.allowed).toBe(true);
      await store.adjust([], [{ key, delta: -600, ttlSec: 3600, epoch: a.counters[0].epoch, release: 600 }], now, a.generation);
      const refused = await store.acquire([], [budget(key, 200)], now);
      expect(refused.counters[0]).toMatchObject({ allowed: false, used: 900, inFlight: 300 });
    });

    // Budget alerts are told of what a settle leaves spent, not of the sum an admission saw: that held every other
    // request's reservation (a $5 alert told "spent $6" of $0.00015 spent, found by a review).
    it("answers each settled counter's spend without what is still in flight, over all its keys; a counter left alone, null", async () => {
      const day1 = `s:k:key_${name}_st:d2026-05-03`;
      const day2 = `s:k:key_${name}_st:d2026-05-04`;
      await store.seedCounter(day2, 0, 3600, now);
      await store.seedCounter(day1, 40, 3600, now);
      const window = (amount: number) => ({ keys: [day2, day1], cap: 1000, amount, ttlSec: 3600, reserves: true });
      const a = await store.acquire([], [window(600)], now);
      const b = await store.acquire([], [window(100)], now);
      expect(b.counters[0].used).toBe(740);
      // b costs 30: spent 40 + 30; a's 600 still in flight counts for nothing.
      const settled = await store.adjust([], [{ key: day2, keys: [day2, day1], delta: -70, ttlSec: 3600, epoch: b.counters[0].epoch, release: 100 }], now, b.generation);
      expect(settled).toEqual([70]);
      const stale = `s:k:key_${name}_st2:m2026-05`;
      const both = await store.adjust(
        [],
        [
          { key: day2, keys: [day2, day1], delta: -590, ttlSec: 3600, epoch: a.counters[0].epoch, release: 600 },
          { key: stale, delta: 5, ttlSec: 3600, epoch: 'gone', release: 0 },
        ],
        now,
        a.generation,
      );
      expect(both).toEqual([80, null]);
    });
  });
}
