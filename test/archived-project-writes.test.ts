import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// An archived project's keys are refused by the gateway, and the server refuses to create, change or rotate them
// (docs/dashboard.md); revoking stays allowed, so that nobody is left unable to kill a key. Changing a key's settings
// was let through (an outside review: its name, scope and spend limit changed after the archive, with api_key.updated
// in the log). The same for a service account: created, renamed or given a key, refused; deleted (its keys revoked), allowed.

const ORG = '/v1/organization';

describeEachDatabase("writes to an archived project's keys and service accounts", (backend) => {
  let t: TestServer;
  let project: string;
  let key: string;
  let svc: string;
  beforeAll(async () => {
    t = await startTestServer(backend);
    project = (await t.api('POST', `${ORG}/projects`, { body: { name: 'to archive' } })).body.id;
    const made = await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'k', spend_limit: { threshold_amount: 100 } } });
    key = made.body.id;
    expect((await t.api('POST', `${ORG}/projects/${project}/api_keys/${key}/rotate`, { body: {} })).status).toBe(200);
    svc = (await t.api('POST', `${ORG}/projects/${project}/service_accounts`, { body: { name: 'svc' } })).body.id;
    expect((await t.api('POST', `${ORG}/projects/${project}/archive`)).status).toBe(200);
  });
  afterAll(async () => t?.close());
  const keyPath = () => `${ORG}/projects/${project}/api_keys/${key}`;
  const entries = async (type: string) => (await t.api('GET', `${ORG}/audit_logs?event_types[]=${type}`)).body.data.length;

  describe('errors', () => {
    it("refuses to change a key's settings, as it refuses to rotate it, and changes nothing", async () => {
      const edit = await t.api('POST', keyPath(), { body: { name: 'changed after archive', spend_limit: null, permissions: 'read_only' } });
      expect([edit.status, edit.body.error?.code, edit.body.error?.param]).toEqual([400, 'project_archived', 'project_id']);
      const rotate = await t.api('POST', `${keyPath()}/rotate`, { body: {} });
      expect([rotate.status, rotate.body.error?.code]).toEqual([400, 'project_archived']);
      const shown = (await t.api('GET', keyPath())).body;
      expect([shown.name, shown.permissions, shown.spend_limit?.threshold_amount]).toEqual(['k', 'all', 100]);
      expect(await entries('api_key.updated')).toBe(0);
    });

    it("refuses to end a key's grace, and to create a key", async () => {
      const end = await t.api('POST', `${keyPath()}/end_grace`);
      expect([end.status, end.body.error?.code]).toEqual([400, 'project_archived']);
      const create = await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'late' } });
      expect([create.status, create.body.error?.code]).toEqual([400, 'project_archived']);
      expect(await entries('api_key.grace_ended')).toBe(0);
    });

    it('refuses to create, rename or give a key to a service account', async () => {
      const base = `${ORG}/projects/${project}/service_accounts`;
      expect((await t.api('POST', base, { body: { name: 'late' } })).body.error?.code).toBe('project_archived');
      expect((await t.api('POST', `${base}/${svc}`, { body: { name: 'renamed' } })).body.error?.code).toBe('project_archived');
      expect((await t.api('POST', `${base}/${svc}/api_keys`, { body: {} })).body.error?.code).toBe('project_archived');
    });
  });

  describe('happy path', () => {
    it("revokes a key and deletes a service account (its keys revoked) of an archived project", async () => {
      expect((await t.api('DELETE', keyPath())).status).toBe(200);
      expect((await t.api('DELETE', `${ORG}/projects/${project}/service_accounts/${svc}`)).status).toBe(200);
      const left = await t.server.runtime.database.db.selectFrom('api_keys').select('status').where('project_id', '=', project).execute();
      expect(left.map((k) => k.status)).toEqual(['revoked', 'revoked']);
    });
  });
});
