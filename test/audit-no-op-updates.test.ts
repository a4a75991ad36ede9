import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// An update that changes nothing writes no audit entry, and one that changes some of what it was sent names only that
// (an outside review: a POST repeating an object's values wrote an entry claiming a change, for projects, service
// accounts, users, members, rate limits, spend limits and alerts, providers, credentials and object assignments).

const ORG = '/v1/organization';

describeEachDatabase('audit entries of updates that change nothing', (backend) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(backend, { env: { TOLLGATE_SECRET: 'audit-no-op-updates-secret-0123456789' } });
  });
  afterAll(async () => t?.close());
  const project = () => `${ORG}/projects/${t.defaultProjectId}`;
  /** The details of each entry of a type about an object, oldest first. */
  const entries = async (type: string, objectId: string) =>
    (await t.server.runtime.database.db.selectFrom('audit_logs').select('details').where('type', '=', type).where('object_id', '=', objectId).orderBy('seq').execute()).map(
      (r) => JSON.parse(r.details),
    );
  /** Sends `body` to `path` twice more after the first, each answered 200; returns the entries of `type` about `id`. */
  async function repeated(path: string, body: unknown, type: string, id: string) {
    for (let i = 0; i < 3; i++) expect((await t.api('POST', path, { body })).status, path).toBe(200);
    return entries(type, id);
  }

  describe('happy path', () => {
    it('a project, service account, user or member sent the values it has writes no entry', async () => {
      const p = (await t.api('POST', `${ORG}/projects`, { body: { name: 'same' } })).body.id;
      expect(await repeated(`${ORG}/projects/${p}`, { name: 'renamed', allowed_ips: ['10.0.0.0/8'], external_key_id: null }, 'project.updated', p)).toHaveLength(1);
      // A null name keeps the name; [] and null, an allowlist spelled otherwise: no change.
      expect(await repeated(`${ORG}/projects/${p}`, { name: null, allowed_ips: ['10.0.0.0/8'] }, 'project.updated', p)).toHaveLength(1);
      const sa = (await t.api('POST', `${project()}/service_accounts`, { body: { name: 'sa', create_service_account_only: true } })).body.id;
      expect(await repeated(`${project()}/service_accounts/${sa}`, { name: 'sa' }, 'service_account.updated', sa)).toEqual([]);
      const user = (await t.api('POST', `${ORG}/users`, { body: { email: 'same@example.com', name: 'S', role: 'reader' } })).body.id;
      expect(await repeated(`${ORG}/users/${user}`, { role: 'reader' }, 'user.updated', user)).toEqual([]);
      expect((await repeated(`${ORG}/users/${user}`, { role: 'owner', technical_level: null }, 'user.updated', user)).map((d) => d.changes_requested)).toEqual([{ role: 'owner' }]);
      expect((await t.api('POST', `${project()}/users`, { body: { user_id: user, role: 'member' } })).status).toBe(200);
      expect(await repeated(`${project()}/users/${user}`, { role: 'member' }, 'project.user.updated', user)).toEqual([]);
      expect(await repeated(`${project()}/users/${user}`, { role: null }, 'project.user.updated', user)).toEqual([]);
    });

    it('a rate limit, spend limit or spend alert set to what it is writes no entry, and one partly changed names that part', async () => {
      const limit = `${project()}/rate_limits/rl-*`;
      // Unlimited for a model with no limit: nothing to change.
      expect(await repeated(limit, { max_requests_per_1_minute: Number.MAX_SAFE_INTEGER }, 'rate_limit.updated', 'rl-*')).toEqual([]);
      expect(await repeated(limit, { max_requests_per_1_minute: 5, max_tokens_per_1_minute: null }, 'rate_limit.updated', 'rl-*')).toHaveLength(1);
      await repeated(limit, { max_requests_per_1_minute: 5, max_requests_per_1_day: 100 }, 'rate_limit.updated', 'rl-*');
      expect((await entries('rate_limit.updated', 'rl-*')).map((d) => d.changes_requested)).toEqual([
        { max_requests_per_1_minute: 5, model: '*' },
        { max_requests_per_1_day: 100, model: '*' },
      ]);

      for (const [path, type, id] of [
        [`${project()}/spend_limit`, 'spend_limit.updated', t.defaultProjectId],
        [`${ORG}/spend_limit`, 'organization.spend_limit.updated', t.orgId],
      ] as const) {
        expect(await repeated(path, { threshold_amount: 5000, currency: 'usd' }, type, id)).toHaveLength(1);
        expect(await repeated(path, { threshold_amount: 5000, interval: 'month', enforcement: { status: 'enforcing' } }, type, id)).toHaveLength(1);
        const changed = await repeated(path, { threshold_amount: 5000, enforcement: { status: 'inactive' } }, type, id);
        expect(changed.map((d) => d.changes_requested)).toEqual([{ threshold_amount: 5000, currency: 'USD' }, { enforcement: { status: 'disabled' } }]);
      }

      const channel = { type: 'email', recipients: ['a@example.com'] };
      const alert = (await t.api('POST', `${project()}/spend_alerts`, { body: { threshold_amount: 100, currency: 'USD', interval: 'month', notification_channel: channel } })).body;
      const before = alert.updated_at;
      expect(await repeated(`${project()}/spend_alerts/${alert.id}`, { threshold_amount: 100, notification_channel: { ...channel, subject_prefix: null } }, 'spend_alert.updated', alert.id)).toEqual([]);
      expect((await t.api('GET', `${project()}/spend_alerts/${alert.id}`)).body.updated_at).toBe(before);
      const changed = await repeated(`${project()}/spend_alerts/${alert.id}`, { threshold_amount: 200, notification_channel: channel }, 'spend_alert.updated', alert.id);
      expect(changed.map((d) => d.changes_requested)).toEqual([{ threshold_amount: 200 }]);
    });

    it('a provider, a credential or an object assignment left as it is writes no entry', async () => {
      const provider = (await t.api('POST', `${ORG}/providers`, { body: { name: 'same-provider', base_url: 'https://up.example/v1', models: ['m1'] } })).body.id;
      const changed = await repeated(`${ORG}/providers/${provider}`, { base_url: 'https://up.example/v1/', models: ['m1', 'm2'], api_version: null }, 'provider.updated', provider);
      expect(changed.map((d) => d.changes_requested)).toEqual([{ models: ['m1', 'm2'] }]);
      const cred = (await t.api('POST', `${ORG}/providers/${provider}/credentials`, { body: { value: 'sk-same-0123456789' } })).body.id;
      const path = `${ORG}/providers/${provider}/credentials/${cred}`;
      expect(await repeated(`${path}/enable`, undefined, 'provider_credential.enabled', cred)).toEqual([]);
      expect(await repeated(`${path}/disable`, undefined, 'provider_credential.disabled', cred)).toHaveLength(1);
      expect(await repeated(`${path}/enable`, undefined, 'provider_credential.enabled', cred)).toHaveLength(1);

      expect(await repeated(`${project()}/upstream_objects`, { id: 'file-same' }, 'upstream_object.assigned', 'file-same')).toHaveLength(1);
    });
  });
});
