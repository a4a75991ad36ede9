import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// An empty allowlist was stored as none (found by a review): a key created or updated with `allowed_models: []` could
// call every model, and `allowed_ips: []` (a key's, a project's, an admin key's) let every address in. An empty list is
// refused; null (or leaving the member out) is the way to say "every".

const ORG = '/v1/organization';

describeEachDatabase('empty allowlists', (backend) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(backend);
  });
  afterAll(async () => t?.close());

  const keys = () => `${ORG}/projects/${t.defaultProjectId}/api_keys`;
  const chat = (key: string) =>
    fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'hi' }] }),
    });

  it('are refused on create, for keys, projects and admin keys, and nothing is made', async () => {
    const before = (await t.api('GET', `${keys()}?limit=100`)).body.data.length;
    for (const field of ['allowed_models', 'allowed_ips']) {
      const res = await t.api('POST', keys(), { body: { name: 'empty', [field]: [] } });
      expect(res.status, field).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_value', param: field });
    }
    expect((await t.api('GET', `${keys()}?limit=100`)).body.data.length).toBe(before);
    expect((await t.api('POST', `${ORG}/projects`, { body: { name: 'open to none', allowed_ips: [] } })).status).toBe(400);
    expect((await t.api('POST', `${ORG}/admin_api_keys`, { body: { name: 'admin', allowed_ips: [] } })).status).toBe(400);
  });

  it('are refused on update: a restricted key stays restricted; null lifts the restriction', async () => {
    const key = (await t.api('POST', keys(), { body: { name: 'restricted', allowed_models: ['gpt-4o'] } })).body;
    expect((await chat(key.value)).status).toBe(403);
    const emptied = await t.api('POST', `${keys()}/${key.id}`, { body: { allowed_models: [] } });
    expect(emptied.status).toBe(400);
    expect((await chat(key.value)).status).toBe(403);
    expect((await t.api('POST', `${keys()}/${key.id}`, { body: { allowed_models: null } })).status).toBe(200);
    expect((await chat(key.value)).status).toBe(200);
  });
});
