import { createServer } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// Found by review: an upstream that reflects the request's key in an answer header (a debugging proxy, a compatible
// server echoing Authorization, x-api-key or api-key) had it relayed to the client: the answer's body is cleared of the
// provider's key, its headers were passed on as they came. Now an answer header whose value holds a provider's secret
// is dropped, on every path that relays upstream headers: whole answers, errors, event streams, pass-through.
const OPENAI_KEY = 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFGH';
const ANTHROPIC_KEY = 'sk-ant-api03-ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210-QQ';
const AZURE_KEY = 'b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6';
let t: TestServer;

function echoHeaders(req: import('node:http').IncomingMessage): Record<string, string> {
  const out: Record<string, string> = { 'x-kept': 'plain' };
  if (req.headers.authorization) out['x-forwarded-authorization'] = String(req.headers.authorization);
  if (req.headers['x-api-key']) out['x-echo-api-key'] = String(req.headers['x-api-key']);
  if (req.headers['api-key']) out['x-echo-azure-key'] = String(req.headers['api-key']);
  // Only part of the key (its longest run of letters and digits), as some servers show it.
  const whole = String(req.headers.authorization ?? req.headers['x-api-key'] ?? req.headers['api-key'] ?? '');
  const runs = whole.match(/[A-Za-z0-9]+/g) ?? [];
  out['x-debug'] = `key=${runs.reduce((a, b) => (b.length > a.length ? b : a), '')}`;
  return out;
}

const upstream = createServer(async (req, res) => {
  let body = '';
  for await (const c of req) body += c;
  const echo = echoHeaders(req);
  if (req.url?.includes('/messages')) {
    res.writeHead(200, { ...echo, 'content-type': 'application/json' });
    return res.end(JSON.stringify({ id: 'm', type: 'message', role: 'assistant', model: 'claude-x', content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn', usage: { input_tokens: 3, output_tokens: 1 } }));
  }
  if (req.method === 'GET') {
    res.writeHead(200, { ...echo, 'content-type': 'application/json' });
    return res.end(JSON.stringify({ object: 'list', data: [] }));
  }
  const model = JSON.parse(body).model;
  if (model === 'sse') {
    res.writeHead(200, { ...echo, 'content-type': 'text/event-stream' });
    res.write(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"sse","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}\n\n`);
    return res.end('data: [DONE]\n\n');
  }
  if (model === 'auth' || model === 'bad') {
    res.writeHead(model === 'auth' ? 401 : 400, { ...echo, 'content-type': 'application/json' });
    return res.end(JSON.stringify({ error: { message: 'Invalid model', type: 'invalid_request_error', param: 'model', code: null } }));
  }
  res.writeHead(200, { ...echo, 'content-type': 'application/json' });
  res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model, choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }));
});

beforeAll(async () => {
  const url = await listenOnLoopback(upstream);
  const file = gatewayConfigFile({
    providers: [
      { name: 'up', base_url: `${url}/v1`, api_key_env: 'UP_KEY' },
      { name: 'claude', kind: 'anthropic', base_url: `${url}/v1`, api_key_env: 'CLAUDE_KEY' },
      { name: 'az', kind: 'azure-openai', base_url: url, api_key_env: 'AZ_KEY', api_version: '2024-10-21' },
    ],
    routes: { 'claude-*': 'claude', 'az-*': 'az', '*': 'up' },
    pass_through_paths: ['/v1/fim/completions'],
  });
  t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: OPENAI_KEY, CLAUDE_KEY: ANTHROPIC_KEY, AZ_KEY: AZURE_KEY } });
});
afterAll(async () => {
  await t?.close();
  upstream.close();
});

function leaks(headers: Headers): boolean {
  const all = JSON.stringify([...headers]);
  return ['AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFGH', 'ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210', AZURE_KEY].some((s) => all.includes(s));
}

it("an answer header holding the provider's key is not passed on, whatever the path", async () => {
  const key = (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k' } })).body.value as string;
  const leaked: string[] = [];
  const kept: string[] = [];
  const ask = async (label: string, path: string, init: RequestInit) => {
    const r = await fetch(`${t.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(init.headers as object) } });
    await r.text();
    if (leaks(r.headers)) leaked.push(`${label} ${r.status}: ${JSON.stringify([...r.headers])}`);
    if (r.headers.get('x-kept') === 'plain') kept.push(label);
  };
  for (const model of ['gpt-4o', 'bad', 'sse', 'auth']) {
    await ask(`chat ${model}`, '/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], stream: model === 'sse' }) });
  }
  // Translated (an OpenAI client to an Anthropic provider) and native Anthropic: the key went as x-api-key.
  await ask('translated', '/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model: 'claude-x', messages: [{ role: 'user', content: 'hi' }] }) });
  await ask('azure', '/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model: 'az-4o', messages: [{ role: 'user', content: 'hi' }] }) });
  await ask('pass-through', '/v1/fim/completions', { method: 'POST', body: JSON.stringify({ model: 'gpt-4o', prompt: 'a' }) });
  await ask('messages', '/v1/messages', { method: 'POST', body: JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }) });
  expect(leaked).toEqual([]);
  // Headers without a key in them still pass.
  expect(kept).toEqual(['chat gpt-4o', 'chat bad', 'chat sse', 'translated', 'azure', 'pass-through', 'messages']);
});
