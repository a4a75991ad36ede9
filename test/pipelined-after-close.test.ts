import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from './harness/fake-upstream.js';
import { rawExchange, statusesOf } from './harness/raw-http.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// RFC 9112 §9.6: a server that sends `Connection: close` must not process further requests received on that
// connection. Found by an outside review: a refused key on a request with a body is answered 401 with connection: close,
// but Node's parser had already read the request pipelined behind it, which was authorized, forwarded and billed,
// its answer thrown away with the connection.

const ORG = '/v1/organization';
const BODY_LIMIT = 4096;

describe('no request is processed behind an answer that closes the connection', () => {
  let t: TestServer;
  let up: FakeUpstream;
  let port: number;

  beforeAll(async () => {
    up = await startFakeUpstream();
    const file = gatewayConfigFile({
      providers: [{ name: 'fake', base_url: up.url, api_key_env: 'FAKE_UPSTREAM_KEY' }],
      pricing: { 'gpt-4o-mini': { input: 0.15, output: 0.6 } },
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, FAKE_UPSTREAM_KEY: 'sk-up-0000', TOLLGATE_BODY_LIMIT: String(BODY_LIMIT) } });
    port = Number(new URL(t.url).port);
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  const post = (key: string, content = body) =>
    `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(content)}\r\n\r\n${content}`;
  const newKey = async () => (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k' } })).body as { id: string; value: string };
  const usageOf = async (keyId: string) => {
    await t.server.gateway.usage.flush();
    return t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', keyId).execute();
  };

  it.each([
    ['a refused key (401)', () => post('sk-tg-proj-notarealkey'), 401],
    ['a body over the limit (413)', (key: string) => post(key, JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(BODY_LIMIT) }] })), 413],
  ])('behind %s: the next request is neither forwarded nor billed', async (_what, first, status) => {
    const key = await newKey();
    const before = up.seen.length;
    const r = await rawExchange(port, first(key.value) + post(key.value), 2000);
    expect(statusesOf(r.text)).toEqual([status]);
    expect(r.closed).toBe(true);
    expect(up.seen.length - before).toBe(0);
    expect(await usageOf(key.id)).toHaveLength(0);
  });

  it('behind a refusal that closes, an admin call is not run either', async () => {
    const create = JSON.stringify({ name: 'pipelined-behind-close' });
    const admin = `POST ${ORG}/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminKey}\r\nContent-Type: application/json\r\nContent-Length: ${create.length}\r\n\r\n${create}`;
    const r = await rawExchange(port, post('sk-tg-proj-notarealkey') + admin, 2000);
    expect(statusesOf(r.text)).toEqual([401]);
    const projects = (await t.api('GET', `${ORG}/projects?limit=100`)).body.data as Array<{ name: string }>;
    expect(projects.map((p) => p.name)).not.toContain('pipelined-behind-close');
  });

  it('two requests pipelined on a connection that stays open are both served', async () => {
    const key = await newKey();
    const r = await rawExchange(port, post(key.value) + post(key.value), 1500);
    expect(statusesOf(r.text)).toEqual([200, 200]);
  });
});
