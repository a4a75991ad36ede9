import { createServer, type Server } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from './harness/provider-config.js';
import { readEvents } from './harness/sse.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// Parallel tool calls from an OpenAI-compatible server that does not number them apart, streamed to an Anthropic
// client through /v1/messages. Ollama's OpenAI-compatible API streams every parallel call with `index: 0`
// (ollama/ollama#15457), and older builds send no `index` at all (ollama/ollama#7881); each call still has its own
// id. The translation keyed calls by index alone (none read as 0): the second call's id and name were dropped and its
// arguments glued onto the first's, one tool_use whose input the Anthropic SDK could not parse ("Unexpected
// non-whitespace character after JSON at position 23").

const ORG = '/v1/organization';

const base = { id: 'chatcmpl-ollama', object: 'chat.completion.chunk', created: 1 };
const chunk = (model: string, delta: Record<string, unknown>, finish: string | null = null) => ({
  ...base,
  model,
  choices: [{ index: 0, delta, finish_reason: finish }],
});
const call = (index: number | undefined, id: string | undefined, fn: Record<string, unknown>) => ({
  ...(index === undefined ? {} : { index }),
  ...(id === undefined ? {} : { id, type: 'function' }),
  function: fn,
});

/** Each model's chunks: the upstream answers the model the request names. */
const STREAMS: Record<string, unknown[]> = {
  // Ollama today: both calls whole, both at index 0.
  'gpt-same-index': [
    chunk('gpt-same-index', { tool_calls: [call(0, 'call_1', { name: 'file_write', arguments: '{"filePath":"hello.py"}' })] }),
    chunk('gpt-same-index', { tool_calls: [call(0, 'call_2', { name: 'file_write', arguments: '{"filePath":"world.py"}' })] }),
    chunk('gpt-same-index', {}, 'tool_calls'),
  ],
  // Older Ollama: no index at all.
  'gpt-no-index': [
    chunk('gpt-no-index', { tool_calls: [call(undefined, 'call_1', { name: 'file_write', arguments: '{"filePath":"hello.py"}' })] }),
    chunk('gpt-no-index', { tool_calls: [call(undefined, 'call_2', { name: 'file_write', arguments: '{"filePath":"world.py"}' })] }),
    chunk('gpt-no-index', {}, 'tool_calls'),
  ],
  // Both in one chunk, at the same index.
  'gpt-one-chunk': [
    chunk('gpt-one-chunk', {
      tool_calls: [call(0, 'call_1', { name: 'file_write', arguments: '{"filePath":"hello.py"}' }), call(0, 'call_2', { name: 'file_write', arguments: '{"filePath":"world.py"}' })],
    }),
    chunk('gpt-one-chunk', {}, 'tool_calls'),
  ],
  // One call in pieces, its id repeated on every piece (as some servers do) or on none after the first: still one call.
  'gpt-pieces': [
    chunk('gpt-pieces', { tool_calls: [call(0, 'call_1', { name: 'file_write', arguments: '{"filePath":' })] }),
    chunk('gpt-pieces', { tool_calls: [call(0, 'call_1', { arguments: '"hel' })] }),
    chunk('gpt-pieces', { tool_calls: [call(0, '', { arguments: 'lo.py' })] }),
    chunk('gpt-pieces', { tool_calls: [call(undefined, undefined, { arguments: '"}' })] }),
    chunk('gpt-pieces', {}, 'tool_calls'),
  ],
  // Two calls in pieces, no index: a piece without id goes to the call begun last.
  'gpt-no-index-pieces': [
    chunk('gpt-no-index-pieces', { tool_calls: [call(undefined, 'call_1', { name: 'file_write', arguments: '{"filePath":' })] }),
    chunk('gpt-no-index-pieces', { tool_calls: [call(undefined, undefined, { arguments: '"hello.py"}' })] }),
    chunk('gpt-no-index-pieces', { tool_calls: [call(undefined, 'call_2', { name: 'file_write', arguments: '{"filePath":' })] }),
    chunk('gpt-no-index-pieces', { tool_calls: [call(undefined, undefined, { arguments: '"world.py"}' })] }),
    chunk('gpt-no-index-pieces', {}, 'tool_calls'),
  ],
};

const both = [
  { type: 'tool_use', id: 'call_1', name: 'file_write', input: { filePath: 'hello.py' } },
  { type: 'tool_use', id: 'call_2', name: 'file_write', input: { filePath: 'world.py' } },
];

describe('parallel tool calls sharing an index (or without one), streamed to an Anthropic client', () => {
  let t: TestServer;
  let upstream: Server;
  let key: string;
  let client: Anthropic;

  beforeAll(async () => {
    upstream = createServer(async (req, res) => {
      let body = '';
      for await (const piece of req) body += piece;
      const model = String(JSON.parse(body).model);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const c of STREAMS[model] ?? []) res.write(`data: ${JSON.stringify(c)}\n\n`);
      res.end('data: [DONE]\n\n');
    });
    const url = await listenOnLoopback(upstream);
    const file = gatewayConfigFile({ providers: [{ name: 'ollama', base_url: `${url}/v1`, api_key_env: 'UP_KEY' }], routes: { 'gpt-*': 'ollama' } });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
    key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'ollama' } })).body.value;
    client = new Anthropic({ apiKey: key, baseURL: t.url, maxRetries: 0, timeout: 15_000 });
  });
  afterAll(async () => {
    await t?.close();
    upstream?.close();
  });

  const request = (model: string) => ({
    model,
    max_tokens: 100,
    tools: [{ name: 'file_write', input_schema: { type: 'object' as const } }],
    messages: [{ role: 'user' as const, content: 'write hello.py and world.py' }],
  });

  it.each(['gpt-same-index', 'gpt-no-index', 'gpt-one-chunk', 'gpt-no-index-pieces'])(
    '%s: the Anthropic SDK gets two tool_use blocks, each with its own id, name and input',
    async (model) => {
      const message = await client.messages.stream(request(model)).finalMessage();
      expect(message.content).toEqual(both);
      expect(message.stop_reason).toBe('tool_use');
    },
  );

  it('each block is sent whole, start, deltas and stop, indices in order', async () => {
    const res = await t.api('POST', '/v1/messages', { key, body: { ...request('gpt-same-index'), stream: true }, headers: { 'anthropic-version': '2023-06-01' } });
    expect(res.status).toBe(200);
    const events = readEvents(res.text).map((e) => e.data as { type: string; index?: number; content_block?: { id?: string } });
    expect(events.filter((e) => e.index !== undefined).map((e) => `${e.type}:${e.index}`)).toEqual([
      'content_block_start:0',
      'content_block_delta:0',
      'content_block_stop:0',
      'content_block_start:1',
      'content_block_delta:1',
      'content_block_stop:1',
    ]);
    expect(events.filter((e) => e.type === 'content_block_start').map((e) => e.content_block?.id)).toEqual(['call_1', 'call_2']);
  });

  it("one call's pieces, its id repeated, empty or absent on later pieces, stay one call", async () => {
    const message = await client.messages.stream(request('gpt-pieces')).finalMessage();
    expect(message.content).toEqual([both[0]]);
  });
});
