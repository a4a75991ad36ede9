import { createServer } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// An answer whose cached tokens exceed its prompt tokens (an upstream's miscount) was billed with the cached count
// capped at the input, but recorded as sent: the Usage API answered input_cached_tokens above input_tokens, took the
// excess from another request's uncached tokens in the same bucket, and the Costs API's line items gave quantities
// (50 input, 150 cached) unlike the tokens billed (100 and 100). Found by a review. The event records what was billed.

const ORG = '/v1/organization';
const NOW = Date.UTC(2026, 0, 14, 10, 30);
const S = NOW / 1000;
let rid = 0;
const upstream = createServer(async (req, res) => {
  let body = '';
  for await (const c of req) body += c;
  const p = body ? JSON.parse(body) : {};
  res.writeHead(200, { 'content-type': 'application/json' });
  const usage = p.user === 'odd' ? { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110, prompt_tokens_details: { cached_tokens: 150 } } : { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110 };
  res.end(JSON.stringify({ id: `c${++rid}`, object: 'chat.completion', created: 1, model: p.model, choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage }));
});

describeEachDatabase('cached tokens above the input', (backend) => {
  let t: TestServer;
  let k: { id: string; value: string };
  beforeAll(async () => {
    const url = `${await listenOnLoopback(upstream)}/v1`;
    const file = gatewayConfigFile({ providers: [{ name: 'oai', base_url: url, api_key_env: 'UP_KEY' }], routes: { '*': 'oai' } });
    t = await startTestServer(backend, { clock: () => NOW, env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
    k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k1' } })).body;
    const c = new OpenAI({ apiKey: k.value, baseURL: `${t.url}/v1`, maxRetries: 0 });
    await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
    await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], user: 'odd' });
    await t.server.gateway.usage.flush();
    await new Promise((r) => setTimeout(r, 200));
    await t.server.gateway.usage.flush();
  });
  afterAll(async () => {
    await t?.close();
    upstream.close();
  });
  it('records the cached tokens billed (at most the input), so usage and costs agree with the bill', async () => {
    const evs = await t.server.runtime.database.db.selectFrom('usage_events').select(['input_tokens', 'cached_tokens', 'cost_nanousd']).orderBy('cost_nanousd', 'desc').execute();
    // gpt-4o-mini: $0.15/M input, $0.075/M cached, $0.60/M output.
    expect(evs.map((e) => [Number(e.input_tokens), Number(e.cached_tokens), Number(e.cost_nanousd)])).toEqual([
      [100, 0, 21_000],
      [100, 100, 13_500],
    ]);
    const u = await t.api('GET', `${ORG}/usage/completions?start_time=${S - 60}&end_time=${S + 60}`);
    expect(u.body.data[0].results[0]).toMatchObject({ input_tokens: 200, input_cached_tokens: 100, input_uncached_tokens: 100, num_model_requests: 2 });
    const c = await t.api('GET', `${ORG}/costs?start_time=${S - 60}&end_time=${S + 60}&group_by=line_item`);
    const items = c.body.data[0].results as { line_item: string; quantity: number | null; amount: { value: number } }[];
    const input = items.find((i) => i.line_item === 'gpt-4o-mini, input');
    const cached = items.find((i) => i.line_item === 'gpt-4o-mini, cached input');
    expect(input?.quantity).toBe(100);
    expect(cached?.quantity).toBe(100);
    expect(input?.amount.value).toBeCloseTo(0.000015, 12);
    expect(cached?.amount.value).toBeCloseTo(0.0000075, 12);
  });
});
