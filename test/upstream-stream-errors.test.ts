import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayForBothKinds, type TestServer, usageEventsOf } from './harness/server.js';

// A provider's own error event inside a 200 stream (Anthropic's `event: error` with `overloaded_error`, OpenAI's
// `{"error": …}` chunk, the Responses API's `error` event) ends the stream: the client gets that one error and no
// cut-off error of Tollgate's after it, with Tollgate's request id in Anthropic's `request_id` (the provider's goes out
// only as `x-upstream-request-id`) and without the provider's account details, as an error the provider answered over
// HTTP. Found by an outside review: the provider's event was relayed byte for byte, its own request id in it, and
// Tollgate's "The upstream stream ended unexpectedly." error followed it.

const ORG = '/v1/organization';
const PROVIDER_ID = 'req_011CProviderOwnId';
const PROVIDER_ORG = 'org-AbCdEfGh12345678';

function upstream(): Server {
  return createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': PROVIDER_ID, 'x-request-id': PROVIDER_ID });
    const ev = (type: string, o: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...o })}\n\n`;
    if (req.url?.endsWith('/messages')) {
      res.write(ev('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], model: 'claude-sonnet-4-5', stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } } }));
      res.write(ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
      res.write(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'the quick brown fox jumps over the lazy dog' } }));
      // As Anthropic sends it: the error's own request id, here with an organization id in its message.
      setTimeout(() => res.end(`event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded (${PROVIDER_ORG})"},"request_id":"${PROVIDER_ID}"}\n\n`), 10);
    } else if (req.url?.endsWith('/responses')) {
      res.write(ev('response.created', { sequence_number: 0, response: { id: 'resp_1', object: 'response', status: 'in_progress', output: [] } }));
      res.write(ev('response.output_text.delta', { sequence_number: 1, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'the quick brown fox' }));
      setTimeout(() => res.end(ev('error', { sequence_number: 2, code: 'server_error', message: `The server had an error (${PROVIDER_ORG}).`, param: null })), 10);
    } else {
      const chunk = (delta: object) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
      res.write(chunk({ role: 'assistant', content: '' }));
      res.write(chunk({ content: 'the quick brown fox jumps over the lazy dog' }));
      const error = `data: ${JSON.stringify({ error: { message: `The server had an error in organization ${PROVIDER_ORG}.`, type: 'server_error', param: null, code: null } })}\n\n`;
      // `gpt-4o-done`: as vLLM ends a failed stream, the error chunk and [DONE] in one write.
      const done = req.url?.endsWith('/chat/completions') && JSON.parse(body).model === 'gpt-4o-done';
      setTimeout(() => res.end(done ? `${error}data: [DONE]\n\n` : error), 10);
    }
  });
}

describe("a provider's error event inside a stream", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await gatewayForBothKinds(upstream());
  });
  afterAll(async () => {
    await t?.close();
  });

  async function stream(path: string, body: object, anthropic = false) {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'errors' } })).body as { id: string; value: string };
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (anthropic) {
      headers['x-api-key'] = key.value;
      headers['anthropic-version'] = '2023-06-01';
    } else headers.authorization = `Bearer ${key.value}`;
    const res = await fetch(`${t.url}${path}`, { method: 'POST', headers, body: JSON.stringify({ ...body, stream: true }) });
    expect(res.status).toBe(200);
    const text = await res.text();
    return { text, res, usage: (await usageEventsOf(t, key.id))[0] };
  }
  const count = (text: string, s: string) => text.split(s).length - 1;

  it("Anthropic's Messages API: the one error, with Tollgate's request id, billed as interrupted for what it delivered", async () => {
    const { text, res, usage } = await stream('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }, true);
    expect(text).not.toContain(PROVIDER_ID);
    expect(text).not.toContain(PROVIDER_ORG);
    expect(count(text, 'event: error')).toBe(1);
    expect(text).not.toContain('ended unexpectedly');
    const error = JSON.parse(text.slice(text.indexOf('event: error')).split('\n')[1].slice('data: '.length));
    expect(error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' }, request_id: res.headers.get('request-id') });
    expect(res.headers.get('x-upstream-request-id')).toBe(PROVIDER_ID);
    expect(usage.outcome).toBe('stream_interrupted');
    expect(usage.output_tokens).toBeGreaterThanOrEqual(9);
  });

  it("OpenAI's chat stream: the one error chunk, without the provider's organization", async () => {
    const { text, usage } = await stream('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(count(text, '"error"')).toBe(1);
    expect(text).not.toContain('ended unexpectedly');
    expect(text).not.toContain(PROVIDER_ORG);
    expect(usage.outcome).toBe('stream_interrupted');
    expect(usage.output_tokens).toBeGreaterThanOrEqual(9);
  });

  it('a chat error chunk with [DONE] right after it: found, scrubbed, and billed as interrupted', async () => {
    const { text, usage } = await stream('/v1/chat/completions', { model: 'gpt-4o-done', messages: [{ role: 'user', content: 'hi' }] });
    expect(count(text, '"error"')).toBe(1);
    expect(text).not.toContain(PROVIDER_ORG);
    expect(usage.outcome).toBe('stream_interrupted');
  });

  it("the Responses API's stream: the one error event", async () => {
    const { text, usage } = await stream('/v1/responses', { model: 'gpt-4o-mini', input: 'hi' });
    expect(count(text, 'event: error')).toBe(1);
    expect(text).not.toContain('ended unexpectedly');
    expect(text).not.toContain(PROVIDER_ORG);
    expect(usage.outcome).toBe('stream_interrupted');
  });
});
