import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// An upstream that answers a create with an object that already exists (a replayed Idempotency-Key: the same answer
// for the same key, whoever sends it). Found by an outside review: project B, sending A's key, got A's conversation
// back, and the instance's owner cache then took B for its owner (the table kept A), so B read and deleted it.

const ORG = '/v1/organization';

describeEachDatabase('a create answered with another project’s object', (backend) => {
  let t: TestServer;
  let up: Server;
  let deletes = 0;

  beforeAll(async () => {
    up = createServer(async (req, res) => {
      for await (const _ of req);
      if (req.method === 'DELETE') deletes++;
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.method === 'GET' && (req.url ?? '').includes('/items')) return res.end(JSON.stringify({ object: 'list', data: [{ id: 'msg_1', type: 'message', content: [{ type: 'input_text', text: 'A secret' }] }], has_more: false }));
      res.end(JSON.stringify({ id: 'conv_same', object: 'conversation', created_at: 1, metadata: {} }));
    });
    const url = `${await listenOnLoopback(up)}/v1`;
    const file = gatewayConfigFile({ providers: [{ name: 'oai', base_url: url, api_key_env: 'UP_KEY' }] });
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.close();
  });

  const keyOf = async (project: string) => (await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'k' } })).body.value as string;
  const call = (key: string, method: string, path: string) =>
    fetch(`${t.url}/v1${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': 'key-123' }, body: method === 'POST' ? '{}' : undefined });

  it('is refused (409) to the second project, which can then neither read nor delete it', async () => {
    const other = (await t.api('POST', `${ORG}/projects`, { body: { name: 'B' } })).body.id as string;
    const a = await keyOf(t.defaultProjectId);
    const b = await keyOf(other);
    expect((await call(a, 'POST', '/conversations')).status).toBe(200);
    const replayed = await call(b, 'POST', '/conversations');
    expect(replayed.status).toBe(409);
    expect(await replayed.text()).not.toContain('"object":"conversation"');
    expect((await call(b, 'GET', '/conversations/conv_same/items')).status).toBe(404);
    expect((await call(b, 'DELETE', '/conversations/conv_same')).status).toBe(404);
    expect(deletes).toBe(0);
    // Its own project still reaches it.
    expect((await call(a, 'GET', '/conversations/conv_same/items')).status).toBe(200);
  });
});

// Found by a review of the change that gives back the quota place of requests that never reached a provider: the 409
// above is answered after the provider ran the request, but was taken for a refusal made before sending, so a key
// with a request quota of 1 a day had every such call run upstream (4 of 4), each recorded as refused and free.
describeEachDatabase('a create refused after the provider answered it', (backend) => {
  let t: TestServer;
  let up: Server;
  let posts = 0;

  beforeAll(async () => {
    up = createServer(async (req, res) => {
      for await (const _ of req);
      if (req.method === 'POST') posts++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ id: 'resp_same', object: 'response', created_at: 1, status: 'completed', model: 'gpt-4o-mini', output: [], usage: { input_tokens: 1000, output_tokens: 1000, total_tokens: 2000 } }),
      );
    });
    const url = `${await listenOnLoopback(up)}/v1`;
    const file = gatewayConfigFile({ providers: [{ name: 'oai', base_url: url, api_key_env: 'UP_KEY' }] });
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.close();
  });

  it('keeps its quota place: the provider had it', async () => {
    const a = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'a' } })).body.value as string;
    expect((await t.api('POST', '/v1/responses', { key: a, body: { model: 'gpt-4o-mini', input: 'hi' } })).status).toBe(200);
    const other = (await t.api('POST', `${ORG}/projects`, { body: { name: 'B' } })).body.id as string;
    const b = (await t.api('POST', `${ORG}/projects/${other}/api_keys`, { body: { name: 'b', request_quota: { max_requests: 1, interval: 'day' } } })).body.value as string;
    posts = 0;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await t.api('POST', '/v1/responses', { key: b, body: { model: 'gpt-4o-mini', input: 'hi' } })).status);
    expect(statuses).toEqual([409, 429, 429, 429]);
    expect(posts).toBe(1);
  });
});
