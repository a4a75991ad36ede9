import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './harness/provider-config.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigFile, gatewayForBothKinds, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// A whole (non-streamed) answer its client hangs up on before it arrives is billed as the provider bills it. Found by
// an outside review: the gateway aborted the upstream request and recorded nothing billable, while a provider that
// received the request generates (and bills) the answer whether anyone waits for it: a key could make costly requests,
// hang up just before each answer, and pay nothing — its budget untouched — while the account paid.

const ORG = '/v1/organization';
const INPUT = 1200;
const OUTPUT = 3400;
/** How long the upstream takes to answer: the client hangs up well before. */
const ANSWER_MS = 400;

interface Upstream {
  server: Server;
  /** Requests whose answer the upstream finished writing, and those whose connection was closed before it did. */
  finished: number;
  aborted: number;
}

/** A request's JSON body, and whether its client has left before the answer was finished (asked later). */
async function received(req: IncomingMessage, res: ServerResponse): Promise<{ body: { model: string }; closed: () => boolean }> {
  let text = '';
  for await (const c of req) text += c;
  let closed = false;
  res.on('close', () => {
    if (!res.writableFinished) closed = true;
  });
  return { body: JSON.parse(text) as { model: string }, closed: () => closed };
}

/** One server-sent event, named or not (a string is sent as it is: `[DONE]`). */
const sse = (event: string | null, data: unknown) => `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
/** Anthropic's message_start, with the input it reports. */
const messageStart = (model: string) =>
  sse('message_start', { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: INPUT, output_tokens: 1 } } });
/** A chat completion chunk as OpenAI streams it, with `usage: null`. */
const chatChunk = (model: string, delta: Record<string, unknown>, finish: string | null) => ({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta, finish_reason: finish }], usage: null });

/** An OpenAI- and Anthropic-shaped upstream that answers after ANSWER_MS, with usage. */
async function startSlow(): Promise<Upstream> {
  const u: Upstream = { server: createServer(), finished: 0, aborted: 0 };
  u.server.on('request', async (req, res) => {
    const { body, closed } = await received(req, res);
    await new Promise((r) => setTimeout(r, ANSWER_MS));
    if (closed()) {
      u.aborted++;
      return;
    }
    const anthropic = req.url?.endsWith('/messages') === true;
    const answer = anthropic
      ? { id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'done' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: INPUT, output_tokens: OUTPUT } }
      : {
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: 'done', refusal: null }, finish_reason: 'stop', logprobs: null }],
          usage: { prompt_tokens: INPUT, completion_tokens: OUTPUT, total_tokens: INPUT + OUTPUT },
        };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer));
    u.finished++;
  });
  return u;
}

describe('a client that hangs up on a whole answer still pays for it', () => {
  let t: TestServer;
  let up: Upstream;

  beforeAll(async () => {
    up = await startSlow();
    t = await gatewayForBothKinds(up.server);
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });

  /** Sends a request, hangs up after 50 ms, and returns the key's usage events once one is written. */
  async function hangUp(path: string, body: Record<string, unknown>) {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'hangup' } })).body as { id: string; value: string };
    const abort = new AbortController();
    const headers: Record<string, string> = { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' };
    if (path === '/v1/messages') headers['anthropic-version'] = '2023-06-01';
    const sent = fetch(`${t.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal: abort.signal });
    setTimeout(() => abort.abort(), 50);
    await expect(sent).rejects.toThrow();
    return { key, rows: await usageEventsOf(t, key.id) };
  }

  const ask = { max_tokens: 4000, messages: [{ role: 'user', content: 'hi' }] };

  it.each([
    ['chat completions, OpenAI', '/v1/chat/completions', 'gpt-4o-mini'],
    ["Anthropic's Messages API, native", '/v1/messages', 'claude-sonnet-4-5'],
    ['an OpenAI client calling a Claude model (translated)', '/v1/chat/completions', 'claude-sonnet-4-5'],
    ['an Anthropic client calling an OpenAI model (translated)', '/v1/messages', 'gpt-4o-mini'],
  ])('%s: the upstream finishes the answer, and its usage is billed', async (_name, path, model) => {
    const finished = up.finished;
    const { rows } = await hangUp(path, { model, ...ask });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'client_aborted', billable: 1, input_tokens: INPUT, output_tokens: OUTPUT, status: 200 });
    expect(Number(rows[0].cost_nanousd)).toBeGreaterThan(0);
    expect(up.finished).toBe(finished + 1);
  });

  it('the usage API counts it: a budget cannot be dodged by hanging up', async () => {
    const { key } = await hangUp('/v1/chat/completions', { model: 'gpt-4o-mini', ...ask });
    const now = Math.floor(t.server.runtime.deps.clock() / 1000);
    const usage = await t.api('GET', `${ORG}/usage/completions?start_time=${now - 3600}&api_key_ids=${key.id}&group_by=api_key_id`);
    expect(usage.status).toBe(200);
    const results = (usage.body.data as Array<{ results: Array<{ input_tokens: number; output_tokens: number }> }>).flatMap((b) => b.results);
    expect(results.reduce((n, r) => n + r.output_tokens, 0)).toBe(OUTPUT);
  });

  it('a stream is still cut when its client leaves (the provider stops generating it)', async () => {
    const aborted = up.aborted;
    // The slow upstream answers streams as it answers the rest (after ANSWER_MS): the hang-up reaches it first.
    const { rows } = await hangUp('/v1/chat/completions', { model: 'gpt-4o-mini', ...ask, stream: true });
    expect(rows[0].outcome).toBe('client_aborted');
    for (let i = 0; i < 50 && up.aborted === aborted; i++) await new Promise((r) => setTimeout(r, 20));
    expect(up.aborted).toBe(aborted + 1);
  });
});

