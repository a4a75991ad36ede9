import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Backend, databaseBackends, describeEachDatabase, describeWithRedis } from './harness/backends.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';
import { O1_PRICING, o1Control, startO1Upstream } from './harness/o1-upstream.js';

// Which counter a budget alert watches, and when it counts as told, as limits change (found by a review):
// - a project's spend limit deleted sent its spend alerts back to the counter they had before the limit was set, which
//   had missed the spend made under the limit: a $3 alert stayed silent at $3.75 spent;
// - a key's spend limit raised mid-month kept its 50/80/100 % claimed from the old limit: no alert of the new one;
// - a rolling-window key limit claimed its alerts for the day: told again each day the window stayed over them.

const ORG = '/v1/organization';
const clock = { now: Date.UTC(2026, 4, 4, 10, 0, 0) };
/** Every answer: 12,500 output tokens and one input token of o1 ($60/M output, $15/M input): $0.750015. */
const ANSWER_USD = 0.750015;

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
  const run = async (key: string, n: number) => {
    for (let i = 0; i < n; i++) expect(await chat(key)).toBe(200);
    await t.server.gateway.usage.flush();
  };
  const alertsOf = async (id: string) => {
    // Raised after the answer: given a moment.
    await new Promise((r) => setTimeout(r, 300));
    const a = (await t.api('GET', `${ORG}/audit_logs?event_types=budget.threshold_crossed&limit=100`)).body.data as Array<Record<string, Record<string, unknown>>>;
    return a.map((e) => e['budget.threshold_crossed']).filter((d) => d.id === id).reverse();
  };

  it("a project's spend alerts go on counting the month's spend when its spend limit is deleted", async () => {
    clock.now = Date.UTC(2026, 4, 20, 10, 0, 0);
    const p = (await t.api('POST', `${ORG}/projects`, { body: { name: 'removed' } })).body.id as string;
    const al = await t.api('POST', `${ORG}/projects/${p}/spend_alerts`, { body: { threshold_amount: 300, currency: 'USD', interval: 'month', notification_channel: { type: 'email', recipients: [] } } });
    expect(al.status, al.text).toBe(200);
    const key = (await t.api('POST', `${ORG}/projects/${p}/api_keys`, { body: { name: 'k' } })).body.value as string;
    await run(key, 1);
    expect((await t.api('POST', `${ORG}/projects/${p}/spend_limit`, { body: { threshold_amount: 10_000, interval: 'month' } })).status).toBe(200);
    await run(key, 2);
    expect((await t.api('DELETE', `${ORG}/projects/${p}/spend_limit`)).status).toBe(200);
    expect(await alertsOf(p)).toEqual([]);
    // $3.00006 after the fourth answer: told then.
    await run(key, 1);
    const told = await alertsOf(p);
    expect(told.map((d) => [d.threshold_usd, d.limit_usd])).toEqual([[3, null]]);
    expect(told[0].spent_usd).toBeCloseTo(4 * ANSWER_USD, 5);
    // Removed, the limit's GET is a 404 and a new one starts as a new one does (a month, enforcing).
    expect((await t.api('GET', `${ORG}/projects/${p}/spend_limit`)).status).toBe(404);
    const again = await t.api('POST', `${ORG}/projects/${p}/spend_limit`, { body: { threshold_amount: 500 } });
    expect(again.body).toMatchObject({ threshold_amount: 500, interval: 'month', enforcement: { status: 'enforcing' } });
  });

  it("the organization's spend alerts go on counting the month's spend when its spend limit is deleted", async () => {
    // Another month: the organization's spend is everyone's.
    clock.now = Date.UTC(2026, 6, 20, 10, 0, 0);
    const al = await t.api('POST', `${ORG}/spend_alerts`, { body: { threshold_amount: 300, currency: 'USD', interval: 'month', notification_channel: { type: 'email', recipients: [] } } });
    expect(al.status, al.text).toBe(200);
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k' } })).body.value as string;
    await run(key, 1);
    expect((await t.api('POST', `${ORG}/spend_limit`, { body: { threshold_amount: 100_000, interval: 'month' } })).status).toBe(200);
    await run(key, 2);
    expect((await t.api('DELETE', `${ORG}/spend_limit`)).status).toBe(200);
    await run(key, 1);
    const told = (await alertsOf(t.orgId)).filter((d) => d.period === 'm2026-07');
    expect(told.map((d) => d.threshold_usd)).toEqual([3]);
    expect(told[0].spent_usd).toBeCloseTo(4 * ANSWER_USD, 5);
    expect((await t.api('DELETE', `${ORG}/spend_alerts/${al.body.id}`)).status).toBe(200);
  });

  it("a key's spend limit raised mid-month tells its 50/80/100 % of the new limit", async () => {
    clock.now = Date.UTC(2026, 4, 23, 10, 0, 0);
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'raised', spend_limit: { threshold_amount: 150, interval: 'month' } } })).body;
    const until429 = async () => {
      let n = 0;
      while ((await chat(k.value)) === 200) n++;
      return n;
    };
    // $0.75 of $1.50, then refused: every alert of the limit is told (the cap leaves no room).
    expect(await until429()).toBe(1);
    const byPercent = (a: Record<string, unknown>, b: Record<string, unknown>) => Number(a.threshold_percent) - Number(b.threshold_percent);
    expect((await alertsOf(k.id)).sort(byPercent).map((d) => [d.threshold_percent, d.limit_usd])).toEqual([
      [50, 1.5],
      [80, 1.5],
      [100, 1.5],
    ]);
    expect((await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}`, { body: { spend_limit: { threshold_amount: 300, interval: 'month' } } })).status).toBe(200);
    expect(await until429()).toBe(2);
    const told = (await alertsOf(k.id)).filter((d) => d.limit_usd === 3);
    expect(told.sort(byPercent).map((d) => d.threshold_percent)).toEqual([50, 80, 100]);
    // 50 % is told at the settle that reached it, of the spend then.
    expect(told.find((d) => d.threshold_percent === 50)?.spent_usd).toBeCloseTo(2 * ANSWER_USD, 5);
  });

  it("a rolling window's alerts are told once while the window holds them, not again each day", async () => {
    clock.now = Date.UTC(2026, 7, 10, 10, 0, 0);
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'rolling', spend_limit: { threshold_amount: 100, interval: 'rolling_7d' } } })).body;
    // $0.75 of $1: 50 %; the next days' requests are refused (no room): 80 and 100 % on the first of them.
    expect(await chat(k.value)).toBe(200);
    await alertsOf(k.id);
    for (let d = 1; d <= 3; d++) {
      clock.now = Date.UTC(2026, 7, 10 + d, 10, 0, 0);
      expect(await chat(k.value)).toBe(429);
      // A day apart: the day's alerts are written before the next day's request.
      await alertsOf(k.id);
    }
    const told = (await alertsOf(k.id)).map((d) => [d.period, d.threshold_percent]).sort((a, b) => String(a).localeCompare(String(b)));
    expect(told).toEqual([
      ['d2026-08-10', 50],
      ['d2026-08-11', 100],
      ['d2026-08-11', 80],
    ]);
    // A week after the first: 10 August's spend has left the window, and 50 % is told when it is crossed again.
    clock.now = Date.UTC(2026, 7, 17, 10, 0, 0);
    expect(await chat(k.value)).toBe(200);
    const later = (await alertsOf(k.id)).filter((d) => d.period === 'd2026-08-17');
    expect(later.map((d) => d.threshold_percent)).toEqual([50]);
  });
}

describeEachDatabase('budget alerts as limits change, in the in-process store', (backend) => suite(backend));
describeWithRedis('budget alerts as limits change, on Redis', (redisUrl) => suite(databaseBackends().at(-1) as Backend, redisUrl));
