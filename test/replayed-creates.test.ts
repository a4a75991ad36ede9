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
