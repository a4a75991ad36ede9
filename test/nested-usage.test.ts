import { createServer, type Server } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// Groq's compound models answer their total usage and then a breakdown by the models they ran, each with a `usage` of
// its own. Found by a review: a whole answer's usage was read at its last `"usage"` key without checking that it was
// the root's, so 40,000 prompt and 3,000 completion tokens were billed as the last sub-model's 100 and 50. A stream's
// chunk carrying such nested usage after the one with the total was read the same way.

const ORG = '/v1/organization';
const TOTAL = { prompt_tokens: 40_000, completion_tokens: 3000, total_tokens: 43_000 };
const BREAKDOWN = {
  models: [
    { model: 'llama-3.3-70b', usage: { prompt_tokens: 39_900, completion_tokens: 2950, total_tokens: 42_850 } },
    { model: 'llama-guard', usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 } },
  ],
};

async function startUpstream(): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    const body = JSON.parse(text) as { user: string; stream?: boolean };
    const base = { id: 'chatcmpl-1', created: 1, model: 'compound-beta' };
    if (body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
      const c = { ...base, object: 'chat.completion.chunk' };
      let out = chunk({ ...c, choices: [{ index: 0, delta: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] });
      if (body.user === 'same-chunk') out += chunk({ ...c, choices: [], usage: TOTAL, x_groq: { id: 'req_1', usage: { prompt_tokens: 1, completion_tokens: 1 } }, usage_breakdown: BREAKDOWN });
      else out += chunk({ ...c, choices: [], usage: TOTAL }) + chunk({ ...c, choices: [], x_groq: { id: 'req_1', usage_breakdown: BREAKDOWN } });
      // In one read, [DONE] with it.
      res.end(`${out}data: [DONE]\n\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
        usage: TOTAL,
        usage_breakdown: BREAKDOWN,
        ...(body.user === 'more-after' ? { x_groq: { id: 'req_1' } } : {}),
      }),
    );
  });
  return { server, url: `${await listenOnLoopback(server)}/v1` };
}

describe('usage nested in an answer beside its own', () => {
  let t: TestServer;
  let up: { server: Server; url: string };

  beforeAll(async () => {
    up = await startUpstream();
    const file = gatewayConfigFile({ providers: [{ name: 'groq', base_url: up.url, api_key_env: 'UP_KEY' }], default_provider: 'groq', pricing: { 'compound-beta': { input: 1, output: 2 } } });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });

  async function billed(user: string, stream: boolean) {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: user } })).body as { id: string; value: string };
    const client = new OpenAI({ apiKey: key.value, baseURL: `${t.url}/v1`, maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'hi' }];
    if (stream) for await (const _ of await client.chat.completions.create({ model: 'compound-beta', messages, user, stream: true, stream_options: { include_usage: true } })) void _;
    else await client.chat.completions.create({ model: 'compound-beta', messages, user });
    const [e] = await usageEventsOf(t, key.id);
    return { input: Number(e.input_tokens), output: Number(e.output_tokens), cost: Number(e.cost_nanousd) };
  }
  const total = { input: 40_000, output: 3000, cost: 40_000 * 1000 + 3000 * 2000 };

  for (const user of ['last', 'more-after']) {
    it(`bills a whole answer by its own usage, not the last nested one (${user})`, async () => {
      expect(await billed(user, false)).toEqual(total);
    });
  }

  for (const user of ['later-chunk', 'same-chunk']) {
    it(`bills a stream by its usage chunk's own usage, not a nested one (${user})`, async () => {
      expect(await billed(user, true)).toEqual(total);
    });
  }
});
