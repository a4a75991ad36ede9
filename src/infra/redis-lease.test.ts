import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithRedis } from '../../test/harness/backends.js';
import type { CounterCheck } from '../core/limit-store.js';
import { RedisLimitStore } from './redis-limit-store.js';

// Reservations of requests that never settle (their instance killed, or stopped giving them up) were kept in a Redis
// budget counter until its period ended: a $40 budget stayed charged $30.138 after a SIGKILL with three $10 streams in
// flight (found by a review). Each instance records what it holds in a hash of its own under a lease it renews; once
// the lease lapses any instance gives that back, once, and a settle of a reservation given back counts only what its
// request used.

const now = Date.UTC(2026, 4, 4, 12, 30);

describeWithRedis('reservations held under an instance lease', (redisUrl) => {
  const redis = new Redis(redisUrl);
  const prefix = `tg-test-${randomBytes(4).toString('hex')}:`;
  const stores: RedisLimitStore[] = [];
  const store = () => {
    const s = new RedisLimitStore(redisUrl, prefix);
    stores.push(s);
    return s;
  };
  let n = 0;
  /** A fresh budget counter (seeded at `spent`) and a check reserving `amount` of it. */
  const budget = async (s: RedisLimitStore, spent = 0) => {
    const key = `s:k:key_lease_${++n}:m2026-05`;
    await s.seedCounter(key, spent, 3600, now);
    return { key, check: (amount: number): CounterCheck => ({ keys: [key], cap: 100_000, amount, ttlSec: 3600, reserves: true }) };
  };
  const held = async (key: string) => ({ counter: Number(await redis.get(prefix + key)), inFlight: Number((await redis.get(`${prefix + key}:r`)) ?? 0) });

  beforeAll(async () => {
    await redis.ping();
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('gives back, once, what an instance whose lease lapsed still held; its late settle counts only what was used', async () => {
    const a = store();
    const b = store();
    const c = store();
    expect(await a.connected(5000)).toBe(true);
    const { key, check } = await budget(a, 100);
    const first = await a.acquire([], [check(1000)], now);
    const second = await a.acquire([], [check(500)], now);
    expect([first.allowed, second.allowed]).toEqual([true, true]);
    expect(await held(key)).toEqual({ counter: 1600, inFlight: 1500 });
    // A's lease lapses (the process killed, or paused past the lease's time). Two instances look at once.
    await redis.del(a.leaseKey);
    await Promise.all([b.sweep(), c.sweep()]);
    expect(await held(key)).toEqual({ counter: 100, inFlight: 0 });
    await b.sweep();
    expect(await held(key)).toEqual({ counter: 100, inFlight: 0 });
    // A was alive after all: its requests settle. What they used is counted, their reservations not given back again.
    await a.adjust([], [{ key, delta: 300 - 1000, ttlSec: 3600, epoch: first.counters[0].epoch, release: 1000 }], now);
    expect(await held(key)).toEqual({ counter: 400, inFlight: 0 });
    // Its next request takes a new lease (the lapsed one is not renewed), and is held and given back as before.
    const third = await a.acquire([], [check(200)], now);
    expect(third.allowed).toBe(true);
    expect(await held(key)).toEqual({ counter: 600, inFlight: 200 });
    expect(await redis.exists(a.leaseKey)).toBe(1);
    await a.adjust([], [{ key, delta: 0, ttlSec: 3600, epoch: second.counters[0].epoch, release: 500 }], now);
    expect(await held(key)).toEqual({ counter: 1100, inFlight: 200 });
    await a.adjust([], [{ key, delta: 50 - 200, ttlSec: 3600, epoch: third.counters[0].epoch, release: 200 }], now);
    expect(await held(key)).toEqual({ counter: 950, inFlight: 0 });
  });

  it('keeps what a live instance holds: a sweep gives back only lapsed leases', async () => {
    const a = store();
    const b = store();
    expect(await a.connected(5000)).toBe(true);
    const { key, check } = await budget(a);
    expect((await a.acquire([], [check(700)], now)).allowed).toBe(true);
    await b.sweep();
    expect(await held(key)).toEqual({ counter: 700, inFlight: 700 });
  });

  it('gives back at a clean close what the instance still holds (requests it gave up on)', async () => {
    const a = store();
    expect(await a.connected(5000)).toBe(true);
    const { key, check } = await budget(a, 10);
    const settled = await a.acquire([], [check(300)], now);
    expect((await a.acquire([], [check(400)], now)).allowed).toBe(true);
    await a.adjust([], [{ key, delta: -100, ttlSec: 3600, epoch: settled.counters[0].epoch, release: 300 }], now);
    expect(await held(key)).toEqual({ counter: 610, inFlight: 400 });
    const lease = a.leaseKey;
    await a.close();
    expect(await held(key)).toEqual({ counter: 210, inFlight: 0 });
    expect(await redis.exists(lease)).toBe(0);
  });

  it('leaves a counter seeded again since alone: it never held the reservation', async () => {
    const a = store();
    const b = store();
    expect(await a.connected(5000)).toBe(true);
    const { key, check } = await budget(a);
    expect((await a.acquire([], [check(900)], now)).allowed).toBe(true);
    await redis.del(prefix + key);
    await b.seedCounter(key, 40, 3600, now);
    await redis.del(a.leaseKey);
    await b.sweep();
    expect(await held(key)).toEqual({ counter: 40, inFlight: 0 });
  });
});