// A stream whose answer is complete but whose usage has not arrived yet (a chat stream's usage chunk comes after the
// chunk with its finish_reason; Anthropic's message_delta after the last content block's stop). A client that read
// the whole answer and hung up just before the usage paid only for what the gateway could count of the visible text:
// never a reasoning model's hidden reasoning, nor cached-input rates. Such a stream is now read to its end after its
// client leaves, and billed by its usage; a stream cut while it is still generating is still aborted (above).
describe("a client that hangs up between a stream's last words and its usage still pays its usage", () => {
  let t: TestServer;
  let server: Server;
  let finished = 0;
  let aborted = 0;
  /** How long the upstream waits between the answer's end and its usage. */
  const GAP_MS = 300;

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const { body, closed } = await received(req, res);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const anthropic = req.url?.endsWith('/messages') === true;
      if (anthropic) {
        res.write(messageStart(body.model));
        res.write(sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
        res.write(sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'done' } }));
        res.write(sse('content_block_stop', { type: 'content_block_stop', index: 0 }));
      } else {
        const chunk = (delta: Record<string, unknown>, finish: string | null) => chatChunk(body.model, delta, finish);
        res.write(sse(null, chunk({ role: 'assistant', content: 'done' }, null)));
        // Spaced as some OpenAI-compatible servers write it.
        res.write(sse(null, JSON.stringify(chunk({}, 'stop')).replace('"finish_reason":"stop"', '"finish_reason" : "stop"')));
      }
      await new Promise((r) => setTimeout(r, GAP_MS));
      if (closed()) {
        aborted++;
        return;
      }
      if (anthropic) {
        res.write(sse('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: OUTPUT } }));
        res.end(sse('message_stop', { type: 'message_stop' }));
      } else {
        res.write(sse(null, { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [], usage: { prompt_tokens: INPUT, completion_tokens: OUTPUT, total_tokens: INPUT + OUTPUT } }));
        res.end(sse(null, '[DONE]'));
      }
      finished++;
    });
    t = await gatewayForBothKinds(server);
  });
  afterAll(async () => {
    await t?.close();
    server?.close();
  });

  it.each([
    ['a chat stream, after its finish_reason', '/v1/chat/completions', 'gpt-4o-mini', 'finish_reason', 'read'],
    // Translated: the client sees the answer's text; the upstream's own stream shows its generation over.
    ['an Anthropic client calling an OpenAI model (translated), after its text', '/v1/messages', 'gpt-4o-mini', 'done', 'read'],
    // A content block's stop may end a thinking block before the text: the provider is stopped, as mid-answer.
    ["an Anthropic message stream, after a content block's stop", '/v1/messages', 'claude-sonnet-4-5', 'content_block_stop', 'cut'],
    ['an OpenAI client calling a Claude model (translated), after a content block', '/v1/chat/completions', 'claude-sonnet-4-5', 'done', 'cut'],
  ])('%s: %s', async (_name, path, model, seen, fate) => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'gap' } })).body as { id: string; value: string };
    const before = { finished, aborted };
    const headers: Record<string, string> = { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' };
    if (path === '/v1/messages') headers['anthropic-version'] = '2023-06-01';
    const abort = new AbortController();
    const res = await fetch(`${t.url}${path}`, { method: 'POST', headers, body: JSON.stringify({ model, max_tokens: 4000, stream: true, messages: [{ role: 'user', content: 'hi' }] }), signal: abort.signal });
    // The whole answer read, then the client leaves before the usage.
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let got = '';
    while (!got.includes(seen)) got += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    const rows = await usageEventsOf(t, key.id);
    expect(rows).toHaveLength(1);
    if (fate === 'read') {
      // Read to its end and billed by its usage.
      expect(rows[0]).toMatchObject({ outcome: 'client_aborted', billable: 1, input_tokens: INPUT, output_tokens: OUTPUT, status: 200 });
      expect({ finished, aborted }).toEqual({ finished: before.finished + 1, aborted: before.aborted });
    } else {
      // Cut: the upstream sees the hang-up, and what was delivered is billed.
      expect(rows[0]).toMatchObject({ outcome: 'client_aborted', billable: 1, status: 200 });
      for (let i = 0; i < 50 && aborted === before.aborted; i++) await new Promise((r) => setTimeout(r, 20));
      expect({ finished, aborted }).toEqual({ finished: before.finished, aborted: before.aborted + 1 });
    }
  });
});

