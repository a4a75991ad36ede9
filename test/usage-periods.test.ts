import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { budgetStandings } from '../src/services/budget-standing.js';
import { describeEachDatabase } from './harness/backends.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// Found by an outside review: (1) a request that began before a period's end (midnight, a month's last second) and
// ended after it was charged to the period it began in by its budget, and shown in the next one by the usage API, the
// costs API and the dashboard's budget standing: the budget's January counter never held it, and after a restart it
// was counted in January. A usage event is now stamped with the request's arrival. (2) A refused retrieval of a
// response (GET /responses/{id}) counted as refused in hour and day buckets but not in minute ones.

const ORG = '/v1/organization';
// m1 at $1 input, $0.5 cached input, $2 output per million; each answer: 1,000 input (200 cached), 500 output tokens.
const COST = 800 * 1000 + 200 * 500 + 500 * 2000; // nano-dollars: $0.0019
const clock = { now: Date.UTC(2026, 11, 31, 23, 59, 59, 900), advanceTo: null as number | null };

describeEachDatabase('usage across a period boundary', (backend) => {
  let upstream: Server;
  let t: TestServer;

  beforeAll(async () => {
    upstream = createServer(async (req, res) => {
      let text = '';
      for await (const c of req) text += c;
      // The request takes the clock over the boundary before its answer comes.
      if (clock.advanceTo !== null) {
        clock.now = clock.advanceTo;
        clock.advanceTo = null;
      }
      const body = JSON.parse(text || '{}') as { model?: string };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'c1',
          object: 'chat.completion',
          created: 1,
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 1000, prompt_tokens_details: { cached_tokens: 200 }, completion_tokens: 500, total_tokens: 1500 },
        }),
      );
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const config = { providers: [{ name: 'u', base_url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, api_key_env: 'U_KEY' }], default_provider: 'u', pricing: { m1: { input: 1, cached_input: 0.5, output: 2 } } };
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: gatewayConfigFile(config), U_KEY: 'sk-u', TOLLGATE_USAGE_RETENTION_DAYS: 'forever' }, clock: () => clock.now });
  });
  afterAll(async () => {
    await t?.close();
    await new Promise<void>((r) => upstream?.close(() => r()));
  });

  const chat = (key: string) =>
    fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm1', messages: [{ role: 'user', content: 'hi' }], max_tokens: 600 }),
    });
  // biome-ignore lint/suspicious/noExplicitAny: the API's JSON
  const get = async (path: string): Promise<any> => {
    await t.server.gateway.usage.flush();
    const r = await t.api('GET', path);
    expect(r.status, r.text).toBe(200);
    return r.body;
  };

  it('a request that ends after midnight on New Year is the old period’s in its budget and in every report', async () => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'b', spend_limit: { threshold_amount: 100, interval: 'month' } } })).body;
    clock.now = Date.UTC(2026, 11, 31, 23, 59, 59, 900);
    clock.advanceTo = Date.UTC(2027, 0, 1, 0, 0, 0, 100);
    expect((await chat(key.value)).status).toBe(200);
    clock.now = Date.UTC(2027, 0, 1, 0, 0, 5);
    const second = await chat(key.value);
    expect(second.status).toBe(200);
    // January's counter holds only the second request's reservation: the first was charged to December.
    const january = 1 - Number(second.headers.get('x-tollgate-remaining-budget-usd'));
    expect(january).toBeLessThan(COST / 1e9);
    const range = `start_time=${Date.UTC(2026, 11, 31) / 1000}&end_time=${Date.UTC(2027, 0, 2) / 1000}&api_key_ids=${key.id}`;
    const usage = await get(`${ORG}/usage/completions?${range}`);
    const byDay = (buckets: Array<{ start_time: number; results: Array<Record<string, number>> }>, field: string) =>
      Object.fromEntries(buckets.map((b) => [new Date(b.start_time * 1000).toISOString().slice(0, 10), b.results.reduce((n, r) => n + r[field], 0)]));
    expect(byDay(usage.data, 'num_model_requests')).toEqual({ '2026-12-31': 1, '2027-01-01': 1 });
    const costs = await get(`${ORG}/costs?${range}`);
    const costByDay = Object.fromEntries(
      costs.data.map((b: { start_time: number; results: Array<{ amount: { value: number } }> }) => [
        new Date(b.start_time * 1000).toISOString().slice(0, 10),
        b.results.reduce((n, r) => n + Number(r.amount.value), 0),
      ]),
    );
    expect(costByDay).toEqual({ '2026-12-31': COST / 1e9, '2027-01-01': COST / 1e9 });
    // The budget's standing in January: the second request alone.
    const standings = await budgetStandings(t.server.runtime.deps, t.orgId, { projectId: t.defaultProjectId, keyId: key.id });
    const keyBudget = JSON.stringify(standings);
    expect(keyBudget).toContain(String(COST / 1e9));
    expect(keyBudget).not.toContain(String((2 * COST) / 1e9));
  });

  it('a refused retrieval of a response counts as refused in minute buckets as in hour and day ones', async () => {
    clock.now = Date.UTC(2027, 0, 5, 10, 0, 0);
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'r', rate_limits: { max_requests_per_1_minute: 1 } } })).body;
    expect((await chat(key.value)).status).toBe(200);
    // Not this project's: refused (404) before it reaches a limit.
    expect((await fetch(`${t.url}/v1/responses/resp_abc`, { headers: { authorization: `Bearer ${key.value}` } })).status).toBe(404);
    expect((await chat(key.value)).status).toBe(429);
    const s = clock.now / 1000;
    const counts: Record<string, number[]> = {};
    for (const width of ['1m', '1h', '1d']) {
      const u = await get(`${ORG}/usage/completions?start_time=${s}&end_time=${s + 60}&bucket_width=${width}&api_key_ids=${key.id}`);
      const results = u.data.flatMap((b: { results: Array<Record<string, number>> }) => b.results);
      counts[width] = ['num_model_requests', 'num_refused_requests'].map((f) => results.reduce((n: number, r: Record<string, number>) => n + r[f], 0));
    }
    expect(counts).toEqual({ '1m': [1, 2], '1h': [1, 2], '1d': [1, 2] });
  });
});
