import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LimitsGuard } from '../src/services/limits-guard.js';
import { describeWithRedis } from './harness/backends.js';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// A request's settle moves its budget reservation to what it cost, on Redis when instances share limits. Found by an
// outside review: (1) a settle onto a counter Redis had lost (a restart without persistence, an eviction) made the
// counter anew from its negative delta, which was then never seeded from stored usage again: the period's whole spend
// was forgotten and a $10 cap let $19.50 through; (2) a settle while Redis was unreachable for a moment was dropped,
// and the reservation stayed counted as spent for the rest of the period. Settles now land only on the counter they
// reserved in (its epoch), and are tried again until Redis takes them.

const ORG = '/v1/organization';
const RESERVED = 750_000_000; // $0.75: 12,500 output tokens of o1 at $60 per million, what each call reserves and a full answer costs
const CHEAP = 600_000; // $0.0006: 10 output tokens

describeWithRedis('budget settles on Redis', (redisUrl) => {
  let upstream: Server;
  let t: TestServer;
  let hold: (() => void) | null = null;
  let holdNext = false;
  const redis = new Redis(redisUrl);
  // Redis behind a proxy that can be cut, as a network blip cuts it.
  const target = new URL(redisUrl);
  let reachable = true;
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    if (!reachable) return client.destroy();
    const server = net.connect(Number(target.port || 6379), target.hostname);
    for (const s of [client, server]) sockets.add(s);
    client.pipe(server);
    server.pipe(client);
    const end = () => {
      for (const s of [client, server]) {
        s.destroy();
        sockets.delete(s);
      }
    };
    for (const s of [client, server]) s.on('error', end).on('close', end);
  });

  const chat = (key: string) =>
    fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'o1', messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 12_500 }),
    });
  const capped = async (cents: number) =>
    (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'capped', spend_limit: { threshold_amount: cents, interval: 'month' } } })).body as { id: string; value: string };
  const spent = async (keyId: string) => (await usageEventsOf(t, keyId)).reduce((n, r) => n + Number(r.cost_nanousd), 0);
  const pendingSettles = () => (t.server.gateway.guard as LimitsGuard).pendingSettles;
  const held = async () => {
    while (!hold) await new Promise((r) => setTimeout(r, 5));
    const release = hold;
    hold = null;
    return release;
  };
  const dropCounters = async (keyId: string) => {
    const keys = (await redis.keys('tg:*')).filter((k) => k.includes(keyId));
    expect(keys.length).toBeGreaterThan(0);
    await redis.del(...keys);
  };

  beforeAll(async () => {
    upstream = createServer(async (req, res) => {
      for await (const _ of req);
      let out = 12_500;
      if (holdNext) {
        holdNext = false;
        await new Promise<void>((r) => (hold = r));
        out = 10;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'o1', choices: [], usage: { prompt_tokens: 0, completion_tokens: out, total_tokens: out } }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const file = gatewayConfigFile({ providers: [{ name: 'up', base_url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1` }], pricing: { o1: { input: 15, output: 60 } } });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, REDIS_URL: `redis://127.0.0.1:${(proxy.address() as AddressInfo).port}` } });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    redis.disconnect();
    proxy.close();
    await new Promise<void>((r) => upstream?.close(() => r()));
  });

  it('a counter Redis lost while a request was in flight is counted again from stored usage (what this instance had not written yet too), not made from the settle', async () => {
    const key = await capped(1000); // $10
    for (let i = 0; i < 12; i++) expect((await chat(key.value)).status).toBe(200); // $9.00
    holdNext = true;
    const inFlight = chat(key.value);
    const release = await held();
    await dropCounters(key.id);
    release();
    expect((await inFlight).status).toBe(200);
    const burst = await Promise.all(Array.from({ length: 20 }, () => chat(key.value)));
    expect(burst.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
    expect(await spent(key.id)).toBeLessThanOrEqual(1000 * 10_000_000);
  }, 60_000);

  it('a late settle leaves alone a counter seeded again meanwhile (it never held that reservation)', async () => {
    const key = await capped(1000); // $10
    for (let i = 0; i < 12; i++) expect((await chat(key.value)).status).toBe(200); // $9.00
    holdNext = true;
    const inFlight = chat(key.value); // reserves $0.75 in the counter about to be lost
    const release = await held();
    await t.server.gateway.usage.flush();
    await dropCounters(key.id);
    // Seeded again from stored usage ($9.00), then $0.75 reserved and spent: $9.75.
    expect((await chat(key.value)).status).toBe(200);
    release(); // settles $0.0006 against a $0.75 reservation the new counter never held
    expect((await inFlight).status).toBe(200);
    const burst = await Promise.all(Array.from({ length: 20 }, () => chat(key.value)));
    expect(burst.filter((r) => r.status === 200)).toHaveLength(0);
    expect(await spent(key.id)).toBe(12 * RESERVED + RESERVED + CHEAP);
  }, 60_000);

  it('a settle refused while Redis is unreachable lands once it is back: the reservation is not kept as spent', async () => {
    const key = await capped(200); // $2: room for the spend so far and one reservation
    expect((await chat(key.value)).status).toBe(200);
    const counter = async () => Number(await redis.get((await redis.keys('tg:*')).find((k) => k.includes(key.id) && !k.endsWith(':e') && !k.endsWith(':r')) as string));
    // Its settle lands just after its answer.
    for (let i = 0; i < 100 && (await counter()) !== RESERVED; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await counter()).toBe(RESERVED);
    holdNext = true;
    const inFlight = chat(key.value);
    const release = await held();
    reachable = false;
    for (const s of sockets) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    release();
    expect((await inFlight).status).toBe(200);
    expect(pendingSettles()).toBeGreaterThan(0);
    reachable = true;
    for (let i = 0; i < 200 && (pendingSettles()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(pendingSettles()).toBe(0);
    expect(await counter()).toBe(RESERVED + CHEAP);
    expect((await chat(key.value)).status).toBe(200);
  }, 60_000);
});
