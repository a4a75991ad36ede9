import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeAnthropic, startFakeAnthropic } from './harness/fake-anthropic-upstream.js';
import { ANTHROPIC_PROVIDER_KEY } from './harness/provider-servers.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Fallbacks in routes (issue 20 §3): a provider that cannot answer before anything reached the client (429, 502/503/
// 504, no connection) hands the request to the route's next fallback, another provider or model; a 500 (the request
// may have run) is answered as it is. The request is billed once, as what answered, and a pricier fallback model is
// admitted again under the key's spend limit.

const ORG = '/v1/organization';

interface Fake {
  server: Server;
  url: string;
  seen: Array<{ model: string; stream: boolean }>;
  /** The status the next requests get (200: a chat completion). */
  status: number;
  /** When set, only this model gets `status` (others are answered). */
  only: string | null;
  /** Streams: break off after the first chunk. */
  cut: boolean;
}

async function fake(name: string): Promise<Fake> {
  const f: Fake = { server: createServer(), url: '', seen: [], status: 200, only: null, cut: false };
  f.server.on('request', async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { model: string; stream?: boolean };
    f.seen.push({ model: body.model, stream: body.stream === true });
    if (f.status !== 200 && (f.only === null || f.only === body.model)) {
      res.writeHead(f.status, { 'content-type': 'application/json', 'retry-after': '30' });
      res.end(JSON.stringify({ error: { message: `${name} says ${f.status}`, type: 'server_error', code: null } }));
      return;
    }
    const usage = { prompt_tokens: 10, completion_tokens: 1000, total_tokens: 1010 };
    if (body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
      chunk({ id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [{ index: 0, delta: { content: name }, finish_reason: null }] });
      if (f.cut) {
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      chunk({ id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
      chunk({ id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [], usage });
      res.end('data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: name }, finish_reason: 'stop' }], usage }));
  });
  await new Promise<void>((r) => f.server.listen(0, '127.0.0.1', r));
  f.url = `http://127.0.0.1:${(f.server.address() as AddressInfo).port}/v1`;
  return f;
}

describe('fallbacks in routes', () => {
  let main: Fake;
  let alt: Fake;
  let flaky: Fake;
  let ant: FakeAnthropic;
  let t: TestServer;
  let key: { id: string; value: string };
  const client = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${t.url}/v1`, maxRetries: 0 });
  const ask = (apiKey: string, model: string, extra: Record<string, unknown> = {}) =>
    client(apiKey).chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming);
  const events = async (keyId: string) => {
    await t.server.gateway.usage.flush();
    return t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', keyId).orderBy('created_at_ms').execute();
  };

  beforeAll(async () => {
    main = await fake('main');
    alt = await fake('alt');
    flaky = await fake('flaky');
    ant = await startFakeAnthropic(ANTHROPIC_PROVIDER_KEY);
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-fallbacks-'));
    const file = join(dir, 'tollgate.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        providers: [
          { name: 'main', base_url: main.url, api_key_env: 'MAIN_KEY' },
          { name: 'alt', base_url: alt.url, api_key_env: 'ALT_KEY' },
          // Nothing listens on port 9: no connection is ever made.
          { name: 'dead', base_url: 'http://127.0.0.1:9/v1', api_key_env: 'ALT_KEY' },
          { name: 'flaky', base_url: flaky.url, api_key_env: 'ALT_KEY', circuit_breaker: { failures: 2, cool_off_ms: 400 } },
          { name: 'ant', kind: 'anthropic', base_url: ant.url, api_key_env: 'ANT_KEY' },
          { name: 'flaky2', base_url: flaky.url, api_key_env: 'ALT_KEY', circuit_breaker: { failures: 2, cool_off_ms: 60_000 } },
        ],
        routes: {
          'gpt-4o-mini': { provider: 'main', fallbacks: [{ provider: 'alt' }] },
          'gpt-4.1-mini': { provider: 'dead', fallbacks: [{ provider: 'alt' }] },
          'gpt-4.1-nano': { provider: 'main', fallbacks: [{ model: 'gpt-4o' }] },
          'gpt-4-turbo': 'flaky',
          // The fake answers this model 529 (overloaded).
          'claude-overloaded': { provider: 'ant', fallbacks: [{ model: 'claude-haiku-4-5' }] },
          'gpt-4-0613': { provider: 'flaky2', fallbacks: [{ provider: 'alt' }] },
          'gpt-3.5-turbo': { provider: 'main', fallbacks: [{ provider: 'dead' }, { provider: 'alt' }], max_attempts: 2 },
          // Another model on main, then the route's own model on alt.
          'gpt-4o': { provider: 'main', fallbacks: [{ model: 'gpt-4o-mini' }, { provider: 'alt' }] },
        },
        default_provider: 'main',
      }),
    );
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, MAIN_KEY: 'sk-main-0000', ALT_KEY: 'sk-alt-0000', ANT_KEY: ANTHROPIC_PROVIDER_KEY } });
    key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'fallbacks' } })).body;
  });
  afterAll(async () => {
    await t?.close();
    main?.server.close();
    flaky?.server.close();
    await ant?.close();
    alt?.server.close();
  });
  beforeEach(() => {
    main.status = 200;
    alt.status = 200;
    main.only = null;
    main.cut = false;
    flaky.status = 200;
    flaky.seen.length = 0;
    main.seen.length = 0;
    alt.seen.length = 0;
  });

  it('goes to the fallback provider on a 503, and bills once, as the provider that answered', async () => {
    main.status = 503;
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'one' } })).body;
    const answer = await ask(k.value, 'gpt-4o-mini');
    expect(answer.choices[0].message.content).toBe('alt');
    expect(main.seen).toEqual([{ model: 'gpt-4o-mini', stream: false }]);
    expect(alt.seen).toEqual([{ model: 'gpt-4o-mini', stream: false }]);
    const rows = await events(k.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ provider: 'alt', credential: 'ALT_KEY', model: 'gpt-4o-mini', status: 200, output_tokens: 1000 });
  });

  it('falls back on a 429 and on a streamed request before its first byte', async () => {
    main.status = 429;
    expect((await ask(key.value, 'gpt-4o-mini')).choices[0].message.content).toBe('alt');
    const stream = await client(key.value).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    expect(text).toBe('alt');
  });

  it('does not fall back on a 500: the provider may have run the request', async () => {
    main.status = 500;
    const err = await ask(key.value, 'gpt-4o-mini').catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(main.seen).toHaveLength(1);
    expect(alt.seen).toHaveLength(0);
  });

  it('falls back when the provider cannot be reached', async () => {
    expect((await ask(key.value, 'gpt-4.1-mini')).choices[0].message.content).toBe('alt');
    expect(alt.seen).toEqual([{ model: 'gpt-4.1-mini', stream: false }]);
  });

  it('gives the last failure when every fallback fails, after no more than max_attempts', async () => {
    main.status = 503;
    alt.status = 503;
    const err = await ask(key.value, 'gpt-4o-mini').catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect([main.seen.length, alt.seen.length]).toEqual([1, 1]);
    // gpt-3.5-turbo: main, then dead (unreachable), and alt would be the third attempt of two.
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'max' } })).body;
    const last = await ask(k.value, 'gpt-3.5-turbo').catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect((last as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(alt.seen).toHaveLength(1);
    expect((await events(k.id))[0]).toMatchObject({ provider: 'dead', error_code: 'upstream_error' });
  });

  it('falls back to another model, billed as that model', async () => {
    main.status = 429;
    main.only = 'gpt-4.1-nano';
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'model' } })).body;
    const answer = await ask(k.value, 'gpt-4.1-nano');
    expect(answer.model).toBe('gpt-4o');
    expect(main.seen.map((s) => s.model)).toEqual(['gpt-4.1-nano', 'gpt-4o']);
    const rows = await events(k.id);
    expect(rows).toHaveLength(1);
    // 10 input and 1,000 output tokens of gpt-4o ($2.50 and $10 per million): $0.010025.
    expect(rows[0]).toMatchObject({ provider: 'main', model: 'gpt-4o', cost_nanousd: 10_025_000 });
  });

  it("a fallback naming no model sends the route's own, even after a fallback to another model (found by an outside review)", async () => {
    // `{provider: alt}` is "the same model on another provider": it had been sent the previous fallback's model.
    main.status = 503;
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'route-model' } })).body;
    const answer = await ask(k.value, 'gpt-4o');
    expect(answer.choices[0].message.content).toBe('alt');
    expect(main.seen.map((s) => s.model)).toEqual(['gpt-4o', 'gpt-4o-mini']);
    expect(alt.seen.map((s) => s.model)).toEqual(['gpt-4o']);
    const rows = await events(k.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ provider: 'alt', model: 'gpt-4o', status: 200 });
  });

  it('does not let a pricier fallback model escape a spend limit, nor use a model the key may not', async () => {
    main.status = 429;
    // One cent: 5,000 output tokens of gpt-4.1-nano ($0.40/M) fit, of gpt-4o ($10/M) they do not.
    const budget = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'budget', spend_limit: { threshold_amount: 1, interval: 'month' } } })).body;
    const err = await ask(budget.value, 'gpt-4.1-nano', { max_tokens: 5000 }).catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
    expect(main.seen.map((s) => s.model)).toEqual(['gpt-4.1-nano']);
    expect((await events(budget.id)).map((r) => [r.model, r.cost_nanousd])).toEqual([['gpt-4.1-nano', 0]]);
    main.seen.length = 0;
    const allow = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'allow', allowed_models: ['gpt-4.1-nano'] } })).body;
    const refused = await ask(allow.value, 'gpt-4.1-nano').catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
    expect(main.seen.map((s) => s.model)).toEqual(['gpt-4.1-nano']);
  });
  it('opens the breaker after K failures: a clear 503 in OpenAI’s shape (Anthropic’s on /v1/messages), then one probe closes it', async () => {
    flaky.status = 503;
    for (let i = 0; i < 2; i++) expect((await t.api('POST', '/v1/chat/completions', { key: key.value, body: { model: 'gpt-4-turbo', messages: [{ role: 'user', content: 'hi' }] } })).status).toBe(503);
    expect(flaky.seen).toHaveLength(2);
    const open = await t.api('POST', '/v1/chat/completions', { key: key.value, body: { model: 'gpt-4-turbo', messages: [{ role: 'user', content: 'hi' }] } });
    expect(open.status).toBe(503);
    expect(open.body.error).toMatchObject({ code: 'upstream_unavailable', type: 'api_error' });
    expect(open.body.error.message).toMatch(/flaky/);
    const messages = await t.api('POST', '/v1/messages', { key: key.value, headers: { 'anthropic-version': '2023-06-01' }, body: { model: 'gpt-4-turbo', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] } });
    expect(messages.status).toBe(503);
    expect(messages.body).toMatchObject({ type: 'error', error: { details: { error_code: 'upstream_unavailable' } } });
    // Nothing was sent while open.
    expect(flaky.seen).toHaveLength(2);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain('tollgate_provider_circuit_open{provider="flaky"} 1');
    expect(metrics).toContain('tollgate_provider_circuit_opened_total{provider="flaky"} 1');
    expect(metrics).toMatch(/tollgate_upstream_duration_seconds_count\{provider="flaky",credential="none",outcome="upstream_error"\} 2/);
    await new Promise((r) => setTimeout(r, 450));
    flaky.status = 200;
    expect((await ask(key.value, 'gpt-4-turbo')).choices[0].message.content).toBe('flaky');
    expect((await ask(key.value, 'gpt-4-turbo')).choices[0].message.content).toBe('flaky');
    expect(flaky.seen).toHaveLength(4);
  });

  it('sends to the fallback while the breaker is open, without trying the failing provider', async () => {
    flaky.status = 502;
    for (let i = 0; i < 2; i++) expect((await ask(key.value, 'gpt-4-0613')).choices[0].message.content).toBe('alt');
    expect(flaky.seen).toHaveLength(2);
    for (let i = 0; i < 3; i++) expect((await ask(key.value, 'gpt-4-0613')).choices[0].message.content).toBe('alt');
    expect(flaky.seen).toHaveLength(2);
    expect(alt.seen).toHaveLength(5);
  });
  it('falls back on Anthropic’s 529, for a request translated from OpenAI’s API, billed as the model that answered', async () => {
    ant.seen.length = 0;
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'translated' } })).body;
    const answer = await ask(k.value, 'claude-overloaded', { max_tokens: 50 });
    expect(answer.object).toBe('chat.completion');
    expect(answer.model).toBe('claude-haiku-4-5');
    expect(ant.seen.map((s) => JSON.parse(s.body).model)).toEqual(['claude-overloaded', 'claude-haiku-4-5']);
    const rows = await events(k.id);
    expect(rows.map((r) => [r.provider, r.model, r.credential, r.status])).toEqual([['ant', 'claude-haiku-4-5', 'ANT_KEY', 200]]);
  });
  it('never falls back once a byte reached the client: a stream cut in the middle stays cut', async () => {
    main.cut = true;
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'cut' } })).body;
    const stream = await client(k.value).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    const err = await (async () => {
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    })().catch((e: unknown) => e);
    expect(text).toBe('main');
    expect(err).toBeDefined();
    expect(alt.seen).toHaveLength(0);
    // Metered once the server has seen the cut (it may finish after the client gave up).
    let rows = await events(k.id);
    for (let i = 0; i < 50 && rows.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      rows = await events(k.id);
    }
    expect(rows.map((r) => [r.provider, r.outcome])).toEqual([['main', 'stream_interrupted']]);
  });
});

