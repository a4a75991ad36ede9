import { createServer, type Server } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// Usages of OpenAI- and Anthropic-compatible servers that spell their counts their own way, each billed what the
// provider bills (found by a review, each under-billed): xAI's reasoning outside completion_tokens, LiteLLM's 1-hour
// cache writes, a Responses or Anthropic usage without an output count, reasoning text dropped from a translated
// stream's count, OpenAI's names at 0 beside the Responses API's. A fake upstream as provider `oai` (gpt-*) and `ant`
// (claude-*) answers by the request's `user` (OpenAI) or `metadata.user_id` (Anthropic).

const ORG = '/v1/organization';
const ANSWER = 'The quick brown fox jumps over the lazy dog. '.repeat(40); // ~400 tokens
const PRICE = { input: 3, cached_input: 0.3, cache_write_input: 3.75, cache_write_1h_input: 6, output: 15 };

type Scenario = { json?: unknown; sse?: string[] };
const sse = (o: unknown) => `data: ${typeof o === 'string' ? o : JSON.stringify(o)}\n\n`;
const ev = (type: string, o: unknown) => `event: ${type}\ndata: ${JSON.stringify(o)}\n\n`;
const chunkBase = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-x' };
const completion = (usage: unknown, content = 'ok') => ({ id: 'c', object: 'chat.completion', created: 1, model: 'gpt-x', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage });
const streamed = (usage: unknown, content = 'ok') => [
  sse({ ...chunkBase, choices: [{ index: 0, delta: { role: 'assistant', content }, finish_reason: null }] }),
  sse({ ...chunkBase, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
  sse({ ...chunkBase, choices: [], usage }),
  sse('[DONE]'),
];

// LiteLLM in front of Claude, 1-hour cache writes: the lifetimes in prompt_tokens_details.cache_creation_token_details.
const LITELLM_1H = {
  prompt_tokens: 100_010,
  completion_tokens: 10,
  total_tokens: 100_020,
  prompt_tokens_details: { cached_tokens: 0, cache_creation_tokens: 100_000, cache_creation_token_details: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 100_000 }, text_tokens: 10 },
  cache_creation_input_tokens: 100_000,
  cache_read_input_tokens: 0,
};
// xAI (and Vertex's Grok): reasoning_tokens not inside completion_tokens; total = prompt + completion + reasoning.
const XAI = { prompt_tokens: 1000, completion_tokens: 50, total_tokens: 11_050, completion_tokens_details: { reasoning_tokens: 10_000 } };
const NULL_OUTPUT = { input_tokens: 1000, output_tokens: null, total_tokens: 1000 };
const responseBody = (usage: unknown) => ({ id: 'resp_1', object: 'response', status: 'completed', model: 'gpt-x', output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: ANSWER, annotations: [] }] }], usage });
const anthropicMessage = (usage: unknown) => ({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-x', content: [{ type: 'text', text: ANSWER }], stop_reason: 'end_turn', stop_sequence: null, usage });

const S: Record<string, Scenario> = {
  'litellm-1h': { json: completion(LITELLM_1H) },
  'litellm-1h-stream': { sse: streamed(LITELLM_1H) },
  xai: { json: completion(XAI) },
  'xai-stream': { sse: streamed(XAI) },
  'both-names': { json: completion({ prompt_tokens: 0, completion_tokens: 0, input_tokens: 5000, output_tokens: 800, total_tokens: 5800 }) },
  'resp-null-output': { json: responseBody(NULL_OUTPUT) },
  'resp-stream-null-output': {
    sse: [
      ev('response.created', { type: 'response.created', sequence_number: 0, response: { id: 'resp_1', object: 'response', status: 'in_progress', output: [] } }),
      ev('response.output_text.delta', { type: 'response.output_text.delta', sequence_number: 1, item_id: 'msg_1', output_index: 0, content_index: 0, delta: ANSWER }),
      ev('response.output_text.done', { type: 'response.output_text.done', sequence_number: 2, item_id: 'msg_1', output_index: 0, content_index: 0, text: ANSWER }),
      ev('response.completed', { type: 'response.completed', sequence_number: 3, response: responseBody(NULL_OUTPUT) }),
    ],
  },
  // An Anthropic-compatible server's whole message whose usage has no output count (with cache counters and without).
  'ant-no-output': { json: anthropicMessage({ input_tokens: 1000, output_tokens: null }) },
  'ant-no-output-cache': { json: anthropicMessage({ input_tokens: 1000, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }) },
  // The same answer streamed, its message_delta without output_tokens (documented: counted).
  'ant-stream-no-output': {
    sse: [
      ev('message_start', { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-x', content: [], stop_reason: null, usage: { input_tokens: 1000, output_tokens: 1 } } }),
      ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ANSWER } }),
      ev('content_block_stop', { type: 'content_block_stop', index: 0 }),
      ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: {} }),
      ev('message_stop', { type: 'message_stop' }),
    ],
  },
  // An OpenAI-compatible reasoning server (vLLM, DeepSeek: reasoning_content) that reports no usage.
  'reasoning-no-usage': {
    sse: [
      sse({ ...chunkBase, choices: [{ index: 0, delta: { role: 'assistant', reasoning_content: ANSWER.repeat(10) }, finish_reason: null }] }),
      sse({ ...chunkBase, choices: [{ index: 0, delta: { content: 'Short.' }, finish_reason: null }] }),
      sse({ ...chunkBase, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
      sse('[DONE]'),
    ],
  },
};

async function startUpstream(): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    const body = JSON.parse(text) as { user?: string; metadata?: { user_id?: string } };
    const name = body.user ?? body.metadata?.user_id ?? '';
    const s = S[name];
    if (!s) {
      res.writeHead(500).end(`no scenario ${name}`);
      return;
    }
    if (s.sse) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const piece of s.sse) res.write(piece);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(s.json));
  });
  return { server, url: `${await listenOnLoopback(server)}/v1` };
}

