import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayForBothKinds, type TestServer, usageEventsOf } from './harness/server.js';
import { readEvents } from './harness/sse.js';

// An answer's Content-Type is a media type, compared without regard to case (RFC 9110 §8.3.1), and a stream asked
// for is an event stream unless the answer says it is JSON. Found by a review: `Text/Event-Stream; charset=utf-8`, or
// `text/plain` from a compatible server, for a stream: true request was read as JSON: a 502 "malformed JSON", billed
// nothing though the provider ran it. A list answered `Application/JSON` was not read at all, so not filtered to the
// caller's project either.

const ORG = '/v1/organization';
const USAGE = { prompt_tokens: 111, completion_tokens: 222, total_tokens: 333 };

/** The Content-Type the upstream answers with next (null: none at all). */
let type: string | null = 'text/event-stream';

function upstream(): Server {
  return createServer(async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    const headers: Record<string, string> = type === null ? {} : { 'content-type': type };
    if (req.method === 'GET' && req.url?.startsWith('/v1/files')) {
      res.writeHead(200, headers);
      res.end(JSON.stringify({ object: 'list', data: ['file-mine', 'file-theirs'].map((id) => ({ id, object: 'file', bytes: 1, created_at: 1, filename: id, purpose: 'batch' })), has_more: false }));
      return;
    }
    const body = JSON.parse(text) as { model: string; stream?: boolean };
    res.writeHead(200, headers);
    if (!body.stream || type?.toLowerCase().startsWith('application/json')) {
      res.end(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: USAGE }));
      return;
    }
    const chunk = (o: object) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model, ...o })}\n\n`;
    res.write(chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'the quick brown fox' }, finish_reason: 'stop' }] }));
    res.end(`${chunk({ choices: [], usage: USAGE })}data: [DONE]\n\n`);
  });
}

describe("an answer's Content-Type", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await gatewayForBothKinds(upstream());
  });
  afterAll(async () => {
    await t?.close();
  });

  const newKey = async (project = t.defaultProjectId) => (await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'types' } })).body as { id: string; value: string };
  async function chat(stream: boolean, anthropic = false) {
    const key = await newKey();
    const path = anthropic ? '/v1/messages' : '/v1/chat/completions';
    const auth: Record<string, string> = anthropic ? { 'x-api-key': key.value, 'anthropic-version': '2023-06-01' } : { authorization: `Bearer ${key.value}` };
    const res = await fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], stream }),
    });
    return { res, text: await res.text(), usage: (await usageEventsOf(t, key.id))[0] };
  }

  for (const declared of ['Text/Event-Stream; charset=utf-8', 'TEXT/EVENT-STREAM', 'text/plain', null]) {
    it(`${declared ?? 'none'} for a stream asked for: relayed as events, billed its usage`, async () => {
      type = declared;
      const { res, text, usage } = await chat(true);
      expect(res.status, text).toBe(200);
      expect(res.headers.get('content-type')?.toLowerCase()).toMatch(/^text\/event-stream/);
      expect(readEvents(text).map((e) => (e.data === '[DONE]' ? e.data : 'chunk'))).toEqual(['chunk', '[DONE]']);
      expect(text).not.toContain('"usage"');
      expect(usage).toMatchObject({ outcome: 'ok', input_tokens: 111, output_tokens: 222 });
    });
  }

  it('an Anthropic client calling an OpenAI model (translated) gets its stream too', async () => {
    type = 'text/plain';
    const { res, text, usage } = await chat(true, true);
    expect(res.status, text).toBe(200);
    expect(readEvents(text).at(-1)?.event).toBe('message_stop');
    expect(usage).toMatchObject({ outcome: 'ok', input_tokens: 111, output_tokens: 222 });
  });

  it('JSON for a stream asked for, in any case, is read as JSON as before', async () => {
    type = 'Application/JSON';
    const { res, text, usage } = await chat(true);
    expect(res.status, text).toBe(200);
    expect(JSON.parse(text).choices[0].message.content).toBe('hi');
    expect(usage).toMatchObject({ outcome: 'ok', input_tokens: 111, output_tokens: 222 });
  });

  it("a list answered `Application/JSON` or `text/plain` shows a project its own objects only", async () => {
    await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/upstream_objects`, { body: { id: 'file-mine' } });
    const other = (await t.api('POST', `${ORG}/projects`, { body: { name: 'Others' } })).body as { id: string };
    await t.api('POST', `${ORG}/projects/${other.id}/upstream_objects`, { body: { id: 'file-theirs' } });
    const key = await newKey();
    for (const declared of ['Application/JSON', 'text/plain']) {
      type = declared;
      const list = await t.api('GET', '/v1/files', { key: key.value });
      expect(list.status, list.text).toBe(200);
      expect(list.body.data.map((f: { id: string }) => f.id)).toEqual(['file-mine']);
    }
  });
});
