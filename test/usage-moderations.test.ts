import { createServer } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// GET /v1/organization/usage/moderations counts the moderation requests a model answered (num_model_requests, with
// the input tokens their answers report, 0 where none: OpenAI's report none), as OpenAI's does, and Tollgate's
// num_refused_requests apart. Moderations are free: never billed, nothing in the Costs API. Found by a review: the
// route answered empty buckets whatever was moderated (the kind was left out of what Tollgate meters, and the rollups
// counted only billed requests).

const ORG = '/v1/organization';
/** The server's clock: 2026-01-14T10:30:00Z, mid-hour and mid-day. */
const NOW = Date.UTC(2026, 0, 14, 10, 30);
const NOW_S = NOW / 1000;

const upstream = createServer(async (req, res) => {
  let body = '';
  for await (const c of req) body += c;
  const p = body ? JSON.parse(body) : {};
  if ((req.url ?? '').split('?')[0] !== '/v1/moderations') {
    res.writeHead(404);
    return res.end();
  }
  if (p.model === 'broken-moderation') {
    res.writeHead(500, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ error: { message: 'down', type: 'server_error', param: null, code: null } }));
  }
  const answer = { id: 'modr-1', model: p.model, results: [{ flagged: false, categories: {}, category_scores: {} }] };
  // An OpenAI-compatible server's moderation (Mistral's) reports usage; OpenAI's does not.
  const usage = p.model === 'mistral-moderation-latest' ? { usage: { prompt_tokens: 12, completion_tokens: 0, total_tokens: 12 } } : {};
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ ...answer, ...usage }));
});

interface Result {
  object: string;
  model: string | null;
  api_key_id: string | null;
  input_tokens: number;
  num_model_requests: number;
  num_refused_requests: number;
  cost_usd: number;
}

describeEachDatabase('moderations in the usage API', (backend) => {
  let t: TestServer;
  let open: { id: string; value: string };
  let limited: { id: string; value: string };

  beforeAll(async () => {
    const url = await listenOnLoopback(upstream);
    const file = gatewayConfigFile({ providers: [{ name: 'fake', base_url: `${url}/v1`, api_key_env: 'UP_KEY' }] });
    t = await startTestServer(backend, { clock: () => NOW, env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up' } });
    const newKey = async (body: Record<string, unknown>) => (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body })).body;
    open = await newKey({ name: 'open' });
    limited = await newKey({ name: 'gpt-4o only', allowed_models: ['gpt-4o'] });
    const client = (key: { value: string }) => new OpenAI({ apiKey: key.value, baseURL: `${t.url}/v1`, maxRetries: 0 });
    for (let i = 0; i < 3; i++) await client(open).moderations.create({ model: 'omni-moderation-latest', input: 'hello' });
    await client(open).moderations.create({ model: 'mistral-moderation-latest', input: 'hello' });
    // Failed upstream: not a model request. Refused (model not allowed): counted apart.
    await expect(client(open).moderations.create({ model: 'broken-moderation', input: 'hello' })).rejects.toMatchObject({ status: 500 });
    await expect(client(limited).moderations.create({ model: 'omni-moderation-latest', input: 'hello' })).rejects.toMatchObject({ status: 403 });
    await t.server.gateway.usage.flush();
  });
  afterAll(async () => {
    await t?.close();
    upstream.close();
  });

  it('counts the moderations a model answered, with the input tokens their answers report, and refusals apart, by minute, hour and day', async () => {
    for (const width of ['1m', '1h', '1d']) {
      const u = await t.api('GET', `${ORG}/usage/moderations?start_time=${NOW_S - 60}&end_time=${NOW_S + 60}&bucket_width=${width}&group_by=model,api_key_id`);
      expect(u.status).toBe(200);
      const results = (u.body.data as Array<{ results: Result[] }>).flatMap((b) => b.results);
      expect(results, width).toHaveLength(3);
      expect(results, width).toEqual(expect.arrayContaining([
        expect.objectContaining({ object: 'organization.usage.moderations.result', model: 'mistral-moderation-latest', api_key_id: open.id, num_model_requests: 1, input_tokens: 12, num_refused_requests: 0, cost_usd: 0 }),
        expect.objectContaining({ model: 'omni-moderation-latest', api_key_id: open.id, num_model_requests: 3, input_tokens: 0, num_refused_requests: 0, cost_usd: 0 }),
        expect.objectContaining({ model: 'omni-moderation-latest', api_key_id: limited.id, num_model_requests: 0, input_tokens: 0, num_refused_requests: 1 }),
      ]));
      // In OpenAI's shape: no token kinds it does not report for moderations.
      expect(Object.keys(results[0]).sort()).toEqual(
        ['api_key_id', 'cost_usd', 'input_tokens', 'model', 'num_model_requests', 'num_refused_requests', 'num_unpriced_requests', 'object', 'project_id', 'user_id'].sort(),
      );
    }
  });

  it('leaves them out of the Costs API: free, in every grouping', async () => {
    for (const group of ['', '&group_by=line_item', '&group_by=api_key_id', '&group_by=project_id', `&api_key_ids=${open.id}`]) {
      const c = await t.api('GET', `${ORG}/costs?start_time=${NOW_S - 60}&end_time=${NOW_S + 60}${group}`);
      expect(c.status, group).toBe(200);
      expect((c.body.data as Array<{ results: unknown[] }>).flatMap((b) => b.results), group).toEqual([]);
    }
  });

  it('records a moderation unbilled, with its answer\'s input tokens', async () => {
    const rows = await t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('endpoint', '=', '/moderations').orderBy('created_at_ms').execute();
    expect(rows.map((e) => [e.model, e.outcome, e.billable, e.input_tokens, Number(e.cost_nanousd)])).toEqual([
      ['omni-moderation-latest', 'ok', 0, 0, 0],
      ['omni-moderation-latest', 'ok', 0, 0, 0],
      ['omni-moderation-latest', 'ok', 0, 0, 0],
      ['mistral-moderation-latest', 'ok', 0, 12, 0],
      ['broken-moderation', 'upstream_error', 0, 0, 0],
      ['omni-moderation-latest', 'refused', 0, 0, 0],
    ]);
  });
});
