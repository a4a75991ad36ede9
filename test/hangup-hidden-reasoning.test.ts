import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// A client that reads a stream's visible answer and hangs up before its usage chunk. A model that reasoned unseen
// before that answer (Gemini 2.5 thinks by default and does not show it, grok-4 likewise) has its reasoning billed by
// the provider: the stream is read on to its usage. It used to be so only for OpenAI's reasoning models by name: on
// gemini-2.5-pro and grok-4 the stream was cut and billed 6 output tokens of 10,010 (found by a review). Now every
// model not known to show all it generates is read on; a known one (gpt-4o) is still cut, as is a model priced at
// nothing.
const ORG = '/v1/organization';
const USAGE = { prompt_tokens: 20, completion_tokens: 10_010, total_tokens: 10_030, completion_tokens_details: { reasoning_tokens: 10_000 } };

describe('a client that hangs up on a stream of a model that may reason unseen, whatever its provider', () => {
  let t: TestServer;
  let up: Server;
  /** Whether the upstream's stream for a model was cut before it could send its usage. */
  const cut = new Map<string, boolean>();
  beforeAll(async () => {
    up = createServer(async (req, res) => {
      let text = '';
      for await (const c of req) text += c;
      const body = JSON.parse(text) as { model: string };
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const base = { id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model };
      const chunk = (o: object) => res.write(`data: ${JSON.stringify({ ...base, ...o })}\n\n`);
      // (the thinking happened before this first visible chunk)
      chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'The answer is 42.' }, finish_reason: null }] });
      await new Promise((r) => setTimeout(r, 400));
      cut.set(body.model, res.destroyed);
      if (res.destroyed) return;
      chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
      chunk({ choices: [], usage: USAGE });
      res.end('data: [DONE]\n\n');
    });
    const url = `${await listenOnLoopback(up)}/v1`;
    const price = { input: 1.25, output: 10 };
    const models = ['o3', 'gemini-2.5-pro', 'grok-4', 'qwen3-235b-a22b', 'deepseek-reasoner', 'acme-large', 'gpt-4o'];
    const pricing = { ...Object.fromEntries(models.map((m) => [m, price])), 'local-model': { input: 0, output: 0 } };
    const file = gatewayConfigFile({ providers: [{ name: 'oai', base_url: url, api_key_env: 'UP_KEY' }], default_provider: 'oai', pricing });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.close();
  });

  /** Streams `model`, reads the first chunk (the whole visible answer), hangs up; the usage event recorded. */
  async function hangUpAfterAnswer(model: string, extra: Record<string, unknown> = {}) {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: model } })).body as { id: string; value: string };
    const abort = new AbortController();
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'hard question' }], ...extra }),
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('The answer is 42.');
    abort.abort();
    const [e] = await usageEventsOf(t, key.id);
    return e;
  }

  for (const model of ['o3', 'gemini-2.5-pro', 'grok-4', 'qwen3-235b-a22b', 'deepseek-reasoner', 'acme-large']) {
    it(`${model}: read on to its usage, billed its hidden reasoning`, async () => {
      const e = await hangUpAfterAnswer(model);
      expect(e.outcome).toBe('client_aborted');
      expect(Number(e.output_tokens)).toBe(10_010);
      expect(Number(e.input_tokens)).toBe(20);
      expect(cut.get(model)).toBe(false);
    });
  }

  it("a client's word that it wants no reasoning does not make a model not known to show all be cut", async () => {
    const e = await hangUpAfterAnswer('gemini-2.5-pro', { reasoning_effort: 'none', user: 'second' });
    expect(Number(e.output_tokens)).toBe(10_010);
  });

  it('gpt-4o (known to show all it generates) and a model priced at nothing are still cut, billed what they delivered', async () => {
    for (const model of ['gpt-4o', 'local-model']) {
      const e = await hangUpAfterAnswer(model);
      expect(e.outcome, model).toBe('client_aborted');
      expect(Number(e.output_tokens), model).toBeLessThan(20);
      await expect.poll(() => cut.get(model), { timeout: 2000 }).toBe(true);
    }
  });
});
