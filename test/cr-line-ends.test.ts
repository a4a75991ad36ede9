import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayForBothKinds, type TestServer, usageEventsOf } from './harness/server.js';
import { readEvents } from './harness/sse.js';

// A stream whose lines end with a lone CR, which the HTML standard's event-stream parsing allows as LF and CRLF are.
// Found by a review: the framer knew such line ends, but the searches that find an event's bounds, the split into
// events and lines, and the [DONE] check at a chunk's end knew only LF and CRLF. The usage went unread (no output
// billed), the usage chunk the gateway had asked for on the client's behalf reached the client, and an error followed
// [DONE]. Now the framer hands on lone CRs as LF, and every reader after it sees LF and CRLF only.

const ORG = '/v1/organization';
const USAGE = { prompt_tokens: 111, completion_tokens: 222, total_tokens: 333 };

function upstream(): Server {
  return createServer(async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'resp_1', object: 'response', status: 'completed', output: [] }));
      return;
    }
    const body = JSON.parse(text) as { model: string };
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const events: string[] = [];
    const ev = (type: string, o: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...o })}\n\n`;
    if (req.url?.endsWith('/responses')) {
      const response = { id: 'resp_1', object: 'response', created_at: 1, model: body.model, status: 'in_progress', output: [] };
      events.push(ev('response.created', { sequence_number: 0, response }));
      events.push(ev('response.output_text.delta', { sequence_number: 1, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'the quick brown fox' }));
      events.push(ev('response.completed', { sequence_number: 2, response: { ...response, status: 'completed', usage: { input_tokens: 111, output_tokens: 222, total_tokens: 333 } } }));
    } else if (req.url?.endsWith('/messages')) {
      events.push(ev('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], model: body.model, stop_reason: null, stop_sequence: null, usage: { input_tokens: 111, output_tokens: 1 } } }));
      events.push(ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
      events.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'the quick brown fox' } }));
      events.push(ev('content_block_stop', { index: 0 }));
      events.push(ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 222 } }));
      events.push(ev('message_stop', {}));
    } else {
      const chunk = (o: object) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model, ...o })}\n\n`;
      events.push(chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'the quick brown fox' }, finish_reason: null }] }));
      events.push(chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
      events.push(chunk({ choices: [], usage: USAGE }));
      events.push('data: [DONE]\n\n');
    }
    // Each in a write of its own, the last two together (as a server that asked for usage often sends them).
    const cr = events.map((e) => e.replaceAll('\n', '\r'));
    for (const e of cr.slice(0, -2)) {
      res.write(e);
      await new Promise((r) => setTimeout(r, 5));
    }
    res.end(cr.slice(-2).join(''));
  });
}

describe('a stream whose lines end with a lone CR', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await gatewayForBothKinds(upstream());
  });
  afterAll(async () => {
    await t?.close();
  });

  async function stream(path: string, body: object, anthropic = false) {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'cr' } })).body as { id: string; value: string };
    const auth: Record<string, string> = anthropic ? { 'x-api-key': key.value, 'anthropic-version': '2023-06-01' } : { authorization: `Bearer ${key.value}` };
    const res = await fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify({ ...body, stream: true }) });
    expect(res.status).toBe(200);
    const text = await res.text();
    return { text, key, usage: (await usageEventsOf(t, key.id))[0] };
  }
  const messages = [{ role: 'user', content: 'hi' }];

  it('a chat stream: billed its usage, the usage chunk it did not ask for left out, nothing after [DONE]', async () => {
    const { text, usage } = await stream('/v1/chat/completions', { model: 'gpt-4o-mini', messages });
    expect(usage).toMatchObject({ outcome: 'ok', input_tokens: 111, output_tokens: 222 });
    expect(text).not.toContain('"usage"');
    expect(text).not.toContain('error');
    expect(readEvents(text).map((e) => (e.data === '[DONE]' ? e.data : 'chunk'))).toEqual(['chunk', 'chunk', '[DONE]']);
  });

  it('a Responses stream and an Anthropic stream: complete, billed their usage', async () => {
    const responses = await stream('/v1/responses', { model: 'gpt-4o-mini', input: 'hi' });
    expect(responses.usage).toMatchObject({ outcome: 'ok', input_tokens: 111, output_tokens: 222 });
    expect(responses.text).not.toContain('upstream_error');
    // The response its stream created is the project's (read from its response.created event).
    expect((await t.api('GET', '/v1/responses/resp_1', { key: responses.key.value })).status).toBe(200);
    const anthropic = await stream('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 100, messages }, true);
    expect(anthropic.usage).toMatchObject({ outcome: 'ok', input_tokens: 111, output_tokens: 222 });
    expect(anthropic.text).not.toContain('event: error');
  });

  it('translated both ways', async () => {
    const chat = await stream('/v1/chat/completions', { model: 'claude-sonnet-4-5', max_tokens: 100, messages });
    expect(chat.usage).toMatchObject({ outcome: 'ok', input_tokens: 111, output_tokens: 222 });
    expect(chat.text).toContain('the quick brown fox');
    const anthropic = await stream('/v1/messages', { model: 'gpt-4o-mini', max_tokens: 100, messages }, true);
    expect(anthropic.usage).toMatchObject({ outcome: 'ok', input_tokens: 111, output_tokens: 222 });
    expect(anthropic.text).toContain('the quick brown fox');
  });
});
