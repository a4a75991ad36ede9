import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// Found by an outside review holding a read-only key: GET /v1/me was forwarded with the provider's key, and OpenAI
// answers it with the provider account's owner (email, phone, organizations and their projects). So was every path
// whose first segment is no API resource: Anthropic's Admin API (/v1/organizations/…), OpenAI's dashboard and usage
// endpoints. Only /v1/projects/… was refused for this reason. Now only the APIs' own resource families are forwarded,
// and the paths an operator adds (`pass_through_paths`, for an OpenAI-compatible server's own endpoints).

const ORG = '/v1/organization';

/** Paths of the provider's account, not of the API a key is for. */
const ACCOUNT_PATHS = [
  '/v1/me',
  '/v1/organizations/org-abc/api_keys',
  '/v1/organizations/org-abc/users',
  '/v1/dashboard/billing/usage',
  '/v1/dashboard/billing/subscription',
  '/v1/usage',
  '/v1/keys',
  '/v1/invites',
  '/v1/users',
];

describe('paths the gateway forwards', () => {
  const seen: Array<{ method: string; url: string }> = [];
  // Answers every path, as an account's API does.
  const up = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '' });
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url === '/v1/me') return res.end(JSON.stringify({ object: 'user', id: 'user-abc123', email: 'founder@operator.example', phone_number: '+15551234567' }));
      if ((req.url ?? '').startsWith('/v1/fim/')) {
        return res.end(JSON.stringify({ id: 'fim-1', object: 'chat.completion', model: 'gpt-4o-mini', choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } }));
      }
      res.end(JSON.stringify({ object: 'list', data: [], has_more: false }));
    });
  });
  let plain: TestServer;
  let extended: TestServer;
  const newKey = async (t: TestServer, body: object): Promise<string> => {
    const res = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k', ...body } });
    expect(res.status, res.text).toBe(200);
    return res.body.value;
  };

  beforeAll(async () => {
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    const provider = { name: 'fake', base_url: `http://127.0.0.1:${(up.address() as AddressInfo).port}/v1`, api_key_env: 'FAKE_KEY' };
    const pricing = { 'gpt-4o-mini': { input: 0.15, output: 0.6 } };
    plain = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: gatewayConfigFile({ providers: [provider], pricing }), FAKE_KEY: 'sk-provider-0000000000' } });
    extended = await startTestServer(
      { name: 'sqlite' },
      { env: { TOLLGATE_CONFIG: gatewayConfigFile({ providers: [provider], pricing, pass_through_paths: ['/v1/fim/completions'] }), FAKE_KEY: 'sk-provider-0000000000' } },
    );
  });
  afterAll(async () => {
    await plain?.close();
    await extended?.close();
    up.close();
  });

  it("paths of the provider's account are 404 unknown_url for every kind of key, in OpenAI's shape, and never forwarded", async () => {
    const keys = [await newKey(plain, { permissions: 'read_only' }), await newKey(plain, { permissions: 'all' }), await newKey(plain, { permissions: { restricted: { models: 'read' } } })];
    const before = seen.length;
    for (const key of keys) {
      for (const path of ACCOUNT_PATHS) {
        for (const headers of [{ authorization: `Bearer ${key}` }, { 'x-api-key': key, 'anthropic-version': '2023-06-01' }] as Array<Record<string, string>>) {
          const res = await fetch(`${plain.url}${path}`, { headers });
          const body = await res.json();
          expect(res.status, path).toBe(404);
          expect(body.error, path).toMatchObject({ type: 'invalid_request_error', code: 'unknown_url', message: `Invalid URL (GET ${path})` });
        }
      }
      const post = await fetch(`${plain.url}/v1/organizations/org-abc/api_keys`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{}' });
      expect(post.status).toBe(404);
      await post.text();
    }
    expect(seen.length).toBe(before);
  });

  it("an OpenAI-compatible server's own endpoint is 404 unless the operator lists it in pass_through_paths", async () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', prompt: 'def' });
    const send = async (t: TestServer, path: string) => {
      const key = await newKey(t, {});
      const res = await fetch(`${t.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
      await res.text();
      return res.status;
    };
    const before = seen.length;
    expect(await send(plain, '/v1/fim/completions')).toBe(404);
    expect(await send(extended, '/v1/fim/other')).toBe(404);
    expect(await send(extended, '/v1/fim')).toBe(404);
    expect(seen.length).toBe(before);
    expect(await send(extended, '/v1/fim/completions')).toBe(200);
    expect(seen.at(-1)?.url).toBe('/v1/fim/completions');
    // Listing one path forwards no other.
    const key = await newKey(extended, { permissions: 'read_only' });
    const me = await fetch(`${extended.url}/v1/me`, { headers: { authorization: `Bearer ${key}` } });
    expect(me.status).toBe(404);
    await me.text();
  });

  it("the APIs' resource families are forwarded as before", async () => {
    const key = await newKey(plain, { permissions: 'all' });
    for (const path of ['/v1/files', '/v1/vector_stores', '/v1/batches', '/v1/audio/voices']) {
      const before = seen.length;
      const res = await fetch(`${plain.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
      await res.text();
      expect(res.status, path).not.toBe(404);
      expect(seen.length, path).toBe(before + 1);
    }
  });
});
