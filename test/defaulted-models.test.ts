import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from './harness/fake-upstream.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// Images, moderations and videos run a default model when the body names none. Found by an outside review: (1) a
// project's per-model rate limits never saw such a request (planned for no model), which ran the upstream's default;
// (2) a model named only in the query string routed, limited and billed the request as that model, or as none, while
// the upstream ran it (Azure's deployment URL) or its default (OpenAI). Now a project that limits models needs the
// model named, and a model in the query string alone is refused on these endpoints.

const ORG = '/v1/organization';

describe('endpoints that run a default model', () => {
  let up: FakeUpstream;
  let t: TestServer;
  beforeAll(async () => {
    up = await startFakeUpstream();
    const file = gatewayConfigFile({ providers: [{ name: 'fake', base_url: up.url, api_key_env: 'FAKE_KEY' }] });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, FAKE_KEY: 'sk-fake-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  const post = (key: string, path: string, body: unknown) =>
    fetch(`${t.url}/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const keyIn = async (project: string) => (await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'k' } })).body.value as string;

  it('a project that limits models needs the model named; one that does not lets the upstream pick', async () => {
    const limited = (await t.api('POST', `${ORG}/projects`, { body: { name: 'limits models' } })).body.id;
    expect((await t.api('POST', `${ORG}/projects/${limited}/rate_limits`, { body: { model: 'dall-e-3', max_requests_per_1_minute: 1 } })).status).toBe(200);
    const key = await keyIn(limited);
    const before = up.seen.length;
    for (const [path, body] of [
      ['/images/generations', { prompt: 'a cat' }],
      ['/moderations', { input: 'hello' }],
    ] as const) {
      const res = await post(key, path, body);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { error: { code: string; param: string } }).error).toMatchObject({ code: 'missing_required_parameter', param: 'model' });
    }
    expect(up.seen.length).toBe(before);
    expect((await post(key, '/images/generations', { model: 'dall-e-3', prompt: 'a cat' })).status).toBe(200);
    expect((await post(key, '/images/generations', { model: 'dall-e-3', prompt: 'a cat' })).status).toBe(429);
    const free = await keyIn(t.defaultProjectId);
    expect((await post(free, '/images/generations', { prompt: 'a cat' })).status).toBe(200);
  });

  it('refuses a model named only in the query string where the body names the model', async () => {
    const key = await keyIn(t.defaultProjectId);
    const before = up.seen.length;
    const res = await post(key, '/images/generations?model=dall-e-3', { prompt: 'a cat' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string; param: string } }).error).toMatchObject({ code: 'invalid_value', param: 'model' });
    expect(up.seen.length).toBe(before);
    // Named in both, and the same: as before.
    expect((await post(key, '/images/generations?model=dall-e-3', { model: 'dall-e-3', prompt: 'a cat' })).status).toBe(200);
  });
});
