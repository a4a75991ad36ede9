import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEvents } from './harness/sse.js';
import { startTestServer, type TestServer } from './harness/server.js';

// The built-in model through Anthropic's Messages API, as a new user's walkthrough met it (no provider configured):
// what an Anthropic client reads must look like Anthropic's answers (ids `msg_…`, a missing field refused as
// Anthropic refuses it, the key asked for in `x-api-key`), and a Claude model points to ANTHROPIC_API_KEY.

const ORG = '/v1/organization';
const MODEL = 'tollgate-echo';

describe('tollgate-echo through /v1/messages', () => {
  let t: TestServer;
  let key: { id: string; value: string };
  const anthropic = () => new Anthropic({ apiKey: key.value, baseURL: t.url, maxRetries: 0, timeout: 15_000 });
  const post = (body: unknown, headers: Record<string, string> = {}) => t.api('POST', '/v1/messages', { key: null, body, headers: { 'x-api-key': key.value, 'anthropic-version': '2023-06-01', ...headers } });

  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' });
    key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'anthropic' } })).body;
  });
  afterAll(async () => t?.close());

  it("answers a message whose id is Anthropic's msg_…, whole and streamed", async () => {
    const message = await anthropic().messages.create({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'hello there' }] });
    expect(message.id).toMatch(/^msg_[A-Za-z0-9]+$/);
    expect(message.content).toEqual([{ type: 'text', text: 'hello there' }]);
    const stream = anthropic().messages.stream({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'streamed hello' }] });
    const final = await stream.finalMessage();
    expect(final.id).toMatch(/^msg_[A-Za-z0-9]+$/);
    const raw = await post({ model: MODEL, max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const start = readEvents(raw.text).find((e) => (e.data as { type?: string }).type === 'message_start');
    expect(start).toBeDefined();
    expect((start?.data as { message?: { id?: string } } | undefined)?.message?.id).toMatch(/^msg_/);
  });

  it("refuses a missing max_tokens (or messages) as Anthropic does: invalid_request_error, 'max_tokens: Field required'", async () => {
    const r = await post({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });
    const m = await post({ model: MODEL, max_tokens: 5 });
    expect(m.status).toBe(400);
    expect(m.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'messages: Field required' } });
  });

  it('asks for the key in x-api-key when none is given, as Anthropic does', async () => {
    const r = await t.api('POST', '/v1/messages', { key: null, body: { model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, headers: { 'anthropic-version': '2023-06-01' } });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    expect(r.body.error.message).toMatch(/x-api-key/);
    // OpenAI's clients are still told of the Authorization header.
    const o = await t.api('POST', '/v1/chat/completions', { key: null, body: { model: MODEL, messages: [{ role: 'user', content: 'hi' }] } });
    expect(o.status).toBe(401);
    expect(o.body.error.message).toMatch(/Authorization/);
  });

  it('points a Claude model, with no provider configured, to ANTHROPIC_API_KEY', async () => {
    const r = await post({ model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(404);
    expect(r.body.error.message).toMatch(/ANTHROPIC_API_KEY/);
    expect(r.body.error.message).not.toMatch(/OPENAI_API_KEY/);
    const viaOpenAI = await t.api('POST', '/v1/chat/completions', { key: key.value, body: { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] } });
    expect(viaOpenAI.body.error.message).toMatch(/ANTHROPIC_API_KEY/);
    const gpt = await t.api('POST', '/v1/chat/completions', { key: key.value, body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] } });
    expect(gpt.body.error.message).toMatch(/OPENAI_API_KEY/);
  });
});
