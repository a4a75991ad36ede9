import { randomBytes } from 'node:crypto';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithRedis } from '../../test/harness/backends.js';
import { type CounterCheck, type RateCheck, UnansweredAcquire } from '../core/limit-store.js';
import { RedisLimitStore } from './redis-limit-store.js';

// An acquire the guard gave up on (no answer within the command timeout) may run in Redis before or after the cancel
// the guard then sends, or twice (ioredis sends an unanswered command again after a reconnect). Found by an outside
// review: a frozen Redis that thawed ran the acquires of requests already refused 503 and charged them in full. Here
// the store's connection goes through a proxy that holds what the store sends; the test then runs the commands held
// itself, in the order each case needs.

const now = Date.UTC(2026, 4, 4, 12, 30);

/** The whole commands of a RESP request stream (arrays of bulk strings, as ioredis writes them). */
function commandsOf(bytes: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  let at = 0;
  const line = () => {
    const end = bytes.indexOf('\r\n', at);
    if (end < 0) return -1;
    const n = Number(bytes.subarray(at + 1, end).toString());
    at = end + 2;
    return n;
  };
  for (;;) {
    const n = line();
    if (n < 0) return out;
    const args: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const len = line();
      if (len < 0 || at + len + 2 > bytes.length) return out;
      args.push(bytes.subarray(at, at + len));
      at += len + 2;
    }
    out.push(args);
  }
}

describeWithRedis('an acquire given up on, and its cancel', (redisUrl) => {
  const redis = new Redis(redisUrl);
  const target = new URL(redisUrl);
  let holding = false;
  let held: Buffer[] = [];
  const sockets = new Set<Socket>();
  /** The proxy's latest connection to Redis: what was held can be let through to it late. */
  let upstream: Socket | undefined;
  const proxy: Server = createServer((client) => {
    const server = connect(Number(target.port || 6379), target.hostname);
    upstream = server;
    for (const s of [client, server]) sockets.add(s.on('error', () => client.destroy()));
    client.on('data', (d) => (holding ? held.push(d) : server.write(d)));
    server.pipe(client);
  });
  const prefix = `tg-test-${randomBytes(4).toString('hex')}:`;
  /** Sets up keys and reads them, straight to Redis. */
  const direct = new RedisLimitStore(redisUrl, prefix);
  let n = 0;

  beforeAll(async () => {
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    expect(await direct.connected(5000)).toBe(true);
  });
  afterAll(async () => {
    await Promise.all(open.map((s) => s.close()));
    await direct.close();
    for (const s of sockets) s.destroy();
    proxy.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  /** A key's RPM bucket and request quota (seeded at 0), each of limit 10, with one request taken. */
  const limited = async () => {
    const id = `key_${++n}`;
    const rate: RateCheck = { key: `rl:k:${id}:rpm:10`, limit: 10, periodMs: 60_000, cost: 1 };
    const quota: CounterCheck = { keys: [`q:k:${id}:total`], cap: 10, amount: 1, ttlSec: 0 };
    await direct.seedCounter(quota.keys[0], 0, 0, now);
    expect(await direct.acquire([rate], [quota], now)).toMatchObject({ allowed: true, counters: [{ used: 1 }] });
    return { rate, quota };
  };
  /** Stores left open until the end: a store's close gives back what it holds, and its lease (an acquire run later charges nothing). */
  const open: RedisLimitStore[] = [];
  /**
   * An acquire a store sends on a connection that then answers nothing, its failure, and its cancel (sent on the same
   * connection, so held too): the two commands, for the test to run.
   */
  const givenUp = async (rate: RateCheck, quota: CounterCheck) => {
    const store = new RedisLimitStore(`redis://127.0.0.1:${(proxy.address() as AddressInfo).port}`, prefix);
    expect(await store.connected(5000)).toBe(true);
    holding = true;
    held = [];
    try {
      const err = await store.acquire([rate], [quota], now).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UnansweredAcquire);
      const cancelled = (err as UnansweredAcquire).cancel(now).then(
        () => 'answered',
        () => 'unanswered',
      );
      while (heldScripts().length < 2) await new Promise((r) => setTimeout(r, 10));
      expect(await cancelled).toBe('unanswered');
      const [acquire, cancel] = heldScripts();
      return { acquire, cancel };
    } finally {
      holding = false;
      open.push(store);
    }
  };
  /** The commands of acquires and cancels held (the store's lease renewals and sweeps, sent at times, left out). */
  const heldScripts = () => commandsOf(Buffer.concat(held)).filter((c) => /^eval/i.test(c[0].toString()) && !c[3]?.toString().startsWith(`${prefix}lease`));
  const run = (command: Buffer[]) => redis.call(command[0].toString(), ...command.slice(1)) as Promise<unknown>;
  /** What the key has taken: its quota counter, and its minute's requests (read by an acquire of nothing). */
  const taken = async (rate: RateCheck, quota: CounterCheck) => {
    const out = await direct.acquire([{ ...rate, cost: 0 }], [{ ...quota, amount: 0 }], now);
    return { quota: out.counters[0].used, rpm: 10 - out.rates[0].remaining };
  };

  it('an acquire never sent (Redis not connected: ioredis refuses it at once) is not one to cancel', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const store = new RedisLimitStore(`redis://127.0.0.1:${port}`, prefix);
    try {
      const { rate, quota } = await limited();
      const err = await store.acquire([rate], [quota], now).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toBeInstanceOf(UnansweredAcquire);
    } finally {
      await store.close();
    }
  });

  it('an acquire Redis runs after its cancel charges nothing', async () => {
    const { rate, quota } = await limited();
    const { acquire, cancel } = await givenUp(rate, quota);
    expect(await run(cancel)).toBe(1);
    expect(((await run(acquire)) as number[])[0]).toBe(3);
    expect(await taken(rate, quota)).toEqual({ quota: 1, rpm: 1 });
  }, 20_000);

  it('an acquire that ran (twice: sent again after a reconnect) is given back once by its cancel, however often that is sent', async () => {
    const { rate, quota } = await limited();
    const { acquire, cancel } = await givenUp(rate, quota);
    expect(((await run(acquire)) as number[])[0]).toBe(1);
    expect(((await run(acquire)) as number[])[0]).toBe(3);
    expect(await taken(rate, quota)).toEqual({ quota: 2, rpm: 2 });
    expect(await run(cancel)).toBe(2);
    expect(await run(cancel)).toBe(0);
    expect(await taken(rate, quota)).toEqual({ quota: 1, rpm: 1 });
  }, 20_000);

  it('an acquire that ran and was sent again (its first answer lost) is given back and asked once more: Redis decides it', async () => {
    const { rate, quota } = await limited();
    const store = new RedisLimitStore(`redis://127.0.0.1:${(proxy.address() as AddressInfo).port}`, prefix);
    expect(await store.connected(5000)).toBe(true);
    holding = true;
    held = [];
    try {
      const outcome = store.acquire([rate], [quota], now);
      while (heldScripts().length < 1) await new Promise((r) => setTimeout(r, 5));
      // It ran once (the answer the store never saw), then the same bytes reach Redis again, as ioredis resends them.
      const [acquire] = heldScripts();
      expect(((await run(acquire)) as number[])[0]).toBe(1);
      holding = false;
      upstream?.write(Buffer.concat(held));
      expect(await outcome).toMatchObject({ allowed: true, counters: [{ used: 2 }] });
      expect(await taken(rate, quota)).toEqual({ quota: 2, rpm: 2 });
    } finally {
      holding = false;
      await store.close();
    }
  }, 20_000);
});
