import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayForBothKinds, type TestServer, usageEventsOf } from './harness/server.js';

// A translated call whose provider reports no usage is counted by the tokenizer, from the request as the provider read
// it, exactly as the same call made natively is; and the client is shown the counts it is billed. Found by an outside
// review: an OpenAI client's call to a Claude model was billed 0 input tokens (2017 natively through /v1/messages),
// and an Anthropic client calling an OpenAI model was shown usage 0/0 while billed the counted 518/9.

const ORG = '/v1/organization';
const ANSWER = 'Hello there, this is the answer.';
const PROMPT = 'Count me, please. '.repeat(400);

describe('a translated call whose provider reports no usage', () => {
  let t: TestServer;
  let up: Server;
  /** The bodies the upstream was sent, last first read by the tests. */
  const seen: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    up = createServer(async (req, res) => {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      const body = JSON.parse(raw) as Record<string, unknown>;
      seen.push(body);
      const model = String(body.model);
      if ((req.url ?? '').endsWith('/chat/completions')) {
        if (body.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          const chunk = (delta: object, finish: string | null) => `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
          res.end(`${chunk({ role: 'assistant', content: '' }, null)}${chunk({ content: ANSWER }, null)}${chunk({}, 'stop')}data: [DONE]\n\n`);
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model, choices: [{ index: 0, message: { role: 'assistant', content: ANSWER }, finish_reason: 'stop' }] }));
        return;
      }
      if (body.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const event = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
        res.end(
          event('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null } }) +
            event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) +
            event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: ANSWER } }) +
            event('content_block_stop', { index: 0 }) +
            event('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null } }) +
            event('message_stop', {}),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model, content: [{ type: 'text', text: ANSWER }], stop_reason: 'end_turn', stop_sequence: null }));
    });
    t = await gatewayForBothKinds(up);
  });
  afterAll(async () => {
    await t?.close();
    up?.close();
  });

  const newKey = async () => (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k' } })).body as { id: string; value: string };
  const post = (key: string, path: '/v1/chat/completions' | '/v1/messages', body: object) =>
    fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  /** The one usage event of a fresh key's call. */
  const billed = async (path: '/v1/chat/completions' | '/v1/messages', body: object) => {
    const key = await newKey();
    const res = await post(key.value, path, body);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const [event] = await usageEventsOf(t, key.id);
    return { event, text };
  };

  const chatBody = (stream: boolean) => ({
    model: 'claude-sonnet-4-5',
    max_tokens: 100,
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: PROMPT },
    ],
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
  const messagesBody = (stream: boolean) => ({ model: 'gpt-4o-mini', max_tokens: 100, system: 'Be brief.', messages: [{ role: 'user', content: PROMPT }], ...(stream ? { stream: true } : {}) });

  /** The usage the client was shown: a whole answer's, or a stream's last (the usage chunk, message_delta's). */
  const shown = (text: string, stream: boolean): Record<string, unknown> => {
    if (!stream) return JSON.parse(text).usage;
    const usages = text
      .split('\n')
      .filter((l) => l.startsWith('data: {'))
      .map((l) => JSON.parse(l.slice(6)) as { usage?: Record<string, unknown> })
      .flatMap((d) => (d.usage ? [d.usage] : []));
    return usages.at(-1) ?? {};
  };

  it.each([false, true])('an OpenAI client calling a Claude model (stream %s) is shown the counts it is billed', async (stream) => {
    const { event, text } = await billed('/v1/chat/completions', chatBody(stream));
    expect(Number(event.input_tokens)).toBeGreaterThan(1500);
    expect(shown(text, stream)).toMatchObject({ prompt_tokens: event.input_tokens, completion_tokens: event.output_tokens });
  });

  it.each([false, true])('an Anthropic client calling an OpenAI model (stream %s) is shown the counts it is billed', async (stream) => {
    const { event, text } = await billed('/v1/messages', messagesBody(stream));
    expect(Number(event.input_tokens)).toBeGreaterThan(1500);
    expect(shown(text, stream)).toMatchObject({ input_tokens: event.input_tokens, cache_read_input_tokens: 0, output_tokens: event.output_tokens });
  });

  it.each([false, true])('an OpenAI client calling a Claude model (stream %s): billed the input counted as natively through /v1/messages', async (stream) => {
    const translated = await billed('/v1/chat/completions', chatBody(stream));
    const sent = seen.at(-1) as Record<string, unknown>;
    // The same request, as the provider read it, sent natively.
    const native = await billed('/v1/messages', sent);
    expect(Number(native.event.input_tokens)).toBeGreaterThan(1500);
    expect(translated.event).toMatchObject({ billable: 1, input_tokens: native.event.input_tokens, output_tokens: native.event.output_tokens });
  });

  it.each([false, true])('an Anthropic client calling an OpenAI model (stream %s): billed the input counted as natively through /v1/chat/completions', async (stream) => {
    const translated = await billed('/v1/messages', messagesBody(stream));
    const sent = seen.at(-1) as Record<string, unknown>;
    const native = await billed('/v1/chat/completions', sent);
    expect(Number(native.event.input_tokens)).toBeGreaterThan(1500);
    expect(translated.event).toMatchObject({ billable: 1, input_tokens: native.event.input_tokens, output_tokens: native.event.output_tokens });
  });
});

// A stream whose usage names its input (message_start's) but never its output: message_start's output_tokens (1) is
// no count of the answer, only message_delta's is. Found by an outside review: a 500-word answer from an
// Anthropic-compatible server whose message_delta carried no usage was billed 1 output token, natively through
// /v1/messages and translated for an OpenAI client alike. The output is counted by the tokenizer then, at least.
describe("an Anthropic stream whose message_delta reports no output count", () => {
  let t: TestServer;
  let up: Server;
  const TEXT = 'word '.repeat(500);
  /** The usage the upstream's message_delta carries (undefined: none). */
  let deltaUsage: Record<string, unknown> | undefined;

  beforeAll(async () => {
    up = createServer(async (req, res) => {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      const model = String((JSON.parse(raw) as { model: unknown }).model);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const event = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
      res.end(
        event('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } } }) +
          event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) +
          event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: TEXT } }) +
          event('content_block_stop', { index: 0 }) +
          event('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, ...(deltaUsage ? { usage: deltaUsage } : {}) }) +
          event('message_stop', {}),
      );
    });
    t = await gatewayForBothKinds(up);
  });
  afterAll(async () => {
    await t?.close();
    up?.close();
  });

  const newKey = async () => (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k' } })).body as { id: string; value: string };
  /** A stream's one usage event, and the usage its client was shown last (null: none). */
  const call = async (path: '/v1/messages' | '/v1/chat/completions') => {
    const key = await newKey();
    const body =
      path === '/v1/messages'
        ? { model: 'claude-sonnet-4-5', max_tokens: 2000, stream: true, messages: [{ role: 'user', content: 'x' }] }
        : { model: 'claude-sonnet-4-5', max_tokens: 2000, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'x' }] };
    const res = await fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.value}`, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const [event] = await usageEventsOf(t, key.id);
    const usages = text
      .split('\n')
      .filter((l) => l.startsWith('data: {'))
      .flatMap((l) => {
        const u = (JSON.parse(l.slice(6)) as { usage?: Record<string, unknown> }).usage;
        return u ? [u] : [];
      });
    return { event, shown: usages.at(-1) ?? null };
  };

  it.each([
    ['no usage', undefined],
    ['a usage without output_tokens', { input_tokens: 10 }],
  ])('message_delta with %s: natively through /v1/messages, the output is the tokenizer count of what was delivered', async (_what, usage) => {
    deltaUsage = usage;
    const { event } = await call('/v1/messages');
    expect(event).toMatchObject({ outcome: 'ok', input_tokens: 10 });
    expect(Number(event.output_tokens)).toBeGreaterThanOrEqual(400);
  });

  it.each([
    ['no usage', undefined],
    ['a usage without output_tokens', { input_tokens: 10 }],
  ])('message_delta with %s: translated for an OpenAI client, billed the counted output and shown it', async (_what, usage) => {
    deltaUsage = usage;
    const { event, shown } = await call('/v1/chat/completions');
    expect(event).toMatchObject({ outcome: 'ok', input_tokens: 10 });
    expect(Number(event.output_tokens)).toBeGreaterThanOrEqual(400);
    expect(shown).toMatchObject({ prompt_tokens: 10, completion_tokens: Number(event.output_tokens) });
  });

  it.each(['/v1/messages', '/v1/chat/completions'] as const)('a final output count (message_delta output_tokens) is the provider\'s word, below the tokenizer\'s too (%s)', async (path) => {
    deltaUsage = { output_tokens: 7 };
    const { event } = await call(path);
    expect(event).toMatchObject({ outcome: 'ok', input_tokens: 10, output_tokens: 7 });
  });
});
