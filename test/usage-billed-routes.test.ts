import { createServer } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// Every billed request counts in some kind of the Usage API, as the Costs API bills it: a background response's
// cancellation (`POST /responses/{id}/cancel`, billed with the usage it answers, as the retrieval of its result is) and
// a model call on a route the API does not list or by another method than the API's (billed by the usage its answer
// reported). Found by a review: a cancelled background response was in /costs and in no usage bucket of any width (its
// route was rolled up under 'other', and the minute buckets' routes were the same list).

const ORG = '/v1/organization';
/** The server's clock: 2026-01-14T10:30:00Z, mid-hour and mid-day. */
const NOW = Date.UTC(2026, 0, 14, 10, 30);
const NOW_S = NOW / 1000;
const CANCEL_USAGE = { input_tokens: 1000, input_tokens_details: { cached_tokens: 200 }, output_tokens: 3000, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 4000 };

const upstream = createServer(async (req, res) => {
  let body = '';
  for await (const c of req) body += c;
  const p = body ? JSON.parse(body) : {};
  const path = (req.url ?? '').split('?')[0];
  const json = (o: unknown) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(o));
  };
  const response = (id: string, status: string, usage: unknown) => ({ id, object: 'response', created_at: 1, model: 'gpt-4o', background: true, status, output: [], usage });
  if (req.method === 'POST' && path === '/v1/responses') return json(response('resp_bg1', 'queued', null));
  if (req.method === 'GET' && path === '/v1/responses/resp_bg1') return json(response('resp_bg1', 'in_progress', null));
  if (req.method === 'POST' && path === '/v1/responses/resp_bg1/cancel') return json(response('resp_bg1', 'cancelled', CANCEL_USAGE));
  // An OpenAI-compatible server's own route (Mistral's fill-in-the-middle), and a PUT it runs as a POST.
  if (path === '/v1/fim/completions') return json({ id: 'fim1', object: 'chat.completion', model: p.model, choices: [], usage: { prompt_tokens: 40, completion_tokens: 60, total_tokens: 100 } });
  if (req.method === 'PUT' && path === '/v1/embeddings') return json({ object: 'list', data: [], model: p.model, usage: { prompt_tokens: 9, total_tokens: 9 } });
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message: `no ${req.method} ${path}`, type: 'invalid_request_error', param: null, code: null } }));
});

interface Completions {
  input_tokens: number;
  input_cached_tokens: number;
  output_tokens: number;
  num_model_requests: number;
  cost_usd: number;
}

describeEachDatabase('billed requests of every route, in the usage API', (backend) => {
  let t: TestServer;
  let key: { id: string; value: string };

  beforeAll(async () => {
    const url = await listenOnLoopback(upstream);
    const file = gatewayConfigFile({ providers: [{ name: 'fake', base_url: `${url}/v1`, api_key_env: 'UP_KEY' }], pass_through_paths: ['/v1/fim/completions'] });
    t = await startTestServer(backend, { clock: () => NOW, env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up' } });
    key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k' } })).body;
    const client = new OpenAI({ apiKey: key.value, baseURL: `${t.url}/v1`, maxRetries: 0 });
    // A background response, retrieved unfinished (not billed), then cancelled: billed by its cancellation.
    const r = await client.responses.create({ model: 'gpt-4o', input: 'hi', background: true });
    expect((await client.responses.retrieve(r.id)).status).toBe('in_progress');
    expect((await client.responses.cancel(r.id)).status).toBe('cancelled');
    // A route the API does not list, and a PUT naming a model: billed by the usage their answers report.
    expect((await t.api('POST', '/v1/fim/completions', { key: key.value, body: { model: 'gpt-4o-mini', prompt: 'def' } })).status).toBe(200);
    expect((await t.api('PUT', '/v1/embeddings', { key: key.value, body: { model: 'text-embedding-3-small', input: 'hi' } })).status).toBe(200);
    await t.server.gateway.usage.flush();
  });
  afterAll(async () => {
    await t?.close();
    upstream.close();
  });

  /** The billed events, as the gateway recorded them. */
  async function billed() {
    const rows = await t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', key.id).where('billable', '=', 1).execute();
    return rows.map((e) => ({ method: e.method, endpoint: e.endpoint, model: e.model, input: e.input_tokens, output: e.output_tokens, nano: Number(e.cost_nanousd) }));
  }

  const results = async (kind: string, width: string) => {
    const u = await t.api('GET', `${ORG}/usage/${kind}?start_time=${NOW_S - 600}&end_time=${NOW_S + 60}&bucket_width=${width}&group_by=model&limit=${width === '1m' ? 1440 : width === '1h' ? 168 : 31}`);
    expect(u.status).toBe(200);
    return (u.body.data as Array<{ results: Array<Completions & { model: string }> }>).flatMap((b) => b.results);
  };

  it("counts a cancelled background response as a completion, in minute, hour and day buckets, as the Costs API bills it", async () => {
    const events = await billed();
    const cancel = events.find((e) => e.endpoint === '/responses/{response_id}/cancel');
    expect(cancel).toMatchObject({ method: 'POST', model: 'gpt-4o', input: 1000, output: 3000 });
    for (const width of ['1m', '1h', '1d']) {
      const gpt4o = (await results('completions', width)).filter((r) => r.model === 'gpt-4o');
      expect(gpt4o, width).toEqual([
        expect.objectContaining({ num_model_requests: 1, input_tokens: 1000, input_cached_tokens: 200, output_tokens: 3000, cost_usd: (cancel?.nano ?? 0) / 1e9 }),
      ]);
    }
  });

  it("counts a billed model call of a route no kind lists (or by another method) under its route's POST kind, else as a completion", async () => {
    const events = await billed();
    expect(events.map((e) => `${e.method} ${e.endpoint}`).sort()).toEqual(['POST /fim/*', 'POST /responses/{response_id}/cancel', 'PUT /embeddings']);
    for (const width of ['1m', '1h', '1d']) {
      expect((await results('completions', width)).filter((r) => r.model === 'gpt-4o-mini'), width).toEqual([
        expect.objectContaining({ num_model_requests: 1, input_tokens: 40, output_tokens: 60 }),
      ]);
      expect(await results('embeddings', width), width).toEqual([expect.objectContaining({ model: 'text-embedding-3-small', num_model_requests: 1, input_tokens: 9 })]);
    }
  });

  it('adds up to the Costs API: every billed nano-dollar is in some usage kind', async () => {
    const costs = await t.api('GET', `${ORG}/costs?start_time=${NOW_S - 86_400}&end_time=${NOW_S + 60}&limit=2`);
    const billedUsd = (costs.body.data as Array<{ results: Array<{ amount: { value: number } }> }>).flatMap((b) => b.results).reduce((s, r) => s + r.amount.value, 0);
    const total = (await billed()).reduce((s, e) => s + e.nano, 0);
    expect(billedUsd).toBeCloseTo(total / 1e9, 9);
    for (const width of ['1m', '1h', '1d']) {
      let usd = 0;
      for (const kind of ['completions', 'embeddings', 'images', 'audio_speeches', 'audio_transcriptions']) for (const r of await results(kind, width)) usd += r.cost_usd;
      expect(usd, width).toBeCloseTo(total / 1e9, 9);
    }
  });
});
