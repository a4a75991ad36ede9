import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayForBothKinds, type TestServer, usageEventsOf } from './harness/server.js';

// A stream's answer is over (only its usage still to come) when the event that ends it arrives: Anthropic's
// message_delta, the Responses API's output_text.done. Found by a review: those were looked for as words anywhere in
// the events, so a text delta (or thinking, or a tool call's JSON) that spelled one out marked the answer over; a
// client that hung up after it had the stream read to its end, the provider generating up to max_tokens and the key
// billed all of it (50,000 output tokens for the 2 it was sent). Only the event itself counts now: such a stream is cut
// when its client leaves, and billed what it delivered.

const ORG = '/v1/organization';
/** What the upstream would report once it has generated to the end. */
const OUTPUT = 50_000;
/** Deltas after the first, one every 100 ms: the client is long gone by the last. */
const MORE = 20;

describe('a stream whose text names the event that ends it is still cut when its client hangs up', () => {
  let t: TestServer;
  let server: Server;
  let finished = 0;
  let aborted = 0;

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      let raw = '';
      for await (const c of req) raw += c;
      const body = JSON.parse(raw) as { model: string; messages?: Array<{ content: string }>; input?: string };
      // The first text the model writes is what the client asked it to say.
      const first = body.messages?.[0]?.content ?? body.input ?? '';
      let closed = false;
      res.on('close', () => {
        if (!res.writableFinished) closed = true;
      });
      const anthropic = req.url?.endsWith('/messages') === true;
      const ev = (data: Record<string, unknown>) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let seq = 0;
      const delta = (text: string) =>
        anthropic
          ? ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })
          : ev({ type: 'response.output_text.delta', sequence_number: seq++, item_id: 'msg_1', output_index: 0, content_index: 0, delta: text });
      const response = { id: 'resp_1', object: 'response', status: 'in_progress', model: body.model, output: [], usage: null };
      if (anthropic) {
        const usage = { input_tokens: 10, output_tokens: 1 };
        res.write(ev({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null, usage } }));
        res.write(ev({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
      } else res.write(ev({ type: 'response.created', sequence_number: seq++, response }));
      res.write(delta(first));
      for (let i = 0; i < MORE; i++) {
        await new Promise((r) => setTimeout(r, 100));
        if (closed) {
          aborted++;
          return;
        }
        res.write(delta(' pad'));
      }
      if (anthropic) {
        res.write(ev({ type: 'content_block_stop', index: 0 }));
        res.write(ev({ type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { output_tokens: OUTPUT } }));
        res.end(ev({ type: 'message_stop' }));
      } else {
        const usage = { input_tokens: 10, output_tokens: OUTPUT, total_tokens: 10 + OUTPUT };
        res.end(ev({ type: 'response.incomplete', sequence_number: seq++, response: { ...response, status: 'incomplete', usage } }));
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
    ["Anthropic's Messages API, native", '/v1/messages', 'claude-sonnet-4-5', 'see message_delta'],
    ["Anthropic's Messages API, native: message_stop", '/v1/messages', 'claude-sonnet-4-5', '{"type":"message_stop"}'],
    ['an OpenAI client calling a Claude model (translated)', '/v1/chat/completions', 'claude-sonnet-4-5', 'see message_delta'],
    ['the Responses API', '/v1/responses', 'gpt-4o-mini', 'response.output_text.done'],
    ['the Responses API: response.completed', '/v1/responses', 'gpt-4o-mini', '"response.completed"'],
    // The control: a text that names nothing.
    ["Anthropic's Messages API, a plain text", '/v1/messages', 'claude-sonnet-4-5', 'see you'],
    ['an OpenAI client calling a Claude model, a plain text', '/v1/chat/completions', 'claude-sonnet-4-5', 'see you'],
    ['the Responses API, a plain text', '/v1/responses', 'gpt-4o-mini', 'see you'],
  ])('%s (%j): the upstream is cut, and what was delivered is billed', async (_name, path, model, text) => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'marker' } })).body as { id: string; value: string };
    const before = { finished, aborted };
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (path === '/v1/messages') {
      headers['x-api-key'] = key.value;
      headers['anthropic-version'] = '2023-06-01';
    } else headers.authorization = `Bearer ${key.value}`;
    const ask = path === '/v1/responses' ? { input: text } : { max_tokens: OUTPUT, messages: [{ role: 'user', content: text }] };
    const abort = new AbortController();
    const res = await fetch(`${t.url}${path}`, { method: 'POST', headers, body: JSON.stringify({ model, stream: true, ...ask }), signal: abort.signal });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    // The first text (as a JSON string's content, as each API sends it), then the client leaves.
    const sent = JSON.stringify(text).slice(1, -1);
    let got = '';
    while (!got.includes(sent)) got += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    const rows = await usageEventsOf(t, key.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'client_aborted', billable: 1, status: 200 });
    expect(Number(rows[0].output_tokens)).toBeLessThan(100);
    for (let i = 0; i < 50 && aborted === before.aborted; i++) await new Promise((r) => setTimeout(r, 20));
    expect({ finished, aborted }).toEqual({ finished: before.finished, aborted: before.aborted + 1 });
  });
});

// A chat stream the gateway asked usage for on its client's behalf: every chunk's `"usage":null` is left out, as OpenAI
// sends none to a client that did not ask. A chunk whose text spelled out a marker the relay looks for ("usage",
// "[DONE]") was read for it, and its own `"usage":null` passed on (found by a review, after the same for " error").
describe("a chat stream's text that spells out what the relay looks for", () => {
  let t: TestServer;
  let server: Server;
  const PIECES = ['usage', '[DONE]', ' error', 'say "usage', 'response.completed', 'fine'];

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      let raw = '';
      for await (const c of req) raw += c;
      const body = JSON.parse(raw) as { model: string; messages: Array<{ content: string }>; stream_options?: { include_usage?: boolean } };
      const asked = body.stream_options?.include_usage === true;
      const chunk = (content: string | null, finish: string | null) => ({
        id: 'chatcmpl-1',
        object: 'chat.completion.chunk',
        created: 1,
        model: body.model,
        choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }],
        ...(asked ? { usage: null } : {}),
      });
      const events = [...PIECES.map((p) => chunk(p, null)), chunk(null, 'stop')].map((c) => `data: ${JSON.stringify(c)}\n\n`);
      if (asked) events.push(`data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [], usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 } })}\n\n`);
      events.push('data: [DONE]\n\n');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (body.messages[0].content === 'together') res.end(events.join(''));
      else {
        for (const e of events) {
          res.write(e);
          await new Promise((r) => setTimeout(r, 5));
        }
        res.end();
      }
    });
    t = await gatewayForBothKinds(server);
  });
  afterAll(async () => {
    await t?.close();
    server?.close();
  });

  it.each(['apart', 'together'])('chunks read %s: the client that did not ask for usage sees none, the text as sent, and the usage is billed', async (how) => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'usage-text' } })).body as { id: string; value: string };
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: how }] }),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    const chunks = text
      .split('\n\n')
      .filter((e) => e.startsWith('data: {'))
      .map((e) => JSON.parse(e.slice(6)) as { choices: Array<{ delta: { content?: string } }>; usage?: unknown });
    expect(chunks.filter((c) => 'usage' in c)).toEqual([]);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(PIECES.join(''));
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    const rows = await usageEventsOf(t, key.id);
    expect(rows[0]).toMatchObject({ outcome: 'ok', input_tokens: 5, output_tokens: 6 });
  });
});
