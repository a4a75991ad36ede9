import { createServer, type Server } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayForBothKinds, type TestServer, usageEventsOf } from './harness/server.js';
import { readEvents } from './harness/sse.js';

// A stream whose last event comes without its closing blank line (`…}}}\n`, or `data: [DONE]` alone, then a clean end
// of the body). Found by a review: the relay wrote that rest uninspected and glued its cut-off error onto it. A
// Responses stream lost its usage (billed by the tokenizer, 5/2 instead of 111/222, as stream_interrupted) and the
// openai SDK threw a SyntaxError on the merged event; a chat stream got `data: [DONE]data: {"error":…}` on one line.
// Now the rest of a stream that ended cleanly is its last event, inspected as any other; one cut short in its JSON is
// left out, and the cut-off error follows the last whole event.

const ORG = '/v1/organization';
const USAGE = { prompt_tokens: 111, completion_tokens: 222, total_tokens: 333 };
const RESPONSE_USAGE = { input_tokens: 111, output_tokens: 222, total_tokens: 333 };

function upstream(): Server {
  return createServer(async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    const body = JSON.parse(text) as { model: string };
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const ev = (type: string, o: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...o })}\n\n`;
    if (req.url?.endsWith('/responses')) {
      const response = { id: 'resp_1', object: 'response', created_at: 1, model: body.model, status: 'in_progress', output: [] };
      res.write(ev('response.created', { sequence_number: 0, response }));
      res.write(ev('response.output_text.delta', { sequence_number: 1, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'the quick brown fox' }));
      const completed = ev('response.completed', { sequence_number: 2, response: { ...response, status: 'completed', usage: RESPONSE_USAGE } });
      // Its last line ends, but no blank line follows.
      res.end(completed.slice(0, -1));
      return;
    }
    if (req.url?.endsWith('/messages')) {
      res.write(ev('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], model: body.model, stop_reason: null, stop_sequence: null, usage: { input_tokens: 111, output_tokens: 1 } } }));
      res.write(ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
      res.write(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'the quick brown fox' } }));
      res.write(ev('content_block_stop', { index: 0 }));
      res.write(ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 222 } }));
      res.end(ev('message_stop', {}).trimEnd());
      return;
    }
    const chunk = (o: object) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model, ...o })}\n\n`;
    res.write(chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'the quick brown fox' }, finish_reason: null }] }));
    if (body.model.endsWith('-cut')) {
      // A clean end in the middle of an event's JSON: not an event to pass on.
      res.end(chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }).slice(0, 40));
      return;
    }
    res.write(chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
    res.write(chunk({ choices: [], usage: USAGE }));
    res.end('data: [DONE]');
  });
}

describe('a stream whose last event has no closing blank line', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await gatewayForBothKinds(upstream());
  });
  afterAll(async () => {
    await t?.close();
  });

  const newKey = async () => (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'rest' } })).body as { id: string; value: string };
  async function stream(path: string, body: object, headers: Record<string, string> = {}) {
    const key = await newKey();
    const auth: Record<string, string> = headers['anthropic-version'] ? { 'x-api-key': key.value } : { authorization: `Bearer ${key.value}` };
    const res = await fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth, ...headers }, body: JSON.stringify({ ...body, stream: true }) });
    expect(res.status).toBe(200);
    const text = await res.text();
    return { text, usage: (await usageEventsOf(t, key.id))[0] };
  }

  it('a Responses stream: its response.completed is read for its usage, and the openai SDK reads it whole', async () => {
    const { text, usage } = await stream('/v1/responses', { model: 'gpt-4o-mini', input: 'hi' });
    expect(text).not.toContain('upstream_error');
    expect(text.endsWith('\n\n')).toBe(true);
    expect(readEvents(text).map((e) => e.event)).toEqual(['response.created', 'response.output_text.delta', 'response.completed']);
    expect(usage).toMatchObject({ outcome: 'ok', input_tokens: 111, output_tokens: 222 });

    const key = await newKey();
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: key.value, maxRetries: 0 });
    const types: string[] = [];
    for await (const event of await client.responses.create({ model: 'gpt-4o-mini', input: 'hi', stream: true })) types.push(event.type);
    expect(types).toEqual(['response.created', 'response.output_text.delta', 'response.completed']);
  });

  it('a chat stream ending `data: [DONE]` is complete: no error after it, billed its usage, the usage chunk left out', async () => {
    const { text, usage } = await stream('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(text).not.toContain('error');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(text).not.toContain('"usage"');
    expect(usage).toMatchObject({ outcome: 'ok', input_tokens: 111, output_tokens: 222 });
  });

  it("Anthropic's stream ending with message_stop is complete", async () => {
    const { text, usage } = await stream('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }, { 'anthropic-version': '2023-06-01' });
    expect(text).not.toContain('event: error');
    expect(readEvents(text).at(-1)?.event).toBe('message_stop');
    expect(usage).toMatchObject({ outcome: 'ok', input_tokens: 111, output_tokens: 222 });
  });

  it('translated both ways, the last event counts too', async () => {
    const chat = await stream('/v1/chat/completions', { model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.text).not.toContain('error');
    expect(chat.usage).toMatchObject({ outcome: 'ok', input_tokens: 111, output_tokens: 222 });
    const messages = await stream('/v1/messages', { model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }, { 'anthropic-version': '2023-06-01' });
    expect(messages.text).not.toContain('event: error');
    expect(messages.usage).toMatchObject({ outcome: 'ok', input_tokens: 111, output_tokens: 222 });
  });

  it('an event cut short in its JSON is left out; the cut-off error is an event of its own', async () => {
    const { text, usage } = await stream('/v1/chat/completions', { model: 'gpt-4o-mini-cut', messages: [{ role: 'user', content: 'hi' }] });
    const events = readEvents(text);
    expect(events.map((e) => typeof e.data)).toEqual(['object', 'object']);
    expect(events[1].data).toMatchObject({ error: { code: 'upstream_error' } });
    expect(usage.outcome).toBe('stream_interrupted');
  });
});
