import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// A model Tollgate does not know to show all it generates (llama-3.3-70b on an OpenAI-compatible server) is read on to
// its usage when its client hangs up: generated to its end, which the key pays. A provider's `shows_all_output` (the
// operator's word that its models, or those it names, show all they generate) has such a stream cut where its client
// left, billed what it delivered — unless the request asks for reasoning, as for the built-in list.
const ORG = '/v1/organization';
/** The whole generation's usage, sent last: what a stream read on to its end is billed. */
const USAGE = { prompt_tokens: 20, completion_tokens: 3_000, total_tokens: 3_020 };

describe("a provider's shows_all_output: streams of the models it names are cut when their client hangs up", () => {
  let up: Server;
  let url = '';
  /** Whether the upstream's stream for a request (by its tag, the user message) was cut before its usage. */
  const cut = new Map<string, boolean>();
  const servers: TestServer[] = [];
  let plain: TestServer;
  let listed: TestServer;
  let tags = 0;

  beforeAll(async () => {
    up = createServer(async (req, res) => {
      let text = '';
      for await (const c of req) text += c;
      const body = JSON.parse(text) as { model: string; messages: Array<{ content: unknown }> };
      const tag = JSON.stringify(body.messages.at(-1)?.content);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const base = { id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model };
      const chunk = (o: object) => res.write(`data: ${JSON.stringify({ ...base, ...o })}\n\n`);
      chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'The answer is 42.' }, finish_reason: null }] });
      // Generating slowly: a client gone by now has the stream cut here, unless the gateway reads on.
      for (let i = 0; i < 8 && !res.destroyed; i++) await new Promise((r) => setTimeout(r, 50));
      cut.set(tag, res.destroyed);
      if (res.destroyed) return;
      chunk({ choices: [{ index: 0, delta: { content: ' And much more.' }, finish_reason: 'stop' }] });
      chunk({ choices: [], usage: USAGE });
      res.end('data: [DONE]\n\n');
    });
    url = `${await listenOnLoopback(up)}/v1`;
    const price = { input: 0.59, output: 0.79 };
    const pricing = { 'llama-3.3-70b': price, 'mistral-small': price, 'qwen3-32b': price, 'my-model': price };
    const start = async (providers: object[], routes: Record<string, string> = {}) => {
      const file = gatewayConfigFile({ providers, routes, default_provider: 'groq', pricing });
      const t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
      servers.push(t);
      return t;
    };
    plain = await start([{ name: 'groq', base_url: url, api_key_env: 'UP_KEY' }]);
    listed = await start(
      [
        { name: 'groq', base_url: url, api_key_env: 'UP_KEY', shows_all_output: ['llama-*', 'mistral-small'] },
        { name: 'vllm', base_url: url, api_key_env: 'UP_KEY', shows_all_output: true },
      ],
      { 'my-*': 'vllm' },
    );
  });
  afterAll(async () => {
    for (const t of servers) await t.close();
    up?.close();
  });

  /** Streams `model` through `path`, reads until the visible answer, hangs up; the usage event and whether the upstream was cut. */
  async function hangUp(t: TestServer, model: string, extra: Record<string, unknown> = {}, path = '/v1/chat/completions') {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: model } })).body as { id: string; value: string };
    const tag = `question ${++tags}`;
    const headers: Record<string, string> = { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' };
    if (path === '/v1/messages') headers['anthropic-version'] = '2023-06-01';
    const abort = new AbortController();
    const res = await fetch(`${t.url}${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model, stream: true, max_tokens: 4000, messages: [{ role: 'user', content: tag }], ...extra }),
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let got = '';
    while (!got.includes('The answer is 42.')) got += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    const [e] = await usageEventsOf(t, key.id);
    await expect.poll(() => cut.has(JSON.stringify(tag)), { timeout: 3000 }).toBe(true);
    return { e, cut: cut.get(JSON.stringify(tag)) };
  }

  it('without the setting, llama-3.3-70b is read on to its end and billed its whole usage', async () => {
    const { e, cut: wasCut } = await hangUp(plain, 'llama-3.3-70b');
    expect(e.outcome).toBe('client_aborted');
    expect(wasCut).toBe(false);
    expect(Number(e.output_tokens)).toBe(3_000);
  });

  it('named by the provider (a prefix, an exact name), or by shows_all_output: true: cut, billed what it delivered', async () => {
    for (const model of ['llama-3.3-70b', 'mistral-small', 'my-model']) {
      const { e, cut: wasCut } = await hangUp(listed, model);
      expect(e.outcome, model).toBe('client_aborted');
      expect(wasCut, model).toBe(true);
      expect(Number(e.output_tokens), model).toBeLessThan(20);
      expect(Number(e.output_tokens), model).toBeGreaterThan(0);
    }
  });

  it('a model of that provider its list does not name is still read on', async () => {
    const { e, cut: wasCut } = await hangUp(listed, 'qwen3-32b');
    expect(wasCut).toBe(false);
    expect(Number(e.output_tokens)).toBe(3_000);
  });

  it('a request asking for reasoning is read on, whatever the setting says', async () => {
    for (const [model, extra] of [
      ['llama-3.3-70b', { reasoning_effort: 'high' }],
      ['my-model', { include_reasoning: true }],
    ] as const) {
      const { e, cut: wasCut } = await hangUp(listed, model, extra);
      expect(wasCut, model).toBe(false);
      expect(Number(e.output_tokens), model).toBe(3_000);
    }
  });

  it('translated (an Anthropic client, an OpenAI-compatible server): the same rule', async () => {
    const without = await hangUp(plain, 'llama-3.3-70b', {}, '/v1/messages');
    expect(without.cut).toBe(false);
    expect(Number(without.e.output_tokens)).toBe(3_000);
    const named = await hangUp(listed, 'llama-3.3-70b', {}, '/v1/messages');
    expect(named.cut).toBe(true);
    expect(Number(named.e.output_tokens)).toBeLessThan(20);
    const thinking = await hangUp(listed, 'llama-3.3-70b', { output_config: { effort: 'high' } }, '/v1/messages');
    expect(thinking.cut).toBe(false);
    expect(Number(thinking.e.output_tokens)).toBe(3_000);
  });
});
