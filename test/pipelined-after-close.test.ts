import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from './harness/fake-upstream.js';
import { rawExchange, statusesOf } from './harness/raw-http.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// Pipelined requests on a keep-alive connection are each served. (Serving them one at a time, none behind an answer
// that closed the connection, held every waiting request in memory with nothing to slow its sender: taken out, see
// docs/gateway-paths.md.)

const ORG = '/v1/organization';
const BODY_LIMIT = 4096;

describe('pipelined requests', () => {
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

  it('two requests pipelined on a connection that stays open are both served', async () => {
    const key = await newKey();
    const r = await rawExchange(port, post(key.value) + post(key.value), 1500);
    expect(statusesOf(r.text)).toEqual([200, 200]);
    expect(await usageOf(key.id)).toHaveLength(2);
  });
});
