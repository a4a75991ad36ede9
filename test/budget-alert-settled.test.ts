import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Backend, databaseBackends, describeEachDatabase, describeWithRedis } from './harness/backends.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';
import { O1_PRICING, o1Control, startO1Upstream } from './harness/o1-upstream.js';

// A spend alert or a key's 50/80/100 % alert is told of the spend a request settles to. It was reckoned from the
// counter as the request's admission saw it, which holds the reservations of every other request then in flight
// (found by a review): a $5 project alert fired at "spent $6.00024" while the month had spent $0.00015 (another
// request reserving $6 was in flight), and was then claimed for the month, silent when the spend really reached $5;
// two requests settling $0.75 each at once, each reckoned without the other's spend, never told a $1 alert.

const ORG = '/v1/organization';
const MONTH_START = Date.UTC(2026, 4, 1);
const clock = { now: Date.UTC(2026, 4, 4, 10, 0, 0) };
/** Upstream answers: `out` output tokens of o1 ($60/M: 12,500 = $0.75); `hold` keeps answers until released. */
const ctl = o1Control();

function suite(backend: Backend, redisUrl?: string) {
  let upstream: Awaited<ReturnType<typeof startO1Upstream>> | undefined;
  let t: TestServer;
  beforeAll(async () => {
    upstream = await startO1Upstream(ctl);
    const url = upstream.url;
    const file = gatewayConfigFile({ providers: [{ name: 'up', base_url: url }], pricing: O1_PRICING });
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, ...(redisUrl ? { REDIS_URL: redisUrl } : {}) }, clock: () => clock.now });
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  const chat = async (key: string, max_tokens = 12_500) => {
    const r = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'o1', messages: [{ role: 'user', content: 'hi' }], max_tokens }),
    });
    await r.arrayBuffer();
    return r.status;
  };
  const alertsOf = async (id: string) => {
    // Raised after the answer: given a moment.
    await new Promise((r) => setTimeout(r, 300));
    const a = (await t.api('GET', `${ORG}/audit_logs?event_types=budget.threshold_crossed&limit=100`)).body.data as Array<Record<string, Record<string, unknown>>>;
    return a.map((e) => e['budget.threshold_crossed']).filter((d) => d.id === id || d.project_id === id);
  };
  const projectWithAlert = async (cents: number) => {
    const p = (await t.api('POST', `${ORG}/projects`, { body: { name: 'alerted' } })).body.id as string;
    const al = await t.api('POST', `${ORG}/projects/${p}/spend_alerts`, { body: { threshold_amount: cents, currency: 'USD', interval: 'month', notification_channel: { type: 'email', recipients: [] } } });
    expect(al.status, al.text).toBe(200);
    const key = (await t.api('POST', `${ORG}/projects/${p}/api_keys`, { body: { name: 'k' } })).body;
    return { p, key: key.value as string };
  };
  /** Runs `first` until the upstream holds it, then `during`, then lets `first` answer. */
  const whileHeld = async (first: () => Promise<number>, during: () => Promise<unknown>) => {
    ctl.hold = true;
    const a = first();
    while (ctl.held.length < 1) await new Promise((r) => setTimeout(r, 5));
    ctl.hold = false;
    await during();
    for (const release of ctl.held.splice(0)) release();
    expect(await a).toBe(200);
  };
  const costOf = async (p: string) => {
    await t.server.gateway.usage.flush();
    const costs = (await t.api('GET', `${ORG}/costs?start_time=${MONTH_START / 1000}&project_ids=${p}`)).body;
    return (costs.data as Array<{ results: Array<{ amount: { value: number } }> }>).flatMap((b) => b.results).reduce((s, r) => s + r.amount.value, 0);
  };

  it('a project spend alert is not told of another request\'s reservation, and is told when the spend reaches it', async () => {
    clock.now = Date.UTC(2026, 4, 4, 11, 0, 0);
    const { p, key } = await projectWithAlert(500);
    ctl.out = 1;
    // The held request reserves $6 (100,000 tokens of output); both cost $0.00006 (and an input token).
    await whileHeld(
      () => chat(key, 100_000),
      async () => expect(await chat(key, 100_000)).toBe(200),
    );
    expect(await costOf(p)).toBeLessThan(0.001);
    expect(await alertsOf(p)).toEqual([]);
    // Seven answers of $0.75 reach $5.25: told then, of what was spent.
    ctl.out = 12_500;
    for (let i = 0; i < 6; i++) expect(await chat(key)).toBe(200);
    expect(await alertsOf(p)).toEqual([]);
    expect(await chat(key)).toBe(200);
    const told = await alertsOf(p);
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ threshold_usd: 5 });
    expect(told[0].spent_usd).toBeCloseTo(await costOf(p), 4);
  });

  it('two requests settling at once that cross a spend alert together tell it', async () => {
    clock.now = Date.UTC(2026, 4, 5, 10, 0, 0);
    const { p, key } = await projectWithAlert(100);
    ctl.out = 12_500;
    // Each reserves $0.0006 (max_tokens 10) and is billed $0.75.
    ctl.hold = true;
    const both = [chat(key, 10), chat(key, 10)];
    while (ctl.held.length < 2) await new Promise((r) => setTimeout(r, 5));
    ctl.hold = false;
    for (const release of ctl.held.splice(0)) release();
    expect(await Promise.all(both)).toEqual([200, 200]);
    const told = await alertsOf(p);
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ threshold_usd: 1, spent_usd: 1.50003 });
    expect(await costOf(p)).toBeCloseTo(1.50003, 5);
  });

  it("a key's 50 % alert is not told of another request's reservation", async () => {
    clock.now = Date.UTC(2026, 4, 6, 10, 0, 0);
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k', spend_limit: { threshold_amount: 1000, interval: 'month' } } })).body;
    ctl.out = 1;
    // The held request reserves $6 of the $10 limit; the other one, little.
    await whileHeld(
      () => chat(key.value, 100_000),
      async () => expect(await chat(key.value, 10)).toBe(200),
    );
    expect(await alertsOf(key.id)).toEqual([]);
    // $10 limit: seven answers of $0.75 spend $5.25, past 50 %.
    ctl.out = 12_500;
    for (let i = 0; i < 7; i++) expect(await chat(key.value)).toBe(200);
    const told = await alertsOf(key.id);
    expect(told.map((d) => d.threshold_percent)).toEqual([50]);
    expect(told[0].spent_usd).toBeCloseTo(5.25, 3);
  });
}

describeEachDatabase('budget alerts told of settled spend, in the in-process store', (backend) => suite(backend));
describeWithRedis('budget alerts told of settled spend, on Redis', (redisUrl) => suite(databaseBackends().at(-1) as Backend, redisUrl));
