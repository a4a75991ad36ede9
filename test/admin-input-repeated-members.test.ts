import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { signUpOwner } from './harness/session-client.js';

// Found by review: JSON.parse keeps the last of two members of one name, so `{"name":"x","permissions":"read_only",
// "permissions":"all"}` made a full-access key, answered 200. The control plane's parser refuses such a body (400
// invalid_json naming the member) and writes nothing; the gateway's is left as it was (its hot path does not scan).

const ORG = '/v1/organization';

describeEachDatabase('members named twice in a control-plane body', (backend) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(backend);
  });
  afterAll(async () => t?.close());

  const keyCount = async () => Number((await t.server.runtime.database.db.selectFrom('api_keys').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const keysPath = () => `${ORG}/projects/${t.defaultProjectId}/api_keys`;

  it('a project key body naming permissions twice is refused, and no key is made', async () => {
    const before = await keyCount();
    for (const [raw, param] of [
      ['{"name":"x","permissions":"read_only","permissions":"all"}', 'permissions'],
      ['{"name":"first","name":"second"}', 'name'],
      // An escape names the same member as the plain letters.
      ['{"name":"first","na\\u006de":"second"}', 'name'],
      ['{"name":"x","rate_limits":{"max_requests_per_1_minute":1,"max_requests_per_1_minute":1000000}}', 'rate_limits.max_requests_per_1_minute'],
      ['{"name":"x","permissions":{"restricted":{"models":"read","models":"write"}}}', 'permissions.restricted.models'],
    ] as const) {
      const r = await t.api('POST', keysPath(), { raw });
      expect(r.status, raw).toBe(400);
      expect(r.body.error, raw).toEqual({
        message: expect.stringContaining(`names '${param}' more than once`),
        type: 'invalid_request_error',
        param,
        code: 'invalid_json',
      });
    }
    expect(await keyCount()).toBe(before);
  });

  it('an update naming a member twice changes nothing', async () => {
    const key = (await t.api('POST', keysPath(), { body: { name: 'kept', permissions: 'read_only' } })).body;
    const r = await t.api('POST', `${keysPath()}/${key.id}`, { raw: '{"permissions":"read_only","permissions":"all"}' });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_json', param: 'permissions' });
    const now = await t.api('GET', `${keysPath()}/${key.id}`);
    expect(now.body.permissions).toBe('read_only');
  });

  it('an invite naming a project role twice, in an array, names where', async () => {
    const r = await t.api('POST', `${ORG}/invites`, {
      raw: `{"email":"twice@example.com","role":"reader","projects":[{"id":"${t.defaultProjectId}","role":"member","role":"owner"}]}`,
    });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_json', param: 'projects.0.role' });
    expect((await t.api('GET', `${ORG}/invites`)).body.data).toEqual([]);
  });

  it("the dashboard's session API refuses it too", async () => {
    await signUpOwner(t, 'owner@example.com', 'correct horse battery');
    const res = await fetch(`${t.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"email":"owner@example.com","password":"wrong","password":"correct horse battery"}',
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ code: 'invalid_json', param: 'password' });
    expect(res.headers.get('set-cookie')).toBe(null);
  });

  it('bodies that name each member once are taken as before, the same name in different objects included', async () => {
    const r = await t.api('POST', keysPath(), {
      raw: '{"name":"fine","permissions":{"restricted":{"models":"read"}},"rate_limits":{"max_requests_per_1_minute":5},"spend_limit":{"threshold_amount":5}}',
    });
    expect(r.status, r.text).toBe(200);
  });
});
