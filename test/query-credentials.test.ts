import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// Credentials never reach the provider (docs/gateway-paths.md); the query string is forwarded as the client sent it,
// so a Tollgate key there (`?api-key=sk-tg-…`) went to the provider. Such a request is refused, naming the parameter.

let t: TestServer;
const seen: string[] = [];
const upstream = createServer(async (req, res) => {
  for await (const _ of req);
  seen.push(req.url ?? '');
  res.setHeader('content-type', 'application/json');
  if (req.url?.startsWith('/v1/messages')) {
    return res.end(JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 3, output_tokens: 1 } }));
  }
  res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }));
});

beforeAll(async () => {
  const url = await listenOnLoopback(upstream);
  const file = gatewayConfigFile({
    providers: [
      { name: 'up', base_url: `${url}/v1`, api_key_env: 'UP_KEY' },
      { name: 'claude', kind: 'anthropic', base_url: `${url}/v1`, api_key_env: 'UP_KEY' },
    ],
    routes: { 'claude-*': 'claude', '*': 'up' },
  });
  t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0123456789abcdef' } });
});
afterAll(async () => {
  await t?.close();
  upstream.close();
});

const projectKey = async () => (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k' } })).body.value as string;
const chat = (key: string, query: string) =>
  fetch(`${t.url}/v1/chat/completions${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
  });

describe('a credential in the query string', () => {
  it("is refused 400 in OpenAI's shape, naming the parameter and never its value, and nothing reaches the provider", async () => {
    const key = await projectKey();
    seen.length = 0;
    for (const [query, param] of [
      [`?api-key=${key}`, 'api-key'],
      [`?limit=1&anything=${key}`, 'anything'],
      [`?x=prefix-${key}`, 'x'],
      ['?key=AIzaSyExampleGeminiKey', 'key'],
      ['?api_key=whatever', 'api_key'],
    ]) {
      const r = await chat(key, query);
      const text = await r.text();
      expect(r.status, query).toBe(400);
      expect(JSON.parse(text).error).toMatchObject({ type: 'invalid_request_error', param, code: 'invalid_value' });
      expect(text).not.toContain(key);
      expect(text).not.toContain('AIzaSyExampleGeminiKey');
    }
    // Without any other key: refused all the same, before the key would be looked for.
    const bare = await fetch(`${t.url}/v1/files?api-key=${key}`);
    expect(bare.status).toBe(400);
    expect(await bare.text()).not.toContain(key);
    expect(seen).toEqual([]);
  });

  it("is refused in Anthropic's shape on /v1/messages", async () => {
    const key = await projectKey();
    const r = await fetch(`${t.url}/v1/messages?beta=true&x-api-key=${key}`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const text = await r.text();
    expect(r.status).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(JSON.parse(text).error.message).toContain("'x-api-key'");
    expect(text).not.toContain(key);
  });

  it('leaves the parameters the APIs take as they were', async () => {
    const key = await projectKey();
    seen.length = 0;
    const r = await chat(key, '?api-version=2024-10-21');
    expect(r.status).toBe(200);
    expect(seen).toEqual(['/v1/chat/completions?api-version=2024-10-21']);
  });
});