describe('usages of compatible servers that spell their counts their own way', () => {
  let t: TestServer;
  let up: Awaited<ReturnType<typeof startUpstream>>;

  beforeAll(async () => {
    up = await startUpstream();
    const file = gatewayConfigFile({
      providers: [
        { name: 'ant', kind: 'anthropic', base_url: up.url, api_key_env: 'UP_KEY' },
        { name: 'oai', base_url: up.url, api_key_env: 'UP_KEY' },
      ],
      routes: { 'claude-*': 'ant', 'gpt-*': 'oai' },
      pricing: { 'gpt-x': PRICE, 'claude-x': PRICE },
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });

  const newKey = async (name: string) => (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name } })).body as { id: string; value: string };
  const openai = (key: { value: string }) => new OpenAI({ apiKey: key.value, baseURL: `${t.url}/v1`, maxRetries: 0 });
  async function billedOf(keyId: string) {
    const [e] = await usageEventsOf(t, keyId);
    return { input: Number(e.input_tokens), output: Number(e.output_tokens), write: Number(e.cache_write_tokens), write1h: Number(e.cache_write_1h_tokens), cost: Number(e.cost_nanousd) };
  }
  /** Chat, whole or streamed, answered by scenario `name`: what it was billed. */
  async function chat(name: string, stream = false) {
    const key = await newKey(name);
    const client = openai(key);
    if (stream) for await (const _ of await client.chat.completions.create({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }], user: name, stream: true })) void _;
    else await client.chat.completions.create({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }], user: name });
    return billedOf(key.id);
  }
  async function messages(name: string, model: string, stream = false) {
    const key = await newKey(name);
    const res = await fetch(`${t.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key.value, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model, max_tokens: 1000, metadata: { user_id: name }, messages: [{ role: 'user', content: 'hi' }], ...(stream ? { stream: true } : {}) }),
    });
    expect(res.status).toBe(200);
    await res.text();
    return billedOf(key.id);
  }

  it("LiteLLM's 1-hour cache writes are billed at the 1-hour rate, whole and streamed", async () => {
    for (const stream of [false, true]) {
      const b = await chat(stream ? 'litellm-1h-stream' : 'litellm-1h', stream);
      expect(b, String(stream)).toMatchObject({ input: 100_010, write: 100_000, write1h: 100_000, output: 10 });
      expect(b.cost).toBe(10 * 3000 + 100_000 * 6000 + 10 * 15000);
    }
  });

  it("xAI's reasoning reported outside completion_tokens is billed as output, whole and streamed", async () => {
    expect((await chat('xai')).output).toBe(10_050);
    expect((await chat('xai-stream', true)).output).toBe(10_050);
  });

  it("a usage whose OpenAI counts are 0 beside the Responses API's is billed the larger", async () => {
    expect(await chat('both-names')).toMatchObject({ input: 5000, output: 800 });
  });

  it('a Response whose usage has output_tokens null is billed its text, whole and streamed', async () => {
    const whole = await newKey('resp');
    await openai(whole).responses.create({ model: 'gpt-x', input: 'hi', user: 'resp-null-output' });
    const streamedKey = await newKey('resp-stream');
    let text = '';
    for await (const e of await openai(streamedKey).responses.create({ model: 'gpt-x', input: 'hi', user: 'resp-stream-null-output', stream: true })) if (e.type === 'response.output_text.delta') text += e.delta;
    expect(text).toBe(ANSWER);
    const [a, b] = [await billedOf(whole.id), await billedOf(streamedKey.id)];
    expect(a.input).toBe(1000);
    expect(a.output).toBeGreaterThan(300);
    expect(b.output).toBe(a.output);
  });

  it('an Anthropic-compatible message without an output count is billed its text, as the same message streamed is', async () => {
    const streamedOut = (await messages('ant-stream-no-output', 'claude-x', true)).output;
    expect(streamedOut).toBeGreaterThan(300);
    for (const name of ['ant-no-output', 'ant-no-output-cache']) {
      const b = await messages(name, 'claude-x');
      expect(b.input, name).toBe(1000);
      expect(b.output, name).toBe(streamedOut);
    }
  });

  it("a translated stream (Anthropic client, OpenAI-compatible server) counts the reasoning_content it got, as the native stream does, when no usage comes", async () => {
    const native = await newKey('native');
    for await (const _ of await openai(native).chat.completions.create({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }], user: 'reasoning-no-usage', stream: true })) void _;
    const n = await billedOf(native.id);
    expect(n.output).toBeGreaterThan(4000);
    expect((await messages('reasoning-no-usage', 'gpt-x', true)).output).toBe(n.output);
  });
});
