import { createServer, type Server } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';
import { chatCompletionJson } from './harness/fake-upstream.js';

// LiteLLM and other OpenAI-compatible proxies answer OpenAI's usage with Anthropic's cache counters beside it at the top
// level. Found by a review: the cache counters made the usage read as Anthropic's (input_tokens + cache, output_tokens),
// neither of which it has, so 10,000 prompt and 5,000 completion tokens were billed 0 tokens, $0, streamed or whole.
// And a usage naming prompt_tokens but no completion_tokens was billed 0 output, the answer's text not counted.

const ORG = '/v1/organization';

/** What the fake upstream answers as its usage, by the request's `user`. */
const USAGES: Record<string, Record<string, unknown>> = {
  litellm: { prompt_tokens: 10_000, completion_tokens: 5000, total_tokens: 15_000, prompt_tokens_details: { cached_tokens: 0 }, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  // An Anthropic model behind LiteLLM, its caches used: prompt_tokens holds the cache reads and writes already.
  cached: { prompt_tokens: 10_000, completion_tokens: 5000, total_tokens: 15_000, prompt_tokens_details: { cached_tokens: 4000 }, cache_creation_input_tokens: 2000, cache_read_input_tokens: 4000 },
  'no-output': { prompt_tokens: 10_000, completion_tokens: null, total_tokens: 10_000 },
  'output-missing': { prompt_tokens: 10_000 },
};
const ANSWER = 'The quick brown fox jumps over the lazy dog. '.repeat(20);

async function startUpstream(): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    const body = JSON.parse(text) as { user: string; stream?: boolean };
    const usage = USAGES[body.user];
    if (body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
      const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'claude-sonnet' };
      chunk({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: ANSWER }, finish_reason: null }] });
      chunk({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
      chunk({ ...base, choices: [], usage });
      res.end('data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(chatCompletionJson('claude-sonnet', ANSWER, usage));
  });
  return { server, url: `${await listenOnLoopback(server)}/v1` };
}

describe('usage of an OpenAI-compatible proxy that adds cache counters', () => {
  let t: TestServer;
  let up: { server: Server; url: string };

  beforeAll(async () => {
    up = await startUpstream();
    const file = gatewayConfigFile({
      providers: [{ name: 'litellm', base_url: up.url, api_key_env: 'UP_KEY' }],
      default_provider: 'litellm',
      pricing: { 'claude-sonnet': { input: 3, cached_input: 0.3, cache_write_input: 3.75, output: 15 } },
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });

  async function call(user: string, stream: boolean) {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: user } })).body as { id: string; value: string };
    const client = new OpenAI({ apiKey: key.value, baseURL: `${t.url}/v1`, maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'Say it.' }];
    if (stream) {
      let text = '';
      for await (const chunk of await client.chat.completions.create({ model: 'claude-sonnet', messages, user, stream: true })) text += chunk.choices[0]?.delta?.content ?? '';
      expect(text).toBe(ANSWER);
    } else {
      const answer = await client.chat.completions.create({ model: 'claude-sonnet', messages, user });
      expect(answer.choices[0].message.content).toBe(ANSWER);
    }
    const [event] = await usageEventsOf(t, key.id);
    return { ...event, cost_nanousd: Number(event.cost_nanousd) } as Record<string, unknown> & { cost_nanousd: number };
  }

  for (const stream of [false, true]) {
    const how = stream ? 'streamed' : 'whole';

    it(`bills OpenAI's counts, not 0, when Anthropic's cache counters stand beside them (${how})`, async () => {
      expect(await call('litellm', stream)).toMatchObject({ input_tokens: 10_000, output_tokens: 5000, cached_tokens: 0, cost_nanousd: 10_000 * 3000 + 5000 * 15_000, unpriced: 0 });
    });

    it(`prices the cache reads and writes prompt_tokens holds at their rates, counting no token twice (${how})`, async () => {
      const e = await call('cached', stream);
      expect(e).toMatchObject({ input_tokens: 10_000, output_tokens: 5000, cached_tokens: 4000, cache_write_tokens: 2000 });
      expect(e.cost_nanousd).toBe(4000 * 300 + 2000 * 3750 + 4000 * 3000 + 5000 * 15_000);
    });

    for (const user of ['no-output', 'output-missing']) {
      it(`counts the delivered answer when the usage names no completion_tokens (${user}, ${how})`, async () => {
        const e = await call(user, stream);
        expect(e.input_tokens).toBe(10_000);
        // 20 × 10 words and their spaces and stops: well over 100 tokens.
        expect(Number(e.output_tokens)).toBeGreaterThan(100);
        expect(e.cost_nanousd).toBe(10_000 * 3000 + Number(e.output_tokens) * 15_000);
      });
    }
  }
});
