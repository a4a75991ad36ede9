import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Issue 16 §3: revoking a suspended or exposed key answered {"deleted": true} and changed nothing — no revoked_at, no
// audit entry. A revocation revokes whatever the key's status, once.

const ORG = '/v1/organization';

describeEachDatabase('revoking a key whatever its status', (backend) => {
  let t: TestServer;
  let project: string;
  beforeAll(async () => {
    t = await startTestServer(backend);
    project = t.defaultProjectId;
  });
  afterAll(async () => t?.close());

  const db = () => t.server.runtime.database.db;
  const audits = async (keyId: string, type: string) =>
    (await db().selectFrom('audit_logs').select('type').where('object_id', '=', keyId).where('type', '=', type).execute()).length;

  async function projectKey(name: string) {
    const res = await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name } });
    expect(res.status).toBe(200);
    return res.body as { id: string; value: string };
  }

  async function expose(secret: string) {
    const res = await t.api('POST', `${ORG}/api_keys/report_exposed`, { body: { reports: [{ token: secret, url: 'https://example.com/leak' }] } });
    expect(res.status).toBe(200);
  }

  async function suspend(keyId: string) {
    // As the anomaly detector's auto-suspend does (services/anomaly.ts).
    await db().updateTable('api_keys').set({ status: 'suspended' }).where('id', '=', keyId).execute();
    t.server.runtime.deps.changes.keyChanged(keyId);
  }

  for (const [status, disable] of [
    ['exposed', (k: { id: string; value: string }) => expose(k.value)],
    ['suspended', (k: { id: string; value: string }) => suspend(k.id)],
  ] as const) {
    it(`revokes a project key that is ${status}: revoked_at set, audited once, refused at the gateway`, async () => {
      const key = await projectKey(status);
      await disable(key);
      const path = `${ORG}/projects/${project}/api_keys/${key.id}`;
      expect((await t.api('GET', `${path}?include_revoked=true`)).body.status).toBe(status);
      const res = await t.api('DELETE', path);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ object: 'organization.project.api_key.deleted', id: key.id, deleted: true });
      const after = (await t.api('GET', `${path}?include_revoked=true`)).body;
      expect(after.status).toBe('revoked');
      expect(after.revoked_at).toBeTypeOf('number');
      if (status === 'exposed') expect(after.exposed_at).toBeTypeOf('number');
      expect(await audits(key.id, 'api_key.deleted')).toBe(1);
      // Deleted, as OpenAI's API shows it (404); and again changes nothing and audits nothing.
      expect((await t.api('DELETE', path)).status).toBe(404);
      expect((await t.api('GET', `${path}?include_revoked=true`)).body.revoked_at).toBe(after.revoked_at);
      expect(await audits(key.id, 'api_key.deleted')).toBe(1);
      const call = await fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${key.value}` } });
      expect(call.status).toBe(401);
    });
  }

  it('revokes an exposed admin key', async () => {
    const created = await t.api('POST', `${ORG}/admin_api_keys`, { body: { name: 'leaky' } });
    await expose(created.body.value);
    const path = `${ORG}/admin_api_keys/${created.body.id}`;
    expect((await t.api('GET', `${path}?include_revoked=true`)).body.status).toBe('exposed');
    expect((await t.api('DELETE', path)).status).toBe(200);
    const after = (await t.api('GET', `${path}?include_revoked=true`)).body;
    expect(after.status).toBe('revoked');
    expect(after.revoked_at).toBeTypeOf('number');
    expect(await audits(created.body.id, 'admin_api_key.deleted')).toBe(1);
  });

  it("revokes a removed user's suspended and exposed keys with the rest", async () => {
    const user = (await t.api('POST', `${ORG}/users`, { body: { email: 'leaving@example.com' } })).body;
    expect((await t.api('POST', `${ORG}/projects/${project}/users`, { body: { user_id: user.id, role: 'member' } })).status).toBe(200);
    const owned = async (name: string) => (await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name, owner: user.id } })).body;
    const suspended = await owned('suspended');
    const exposed = await owned('exposed');
    await suspend(suspended.id);
    await expose(exposed.value);
    expect((await t.api('DELETE', `${ORG}/users/${user.id}`)).status).toBe(200);
    for (const k of [suspended, exposed]) {
      const after = (await t.api('GET', `${ORG}/projects/${project}/api_keys/${k.id}?include_revoked=true`)).body;
      expect(after.status).toBe('revoked');
      expect(after.revoked_at).toBeTypeOf('number');
      expect(await audits(k.id, 'api_key.deleted')).toBe(1);
    }
  });
});