// A model that reasons (or thinks) before it answers has billed its hidden tokens by the time its first visible word
// arrives. Found by an outside review: a client that read the answer to a marker it asked for and hung up before the
// finish had the stream cut and paid only the text it saw (4 of 5,000 output tokens). Such a stream is read to its end
// when its client leaves, and billed by its usage; a model that shows all it generates is still cut.
describe('a client that hangs up mid-answer on a model that reasons or runs tools unseen still pays its usage', () => {
  let t: TestServer;
  let server: Server;
  let finished = 0;
  let aborted = 0;

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const { body, closed } = await received(req, res);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const anthropic = req.url?.endsWith('/messages') === true;
      const chunk = (delta: Record<string, unknown>, finish: string | null) => chatChunk(body.model, delta, finish);
      if (anthropic) {
        res.write(messageStart(body.model));
        res.write(sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
        res.write(sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: '42 <END>' } }));
      } else res.write(sse(null, chunk({ role: 'assistant', content: '42 <END>' }, null)));
      // Still generating (padding the client does not want) when the client leaves.
      await new Promise((r) => setTimeout(r, 300));
      if (closed()) {
        aborted++;
        return;
      }
      if (anthropic) {
        res.write(sse('content_block_stop', { type: 'content_block_stop', index: 0 }));
        res.write(sse('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: OUTPUT } }));
        res.end(sse('message_stop', { type: 'message_stop' }));
      } else {
        res.write(sse(null, chunk({}, 'stop')));
        res.write(sse(null, { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [], usage: { prompt_tokens: INPUT, completion_tokens: OUTPUT, total_tokens: INPUT + OUTPUT, completion_tokens_details: { reasoning_tokens: OUTPUT - 4 } } }));
        res.end(sse(null, '[DONE]'));
      }
      finished++;
    });
    const url = `${await listenOnLoopback(server)}/v1`;
    const file = gatewayConfigFile({
      providers: [
        { name: 'ant', kind: 'anthropic', base_url: url, api_key_env: 'UP_KEY' },
        { name: 'oai', base_url: url, api_key_env: 'UP_KEY' },
      ],
      routes: { 'claude-*': 'ant', 'gpt-*': 'oai', 'o3*': 'oai' },
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    server?.close();
  });

  it.each([
    ['a reasoning model on chat', '/v1/chat/completions', { model: 'o3' }, 'read'],
    ['a chat request asking for reasoning effort', '/v1/chat/completions', { model: 'gpt-4o-mini', reasoning_effort: 'high' }, 'read'],
    ["Claude with extended thinking", '/v1/messages', { model: 'claude-sonnet-4-5', thinking: { type: 'enabled', budget_tokens: 2000 } }, 'read'],
    ['an Anthropic client calling a reasoning model (translated)', '/v1/messages', { model: 'o3' }, 'read'],
    // Hosted tools run steps whose input only the final usage reports (a page fetched, results searched).
    ['Claude with a server tool (web fetch)', '/v1/messages', { model: 'claude-sonnet-4-5', tools: [{ type: 'web_fetch_20250910', name: 'web_fetch' }] }, 'read'],
    ['a chat request that searches the web', '/v1/chat/completions', { model: 'gpt-4o-mini', web_search_options: {} }, 'read'],
    ['a model that shows all it generates', '/v1/chat/completions', { model: 'gpt-4o-mini' }, 'cut'],
    ['Claude without thinking', '/v1/messages', { model: 'claude-sonnet-4-5' }, 'cut'],
    ['Claude with thinking disabled', '/v1/messages', { model: 'claude-sonnet-4-5', thinking: { type: 'disabled' } }, 'cut'],
  ])('%s: %s', async (_name, path, ask, fate) => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'reasons' } })).body as { id: string; value: string };
    const before = { finished, aborted };
    const headers: Record<string, string> = { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' };
    if (path === '/v1/messages') headers['anthropic-version'] = '2023-06-01';
    const abort = new AbortController();
    const res = await fetch(`${t.url}${path}`, { method: 'POST', headers, body: JSON.stringify({ max_tokens: 8000, stream: true, messages: [{ role: 'user', content: 'answer, then <END>, then pad' }], ...ask }), signal: abort.signal });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let got = '';
    while (!got.includes('<END>')) got += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    const rows = await usageEventsOf(t, key.id);
    expect(rows).toHaveLength(1);
    if (fate === 'read') {
      expect(rows[0]).toMatchObject({ outcome: 'client_aborted', billable: 1, input_tokens: INPUT, output_tokens: OUTPUT });
      expect({ finished, aborted }).toEqual({ finished: before.finished + 1, aborted: before.aborted });
    } else {
      for (let i = 0; i < 50 && aborted === before.aborted; i++) await new Promise((r) => setTimeout(r, 20));
      expect({ finished, aborted }).toEqual({ finished: before.finished, aborted: before.aborted + 1 });
      expect(Number(rows[0].output_tokens)).toBeLessThan(OUTPUT);
    }
  });
});

