import { createServer } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// The parts of a request's tokens billed at rates of their own — audio input and output, Anthropic's cache writes,
// image input and output — recorded with its usage event and reported by the Usage API (OpenAI's
// input_audio_tokens, output_audio_tokens, input_cache_write_tokens, input_uncached_tokens, input_image_tokens,
// output_image_tokens). Found by a review: they were extracted from the answer and billed, but not recorded, and
// usage/completions answered input_audio_tokens: 0 for an audio model's requests.

const ORG = '/v1/organization';
/** The server's clock: 2026-01-14T10:30:00Z, mid-hour and mid-day. */
const NOW = Date.UTC(2026, 0, 14, 10, 30);
const NOW_S = NOW / 1000;

/** An audio chat model's usage: 100 input tokens (20 cached, 30 audio), 50 output (10 audio). */
const AUDIO_USAGE = {
  prompt_tokens: 100,
  completion_tokens: 50,
  total_tokens: 150,
  prompt_tokens_details: { cached_tokens: 20, audio_tokens: 30 },
  completion_tokens_details: { audio_tokens: 10, reasoning_tokens: 0 },
};
/** A Claude message's usage: 100 input tokens after the last breakpoint, 10,000 written to the cache (4,000 for an hour), 100 output. */
const CLAUDE_USAGE = { input_tokens: 100, cache_creation_input_tokens: 10_000, cache_creation: { ephemeral_5m_input_tokens: 6000, ephemeral_1h_input_tokens: 4000 }, cache_read_input_tokens: 0, output_tokens: 100 };

const upstream = createServer(async (req, res) => {
  let body = '';
  for await (const c of req) body += c;
  const p = body ? JSON.parse(body) : {};
  const path = (req.url ?? '').split('?')[0];
  const json = (o: unknown) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(o));
  };
  if (path === '/v1/chat/completions') {
    const base = { id: 'c1', created: 1, model: p.model };
    if (!p.stream) return json({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: AUDIO_USAGE });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: 'stop' }] })}\n\n`);
    res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage: AUDIO_USAGE })}\n\n`);
    res.write('data: [DONE]\n\n');
    return res.end();
  }
  if (path === '/v1/messages') {
    return json({ id: 'msg_1', type: 'message', role: 'assistant', model: p.model, content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn', stop_sequence: null, usage: CLAUDE_USAGE });
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message: `no ${path}`, type: 'invalid_request_error', param: null, code: null } }));
});

