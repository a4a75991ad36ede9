import { createServer, type Server } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from './harness/provider-config.js';
import { readEvents } from './harness/sse.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// An OpenAI-compatible upstream that interleaves two parallel tool calls' argument pieces (index 0, 1, 0, 1), as
// some do, streamed to an Anthropic client through /v1/messages. Anthropic sends each block's start, deltas and stop
// together; the translation stopped block 0 when block 1 began and then sent block 0 more deltas after its stop.

const ORG = '/v1/organization';
const MODEL = 'gpt-interleaved';

const base = { id: 'chatcmpl-inter', object: 'chat.completion.chunk', created: 1, model: MODEL };
const call = (index: number, fn: Record<string, unknown>, id?: string) => ({
  ...base,
  choices: [{ index: 0, delta: { tool_calls: [{ index, ...(id ? { id, type: 'function' } : {}), function: fn }] }, finish_reason: null }],
});
/** [id a, id b, args a1, args b1, args a2, args b2], then the finish and the usage. */
const CHUNKS = [
  { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: null }, finish_reason: null }] },
  call(0, { name: 'get_weather', arguments: '' }, 'call_a'),
  call(1, { name: 'get_time', arguments: '' }, 'call_b'),
  call(0, { arguments: '{"location":' }),
  call(1, { arguments: '{"zone":' }),
  call(0, { arguments: '"Paris"}' }),
  call(1, { arguments: '"UTC"}' }),
  { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
  { ...base, choices: [], usage: { prompt_tokens: 20, completion_tokens: 12, total_tokens: 32 } },
];

describe('parallel tool calls interleaved by the upstream, streamed to an Anthropic client', () => {
  let t: TestServer;
  let upstream: Server;
  let key: string;

  beforeAll(async () => {
    upstream = createServer(async (req, res) => {
      for await (const _ of req) {
        // the body is not needed
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const c of CHUNKS) res.write(`data: ${JSON.stringify(c)}\n\n`);
      res.end('data: [DONE]\n\n');
    });
    const url = await listenOnLoopback(upstream);
    const file = gatewayConfigFile({ providers: [{ name: 'inter', base_url: `${url}/v1`, api_key_env: 'UP_KEY' }], routes: { 'gpt-*': 'inter' } });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
    key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'inter' } })).body.value;
  });
  afterAll(async () => {
    await t?.close();
    upstream?.close();
  });

  const tools = [
    { name: 'get_weather', input_schema: { type: 'object' as const, properties: { location: { type: 'string' } } } },
    { name: 'get_time', input_schema: { type: 'object' as const, properties: { zone: { type: 'string' } } } },
  ];
  const request = { model: MODEL, max_tokens: 100, messages: [{ role: 'user' as const, content: 'weather and time' }], tools };

  it('sends each block start, deltas and stop together, indices in order, and the inputs whole', async () => {
    const res = await t.api('POST', '/v1/messages', { key, body: { ...request, stream: true }, headers: { 'anthropic-version': '2023-06-01' } });
    expect(res.status).toBe(200);
    const events = readEvents(res.text).map((e) => e.data as { type: string; index?: number; delta?: { partial_json?: string } });
    const blocks = events.filter((e) => e.index !== undefined).map((e) => `${e.type}:${e.index}`);
    expect(blocks).toEqual([
      'content_block_start:0',
      'content_block_delta:0',
      'content_block_delta:0',
      'content_block_stop:0',
      'content_block_start:1',
      'content_block_delta:1',
      'content_block_stop:1',
    ]);
    const input = (index: number) =>
      JSON.parse(
        events
          .filter((e) => e.type === 'content_block_delta' && e.index === index)
          .map((e) => e.delta?.partial_json)
          .join(''),
      );
    expect([input(0), input(1)]).toEqual([{ location: 'Paris' }, { zone: 'UTC' }]);
    expect(events.at(-2)).toMatchObject({ type: 'message_delta', delta: { stop_reason: 'tool_use' } });
  });

  it("the Anthropic SDK's finalMessage has both tool_use blocks with their inputs", async () => {
    const client = new Anthropic({ apiKey: key, baseURL: t.url, maxRetries: 0, timeout: 15_000 });
    const message = await client.messages.stream(request).finalMessage();
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content).toEqual([
      { type: 'tool_use', id: 'call_a', name: 'get_weather', input: { location: 'Paris' } },
      { type: 'tool_use', id: 'call_b', name: 'get_time', input: { zone: 'UTC' } },
    ]);
  });
});