// A background response (`"background": true`) runs at the provider to its end whoever reads its answer. Streamed, it
// was planned as an ordinary stream (found by an outside review): a client that read its first event and hung up had
// the gateway cut the stream and bill the few tokens it could count, while the provider finished the response (and
// billed it), whose result the key then fetched with GET /responses/{id} for nothing; and a key under a spend limit
// was let through, whose budget never saw the cost. Now such a stream is read to its end when its client leaves and
// billed by its usage, and it is refused under a spend limit as a background response that does not stream is.
describe('a streamed background response', () => {
  let t: TestServer;
  let server: Server;
  let finished = 0;
  let aborted = 0;
  let received_ = 0;

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const { body, closed } = await received(req, res);
      received_++;
      const sse = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
      const response = { id: 'resp_bg1', object: 'response', status: 'queued', model: body.model, output: [], usage: null, background: true };
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sse('response.created', { sequence_number: 0, response }));
      res.write(sse('response.output_text.delta', { sequence_number: 1, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Hi' }));
      await new Promise((r) => setTimeout(r, 300));
      if (closed()) {
        aborted++;
        return;
      }
      const usage = { input_tokens: INPUT, output_tokens: OUTPUT, total_tokens: INPUT + OUTPUT };
      res.end(sse('response.completed', { sequence_number: 2, response: { ...response, status: 'completed', usage } }));
      finished++;
    });
    t = await gatewayForBothKinds(server);
  });
  afterAll(async () => {
    await t?.close();
    server?.close();
  });

  const ask = { model: 'gpt-4o-mini', input: 'write a lot', stream: true };

  it.each([
    [true, true],
    ['true', true],
    [1, true],
    [true, 'true'],
    [true, 1],
  ])('background %j, stream %j: read to its end after its client hangs up, and billed its usage', async (background, stream) => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'bg' } })).body as { id: string; value: string };
    const before = { finished, aborted };
    const abort = new AbortController();
    const res = await fetch(`${t.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...ask, background, stream }),
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    const first = await (res.body as ReadableStream<Uint8Array>).getReader().read();
    expect(Buffer.from(first.value as Uint8Array).toString()).toContain('response.created');
    abort.abort();
    const rows = await usageEventsOf(t, key.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'client_aborted', billable: 1, input_tokens: INPUT, output_tokens: OUTPUT, streamed: 1 });
    expect({ finished, aborted }).toEqual({ finished: before.finished + 1, aborted: before.aborted });
  });

  it('is refused to a key under a spend limit, before anything is sent', async () => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'capped', spend_limit: { threshold_amount: 1000, interval: 'month' } } })).body as { value: string };
    const before = received_;
    const res = await fetch(`${t.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...ask, background: true }),
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('endpoint_not_metered');
    expect(received_).toBe(before);
  });
});