describeEachDatabase('token parts in the usage API', (backend) => {
  let t: TestServer;
  let key: { id: string; value: string };

  beforeAll(async () => {
    const url = `${await listenOnLoopback(upstream)}/v1`;
    const file = gatewayConfigFile({
      providers: [
        { name: 'ant', kind: 'anthropic', base_url: url, api_key_env: 'UP_KEY' },
        { name: 'oai', base_url: url, api_key_env: 'UP_KEY' },
      ],
      routes: { 'claude-*': 'ant', 'gpt-*': 'oai' },
    });
    t = await startTestServer(backend, { clock: () => NOW, env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
    key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k' } })).body;
    const client = new OpenAI({ apiKey: key.value, baseURL: `${t.url}/v1`, maxRetries: 0 });
    // The audio model, answered whole and streamed.
    await client.chat.completions.create({ model: 'gpt-4o-audio-preview', messages: [{ role: 'user', content: 'hi' }] });
    const s = await client.chat.completions.create({ model: 'gpt-4o-audio-preview', messages: [{ role: 'user', content: 'hi' }], stream: true });
    for await (const _ of s) {
      // drained
    }
    // Claude through Anthropic's Messages API, writing its prompt to the cache.
    const r = await fetch(`${t.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key.value, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(r.status).toBe(200);
    await t.server.gateway.usage.flush();
  });
  afterAll(async () => {
    await t?.close();
    upstream.close();
  });

  it('records the parts with each usage event', async () => {
    const rows = await t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', key.id).orderBy('created_at_ms').execute();
    const parts = rows.map((e) => [e.model, e.input_tokens, e.cached_tokens, e.cache_write_tokens, e.cache_write_1h_tokens, e.audio_input_tokens, e.output_tokens, e.audio_output_tokens]);
    expect(parts).toEqual([
      ['gpt-4o-audio-preview', 100, 20, 0, 0, 30, 50, 10],
      ['gpt-4o-audio-preview', 100, 20, 0, 0, 30, 50, 10],
      ['claude-sonnet-4-6', 10_100, 0, 10_000, 4000, 0, 100, 0],
    ]);
  });

  it("splits the Costs API's line items by every part's rate, adding up to what was billed", async () => {
    // Found by a review: the line items were priced from input, cached and output alone and the rest shared in their
    // proportions: Claude's output with 10,000 cache-write tokens showed $0.00185 for its 100 tokens at $15 per million.
    const c = await t.api('GET', `${ORG}/costs?start_time=${NOW_S - 60}&end_time=${NOW_S + 60}&group_by=line_item`);
    expect(c.status).toBe(200);
    const items = (c.body.data as Array<{ results: Array<{ line_item: string; amount: { value: number }; quantity: number }> }>).flatMap((b) => b.results);
    const nano = (v: number) => Math.round(v * 1e9);
    expect(Object.fromEntries(items.map((r) => [r.line_item, [nano(r.amount.value), r.quantity]]))).toEqual({
      // Uncached text and cache writes (5 minutes at $3.75, an hour at $6 per million), each at its rate.
      'claude-sonnet-4-6, input': [100 * 3000 + 6000 * 3750 + 4000 * 6000, 10_100],
      'claude-sonnet-4-6, output': [100 * 15_000, 100],
      // Twice: uncached text at $2.50 and audio at $40; cached at the input rate (no cached rate); text at $10, audio at $80.
      'gpt-4o-audio-preview, input': [2 * (50 * 2500 + 30 * 40_000), 160],
      'gpt-4o-audio-preview, cached input': [2 * 20 * 2500, 40],
      'gpt-4o-audio-preview, output': [2 * (40 * 10_000 + 10 * 80_000), 100],
    });
    const rows = await t.server.runtime.database.db.selectFrom('usage_events').select('cost_nanousd').where('api_key_id', '=', key.id).execute();
    expect(items.reduce((s, r) => s + nano(r.amount.value), 0)).toBe(rows.reduce((s, r) => s + Number(r.cost_nanousd), 0));
  });

  it('reports them in usage/completions, in minute, hour and day buckets', async () => {
    for (const width of ['1m', '1h', '1d']) {
      const u = await t.api('GET', `${ORG}/usage/completions?start_time=${NOW_S - 60}&end_time=${NOW_S + 60}&bucket_width=${width}&group_by=model`);
      expect(u.status).toBe(200);
      const results = (u.body.data as Array<{ results: Array<Record<string, unknown>> }>).flatMap((b) => b.results);
      const of = (model: string) => results.find((r) => r.model === model);
      expect(of('gpt-4o-audio-preview'), width).toMatchObject({
        num_model_requests: 2,
        input_tokens: 200,
        input_cached_tokens: 40,
        input_cache_write_tokens: 0,
        input_uncached_tokens: 160,
        input_audio_tokens: 60,
        output_tokens: 100,
        output_audio_tokens: 20,
        input_image_tokens: 0,
        output_image_tokens: 0,
      });
      expect(of('claude-sonnet-4-6'), width).toMatchObject({
        num_model_requests: 1,
        input_tokens: 10_100,
        input_cached_tokens: 0,
        input_cache_write_tokens: 10_000,
        input_uncached_tokens: 100,
        input_audio_tokens: 0,
        output_tokens: 100,
        output_audio_tokens: 0,
      });
    }
  });
});
