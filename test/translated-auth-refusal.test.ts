import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProjectKeys, gatewayForBothKinds, type TestServer } from './harness/server.js';

// The provider refusing Tollgate's credentials (401/403) is answered `502 upstream_auth_failed` with
// `x-should-retry: false` on every path, translated or not: OpenAI's and Anthropic's SDKs retry a 5xx (twice by
// default), and each retry would send the refused credential again for an answer only the operator can change. Found by
// an outside review: the translated path (an OpenAI client calling a Claude model, or the other way round) left the
// header out, so the SDKs retried it.

describe('a provider refusing its credentials', () => {
  let t: TestServer;
  let key: string;
  const upstream = createServer(async (req, res) => {
    for await (const _ of req);
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(
      req.url?.endsWith('/messages')
        ? JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } })
        : JSON.stringify({ error: { message: 'Incorrect API key provided: sk-up-****0000.', type: 'invalid_request_error', code: 'invalid_api_key' } }),
    );
  });

  beforeAll(async () => {
    t = await gatewayForBothKinds(upstream);
    key = (await defaultProjectKeys(t).newKey('refused')).value;
  });
  afterAll(async () => {
    await t?.close();
    upstream.close();
  });

  const ask = (path: string, model: string) =>
    fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });

  it.each([
    ['an OpenAI client calling an OpenAI model', '/v1/chat/completions', 'gpt-4o-mini'],
    ['an OpenAI client calling a Claude model (translated)', '/v1/chat/completions', 'claude-sonnet-4-5'],
    ['an Anthropic client calling a Claude model', '/v1/messages', 'claude-sonnet-4-5'],
    ['an Anthropic client calling an OpenAI model (translated)', '/v1/messages', 'gpt-4o-mini'],
  ])('is answered 502 upstream_auth_failed, not to be retried, for %s', async (_, path, model) => {
    const res = await ask(path, model);
    expect(res.status).toBe(502);
    expect(await res.text()).toContain('upstream_auth_failed');
    expect(res.headers.get('x-should-retry')).toBe('false');
  });
});