// A stream cut while it generates is billed what the tokenizer can count, since its usage never comes: that count read
// only the messages' text (found by an outside review), so a tool list or instructions of any length went unbilled,
// and a stream reading a stored response or conversation by reference billed its new text only. Now the whole prompt
// is counted, and a stream whose input cannot be counted is read to its end when its client leaves.
describe('a stream cut while generating is billed the whole prompt it sent', () => {
  let t: TestServer;
  let server: Server;
  let finished = 0;
  let aborted = 0;
  const LONG = 'lorem ipsum dolor sit amet '.repeat(2000); // ~10,000 tokens

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const { body, closed } = await received(req, res);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const responses = req.url?.endsWith('/responses') === true;
      const sse = (data: Record<string, unknown>) => `${responses ? `event: ${data.type}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
      const chunk = (delta: Record<string, unknown>, finish: string | null) => ({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] });
      const response = { id: 'resp_2', object: 'response', status: 'in_progress', model: body.model, output: [], usage: null };
      res.write(responses ? sse({ type: 'response.created', sequence_number: 0, response }) : sse(chunk({ role: 'assistant', content: 'Hi' }, null)));
      if (responses) res.write(sse({ type: 'response.output_text.delta', sequence_number: 1, item_id: 'm', output_index: 0, content_index: 0, delta: 'Hi' }));
      await new Promise((r) => setTimeout(r, 300));
      if (closed()) {
        aborted++;
        return;
      }
      if (responses) {
        const usage = { input_tokens: INPUT, output_tokens: OUTPUT, total_tokens: INPUT + OUTPUT };
        res.end(sse({ type: 'response.completed', sequence_number: 2, response: { ...response, status: 'completed', usage } }));
      } else {
        res.write(sse(chunk({}, 'stop')));
        res.write(sse({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [], usage: { prompt_tokens: INPUT, completion_tokens: OUTPUT, total_tokens: INPUT + OUTPUT } }));
        res.end('data: [DONE]\n\n');
      }
      finished++;
    });
    t = await gatewayForBothKinds(server);
  });
  afterAll(async () => {
    await t?.close();
    server?.close();
  });

  /** Streams, reads the first event, hangs up; the key's one usage event. */
  async function cut(path: string, body: Record<string, unknown>) {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'cut' } })).body as { id: string; value: string };
    const abort = new AbortController();
    const res = await fetch(`${t.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }), signal: abort.signal });
    await (res.body as ReadableStream<Uint8Array>).getReader().read();
    abort.abort();
    return (await usageEventsOf(t, key.id))[0];
  }

  it.each([
    ['a tool list', '/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'f', description: LONG, parameters: { type: 'object', properties: {} } } }] }],
    ['instructions', '/v1/responses', { input: 'hi', instructions: LONG }],
  ])('%s: cut, and billed at least its tokens', async (_name, path, body) => {
    const before = aborted;
    const row = await cut(path, { model: 'gpt-4o-mini', max_tokens: 10, ...body });
    expect(row).toMatchObject({ outcome: 'client_aborted', billable: 1 });
    expect(Number(row.input_tokens)).toBeGreaterThanOrEqual(10_000);
    for (let i = 0; i < 50 && aborted === before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(aborted).toBe(before + 1);
  });

  it('a stream reading input by reference (a file by URL) is read to its end, and billed its usage', async () => {
    const before = finished;
    const input = [{ role: 'user', content: [{ type: 'input_file', file_url: 'https://example.com/report.pdf' }] }];
    const row = await cut('/v1/responses', { model: 'gpt-4o-mini', input });
    expect(row).toMatchObject({ outcome: 'client_aborted', billable: 1, input_tokens: INPUT, output_tokens: OUTPUT });
    expect(finished).toBe(before + 1);
  });
});

// A background response's result, retrieved as a stream (GET /responses/{id}?stream=true), is billed once, by the
// retrieval that sees it finished. Found by a review: a client that read the text and hung up before
// `response.completed` had the gateway abort the retrieval, so the result was delivered and never billed. Now a
// retrieval is read to its end whoever waits for it.
describe('a background response retrieved as a stream', () => {
  let t: TestServer;
  let server: Server;
  let completed = 0;

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      for await (const _ of req);
      const response = { id: 'resp_bg2', object: 'response', model: 'gpt-4o-mini', background: true, output: [] };
      if (req.method === 'POST') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...response, status: 'queued', usage: null }));
        return;
      }
      const sse = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sse('response.output_text.delta', { sequence_number: 5, item_id: 'm', output_index: 0, content_index: 0, delta: 'the answer' }));
      res.write(sse('response.output_text.done', { sequence_number: 6, item_id: 'm', output_index: 0, content_index: 0, text: 'the answer' }));
      await new Promise((r) => setTimeout(r, 300));
      const usage = { input_tokens: INPUT, output_tokens: OUTPUT, total_tokens: INPUT + OUTPUT };
      res.end(sse('response.completed', { sequence_number: 7, response: { ...response, status: 'completed', usage } }));
      completed++;
    });
    t = await gatewayForBothKinds(server);
  });
  afterAll(async () => {
    await t?.close();
    server?.close();
  });

  it('is read to its end when its client hangs up after the text, and billed once', async () => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'bg-read' } })).body as { id: string; value: string };
    const headers = { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' };
    const created = await fetch(`${t.url}/v1/responses`, { method: 'POST', headers, body: JSON.stringify({ model: 'gpt-4o-mini', input: 'x', background: true }) });
    expect(created.status).toBe(200);
    const abort = new AbortController();
    const res = await fetch(`${t.url}/v1/responses/resp_bg2?stream=true`, { headers, signal: abort.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let got = '';
    while (!got.includes('output_text.done')) got += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    const rows = await usageEventsOf(t, key.id, 2);
    const retrieval = rows.find((r) => r.method === 'GET');
    expect(retrieval).toMatchObject({ outcome: 'client_aborted', billable: 1, input_tokens: INPUT, output_tokens: OUTPUT });
    expect(completed).toBe(1);
  });
});
