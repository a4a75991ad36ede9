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

// The same for the project's members and settings: a member's role was changed (200, project.user.updated logged
// after project.archived) and its rate limits set, while adding a member and renaming the project were refused. Every
// write is refused as OpenAI refuses one ("Archived projects cannot be used or updated"); what only takes something
// away stays allowed: removing a member, deleting a rate limit, the spend limit or an alert, taking an object away.
describeEachDatabase("writes to an archived project's members and settings", (backend) => {
  let t: TestServer;
  let project: string;
  let member: string;
  let newcomer: string;
  let alert: string;
  const ALERT = { threshold_amount: 1000, currency: 'USD', interval: 'month', notification_channel: { type: 'email', recipients: ['ops@example.com'] } };
  beforeAll(async () => {
    t = await startTestServer(backend);
    const ok = async (method: string, path: string, body?: unknown) => {
      const res = await t.api(method, path, { body });
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(200);
      return res.body;
    };
    project = (await ok('POST', `${ORG}/projects`, { name: 'settings to freeze' })).id;
    member = (await ok('POST', `${ORG}/users`, { email: 'member@example.com' })).id;
    newcomer = (await ok('POST', `${ORG}/users`, { email: 'newcomer@example.com' })).id;
    await ok('POST', `${ORG}/projects/${project}/users`, { user_id: member, role: 'member' });
    await ok('POST', `${ORG}/projects/${project}/rate_limits/rl-*`, { max_requests_per_1_minute: 60 });
    await ok('POST', `${ORG}/projects/${project}/spend_limit`, { threshold_amount: 5000 });
    alert = (await ok('POST', `${ORG}/projects/${project}/spend_alerts`, ALERT)).id;
    await ok('POST', `${ORG}/projects/${project}/upstream_objects`, { id: 'file-kept' });
    await ok('POST', `${ORG}/projects/${project}/archive`);
  });
  afterAll(async () => t?.close());
  const base = () => `${ORG}/projects/${project}`;
  const afterArchive = async () => {
    const rows = await t.server.runtime.database.db.selectFrom('audit_logs').select('type').where('project_id', '=', project).orderBy('seq').execute();
    return rows.slice(rows.findIndex((r) => r.type === 'project.archived') + 1).map((r) => r.type);
  };

  describe('errors', () => {
    it('refuses every change to its members, limits, alerts and objects (a change to nothing too), and writes nothing', async () => {
      const writes: Array<[string, unknown]> = [
        ['/users', { user_id: newcomer, role: 'member' }],
        [`/users/${member}`, { role: 'owner' }],
        [`/users/${member}`, { role: 'member' }],
        [`/users/${member}`, { role: null }],
        ['/rate_limits', { model: 'gpt-4o', max_requests_per_1_minute: 1 }],
        ['/rate_limits/rl-*', { max_requests_per_1_minute: 1_000_000 }],
        ['/rate_limits/rl-*', { max_requests_per_1_minute: 60 }],
        ['/rate_limits/rl-tollgate-echo', { max_requests_per_1_minute: 1 }],
        ['/spend_limit', { threshold_amount: 9_999_999 }],
        ['/spend_alerts', ALERT],
        [`/spend_alerts/${alert}`, { threshold_amount: 1 }],
        ['/upstream_objects', { id: 'file-late' }],
        ['', { name: 'renamed' }],
      ];
      for (const [path, body] of writes) {
        const res = await t.api('POST', `${base()}${path}`, { body });
        expect([res.status, res.body.error?.code, res.body.error?.param], `POST ${path}`).toEqual([400, 'project_archived', 'project_id']);
      }
      expect((await t.api('GET', `${base()}/users/${member}`)).body.role).toBe('member');
      expect((await t.api('GET', `${base()}/users/${newcomer}`)).status).toBe(404);
      const limits = (await t.api('GET', `${base()}/rate_limits`)).body.data;
      expect(limits.find((l: { id: string }) => l.id === 'rl-*').max_requests_per_1_minute).toBe(60);
      expect(limits.map((l: { id: string }) => l.id)).not.toContain('rl-gpt-4o');
      expect((await t.api('GET', `${base()}/spend_limit`)).body.threshold_amount).toBe(5000);
      expect((await t.api('GET', `${base()}/spend_alerts/${alert}`)).body.threshold_amount).toBe(1000);
      expect((await t.api('GET', `${base()}/upstream_objects`)).body.data.map((o: { id: string }) => o.id)).toEqual(['file-kept']);
      expect(await afterArchive()).toEqual([]);
    });
  });

  describe('happy path', () => {
    it("removes a member, deletes its limits and alert, takes an object away; the organization's own settings stay writable", async () => {
      for (const path of [`/users/${member}`, '/rate_limits/rl-*', '/spend_limit', `/spend_alerts/${alert}`, '/upstream_objects/file-kept']) {
        const res = await t.api('DELETE', `${base()}${path}`);
        expect(res.status, `DELETE ${path}: ${res.text}`).toBe(200);
      }
      expect(await afterArchive()).toEqual(['project.user.removed', 'rate_limit.deleted', 'spend_limit.deleted', 'spend_alert.deleted', 'upstream_object.unassigned']);
      expect((await t.api('POST', `${ORG}/spend_limit`, { body: { threshold_amount: 100_000 } })).status).toBe(200);
      expect((await t.api('POST', `${ORG}/spend_alerts`, { body: ALERT })).status).toBe(200);
    });
  });
});
