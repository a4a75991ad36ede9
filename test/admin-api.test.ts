import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

const ORG = '/v1/organization';

describeEachDatabase('admin API', (backend) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(backend);
  });
  afterAll(async () => t?.close());

  const auditCount = async () => {
    const all = await t.server.runtime.database.db.selectFrom('audit_logs').select('id').execute();
    return all.length;
  };

  it("refuses an admin key sent with another organization's OpenAI-Organization header, as the gateway does, and changes nothing", async () => {
    await t.api('GET', `${ORG}/projects`); // this minute's admin_api_key.used entry, written before counting
    const before = await auditCount();
    const other = { 'openai-organization': 'org-someone-else' };
    for (const [method, path, body] of [
      ['POST', `${ORG}/projects`, { name: 'made under a foreign organization header' }],
      ['GET', `${ORG}/projects`, undefined],
      ['POST', `${ORG}/invites`, { email: 'foreign@example.com', role: 'reader' }],
    ] as const) {
      const res = await t.api(method, path, { body, headers: other });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body.error.code).toBe('mismatched_organization');
    }
    expect((await t.api('GET', `${ORG}/projects?limit=100`)).body.data.map((p: { name: string }) => p.name)).not.toContain('made under a foreign organization header');
    expect(await auditCount()).toBe(before);
    // Its own organization, or none, is served.
    expect((await t.api('GET', `${ORG}/projects`, { headers: { 'openai-organization': t.orgId } })).status).toBe(200);
    expect((await t.api('GET', `${ORG}/projects`, { headers: { 'openai-organization': '' } })).status).toBe(200);
  });

  describe('projects', () => {
    it('lists the Default project created at first start', async () => {
      const res = await t.api('GET', `${ORG}/projects`);
      expect(res.status).toBe(200);
      expect(res.body.object).toBe('list');
      expect(res.body.data[0]).toMatchObject({ object: 'organization.project', name: 'Default project', status: 'active', archived_at: null });
      expect(res.body.data[0].id).toMatch(/^proj_/);
      expect(res.body).toHaveProperty('first_id');
      expect(res.body).toHaveProperty('has_more', false);
    });

    it('creates, gets, renames and archives a project, auditing each', async () => {
      const created = await t.api('POST', `${ORG}/projects`, { body: { name: 'Billing' } });
      expect(created.status).toBe(200);
      const id = created.body.id;
      expect((await t.api('GET', `${ORG}/projects/${id}`)).body.name).toBe('Billing');
      const renamed = await t.api('POST', `${ORG}/projects/${id}`, { body: { name: 'Billing v2' } });
      expect(renamed.body.name).toBe('Billing v2');
      const archived = await t.api('POST', `${ORG}/projects/${id}/archive`);
      expect(archived.body).toMatchObject({ status: 'archived' });
      expect(archived.body.archived_at).toBeTypeOf('number');
      const list = await t.api('GET', `${ORG}/projects?limit=100`);
      expect(list.body.data.map((p: { id: string }) => p.id)).not.toContain(id);
      const withArchived = await t.api('GET', `${ORG}/projects?limit=100&include_archived=true`);
      expect(withArchived.body.data.map((p: { id: string }) => p.id)).toContain(id);
      const audit = await t.api('GET', `${ORG}/audit_logs?project_ids[]=${id}`);
      expect(audit.body.data.map((e: { type: string }) => e.type)).toEqual(['project.archived', 'project.updated', 'project.created']);
      const refused = await t.api('POST', `${ORG}/projects/${id}/api_keys`, { body: { name: 'x' } });
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('project_archived');
    });

    it('paginates with after/limit', async () => {
      for (let i = 0; i < 3; i++) await t.api('POST', `${ORG}/projects`, { body: { name: `Page ${i}` } });
      const first = await t.api('GET', `${ORG}/projects?limit=2`);
      expect(first.body.data).toHaveLength(2);
      expect(first.body.has_more).toBe(true);
      expect(first.body.last_id).toBe(first.body.data[1].id);
      const second = await t.api('GET', `${ORG}/projects?limit=2&after=${first.body.last_id}`);
      expect(second.body.data[0].id).not.toBe(first.body.data[0].id);
      expect(second.body.data[0].id).not.toBe(first.body.data[1].id);
      for (const path of ['projects', 'admin_api_keys', 'audit_logs', 'users', `projects/${t.defaultProjectId}/api_keys`]) {
        const unknown = await t.api('GET', `${ORG}/${path}?after=nope_123`);
        expect(unknown.status, path).toBe(400);
        expect(unknown.body.error).toMatchObject({ code: 'invalid_value', param: 'after' });
      }
    });
  });

  describe('api keys', () => {
    it('creates a key shown once, then lists and gets it redacted', async () => {
      const p = t.defaultProjectId;
      const invite = (await t.api('POST', `${ORG}/invites`, { body: { email: 'no-store@example.com', role: 'reader' } })).body;
      expect(invite.id).toMatch(/^invite-/);
      const before = await auditCount();
      const res = await t.api('POST', `${ORG}/projects/${p}/api_keys`, {
        body: { name: 'ci', permissions: 'read_only', allowed_ips: ['10.0.0.0/8'] },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      // Every admin answer, reads and refusals included, is kept by no cache: the invitations' too (served beside the
      // admin API, by the dashboard's owner scope: their reads went out without the header).
      for (const path of [
        `${ORG}/projects/${p}/api_keys`,
        `${ORG}/usage/completions?start_time=0`,
        `${ORG}/audit_logs`,
        `${ORG}/users`,
        `${ORG}/invites`,
        `${ORG}/invites/${invite.id}`,
      ]) {
        expect((await t.api('GET', path)).headers.get('cache-control'), path).toBe('no-store');
      }
      for (const path of [`${ORG}/users`, `${ORG}/invites`, `${ORG}/invites/${invite.id}`]) {
        expect((await t.api('GET', path, { key: null })).headers.get('cache-control'), path).toBe('no-store');
      }
      const { value, id } = res.body;
      expect(value).toMatch(/^sk-tg-[0-9A-Za-z]{46}$/);
      expect(id).toMatch(/^key_/);
      expect(res.body).toMatchObject({
        object: 'organization.project.api_key',
        name: 'ci',
        redacted_value: `sk-tg-…${value.slice(-4)}`,
        status: 'active',
        permissions: 'read_only',
        allowed_ips: ['10.0.0.0/8'],
        last_used_at: null,
        created_by: { type: 'admin_api_key', id: t.adminKeyId },
      });
      expect(res.body.owner.type).toBe('service_account');
      expect(res.body.owner.service_account.id).toMatch(/^svc_acct_/);
      expect(await auditCount()).toBe(before + 1);

      // Show-once: no later read path returns the secret.
      const reads = [
        await t.api('GET', `${ORG}/projects/${p}/api_keys`),
        await t.api('GET', `${ORG}/projects/${p}/api_keys/${id}`),
        await t.api('GET', `${ORG}/audit_logs?limit=100`),
        await t.api('GET', `${ORG}/projects/${p}/service_accounts`),
      ];
      for (const r of reads) {
        expect(r.status).toBe(200);
        expect(r.text).not.toContain(value);
        expect(r.text).not.toContain(value.slice(6, 30));
      }
      expect(reads[1].body).not.toHaveProperty('value');
      // Stored only as a digest.
      const rows = await t.server.runtime.database.db.selectFrom('api_keys').selectAll().execute();
      expect(JSON.stringify(rows)).not.toContain(value.slice(6));
      const secrets = await t.server.runtime.database.db.selectFrom('api_key_secrets').selectAll().execute();
      expect(JSON.stringify(secrets)).not.toContain(value.slice(6));
    });

    it('accepts restricted permissions, expiry and model lists, and updates them', async () => {
      const p = t.defaultProjectId;
      const expires = Math.floor(Date.now() / 1000) + 3600;
      const res = await t.api('POST', `${ORG}/projects/${p}/api_keys`, {
        body: { name: 'restricted', permissions: { restricted: { models: 'read', 'chat.completions': 'write' } }, expires_at: expires, allowed_models: ['gpt-4o-mini'] },
      });
      expect(res.status).toBe(200);
      expect(res.body.permissions).toEqual({ restricted: { models: 'read', 'chat.completions': 'write' } });
      expect(res.body.expires_at).toBe(expires);
      const upd = await t.api('POST', `${ORG}/projects/${p}/api_keys/${res.body.id}`, { body: { name: 'renamed', permissions: 'all', allowed_ips: null } });
      expect(upd.status).toBe(200);
      expect(upd.body).toMatchObject({ name: 'renamed', permissions: 'all', allowed_ips: null });
      const audit = await t.api('GET', `${ORG}/audit_logs?resource_ids=${res.body.id}`);
      expect(audit.body.data.map((e: { type: string }) => e.type)).toEqual(['api_key.updated', 'api_key.created']);
      expect(audit.body.data[0]['api_key.updated'].changes_requested.name).toBe('renamed');
    });

    it("audits only the fields an update changes, and no entry for an update that changes nothing", async () => {
      const p = t.defaultProjectId;
      const settings = { name: 'same', permissions: 'read_only', allowed_ips: ['10.0.0.0/8'], allowed_models: ['gpt-4o-mini'], rate_limits: { max_requests_per_1_minute: 5 } };
      const key = (await t.api('POST', `${ORG}/projects/${p}/api_keys`, { body: settings })).body;
      const path = `${ORG}/projects/${p}/api_keys/${key.id}`;
      const updates = async () => (await t.api('GET', `${ORG}/audit_logs?resource_ids[]=${key.id}&event_types[]=api_key.updated`)).body.data;
      // Every setting sent again, the rate limit changed and the model list spelled as it is.
      const upd = await t.api('POST', path, { body: { ...settings, rate_limits: { max_requests_per_1_minute: 9, max_tokens_per_1_minute: null }, spend_limit: null } });
      expect(upd.status).toBe(200);
      expect(upd.body).toMatchObject({ ...settings, rate_limits: { max_requests_per_1_minute: 9 } });
      const [entry] = await updates();
      expect(entry['api_key.updated'].changes_requested).toEqual({ rate_limits: { max_requests_per_1_minute: 9, max_tokens_per_1_minute: null } });
      expect((await t.api('POST', path, { body: { ...settings, allowed_ips: ['10.0.0.0/8'], rate_limits: { max_requests_per_1_minute: 9 } } })).status).toBe(200);
      expect(await updates()).toHaveLength(1);
    });

    it('rotates with a grace period and revokes, auditing both', async () => {
      const p = t.defaultProjectId;
      const created = await t.api('POST', `${ORG}/projects/${p}/api_keys`, { body: { name: 'rot' } });
      const rotated = await t.api('POST', `${ORG}/projects/${p}/api_keys/${created.body.id}/rotate`, { body: { grace_period_seconds: 120 } });
      expect(rotated.status).toBe(200);
      expect(rotated.body.value).toMatch(/^sk-tg-/);
      expect(rotated.body.value).not.toBe(created.body.value);
      expect(rotated.body.id).toBe(created.body.id);
      expect(rotated.body.redacted_value).toBe(`sk-tg-…${rotated.body.value.slice(-4)}`);
      const now = Math.floor(Date.now() / 1000);
      expect(rotated.body.previous_secret_expires_at).toBeGreaterThanOrEqual(now + 118);
      const del = await t.api('DELETE', `${ORG}/projects/${p}/api_keys/${created.body.id}`);
      expect(del.body).toEqual({ object: 'organization.project.api_key.deleted', id: created.body.id, deleted: true });
      // Deleted is gone from the API, as at OpenAI; the row stays, shown when include_revoked=true asks.
      const again = await t.api('DELETE', `${ORG}/projects/${p}/api_keys/${created.body.id}`);
      expect(again.status).toBe(404);
      expect((await t.api('GET', `${ORG}/projects/${p}/api_keys/${created.body.id}`)).status).toBe(404);
      const got = await t.api('GET', `${ORG}/projects/${p}/api_keys/${created.body.id}?include_revoked=true`);
      expect(got.body.status).toBe('revoked');
      expect(got.body.revoked_at).toBeTypeOf('number');
      const audit = await t.api('GET', `${ORG}/audit_logs?resource_ids[]=${created.body.id}`);
      expect(audit.body.data.map((e: { type: string }) => e.type)).toEqual(['api_key.deleted', 'api_key.rotated', 'api_key.created']);
      const cannot = await t.api('POST', `${ORG}/projects/${p}/api_keys/${created.body.id}/rotate`);
      expect(cannot.status).toBe(404);
    });
  });

  describe('service accounts, users and members', () => {
    it('creates a service account with its key (shown once) and deletes it, revoking the key', async () => {
      const p = t.defaultProjectId;
      const res = await t.api('POST', `${ORG}/projects/${p}/service_accounts`, { body: { name: 'Production App' } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ object: 'organization.project.service_account', name: 'Production App', role: 'member' });
      expect(res.body.api_key).toMatchObject({ object: 'organization.project.service_account.api_key' });
      expect(res.body.api_key.value).toMatch(/^sk-tg-/);
      const list = await t.api('GET', `${ORG}/projects/${p}/service_accounts`);
      expect(list.body.data.map((s: { id: string }) => s.id)).toContain(res.body.id);
      expect(list.text).not.toContain(res.body.api_key.value);
      const del = await t.api('DELETE', `${ORG}/projects/${p}/service_accounts/${res.body.id}`);
      expect(del.body.deleted).toBe(true);
      const key = await t.api('GET', `${ORG}/projects/${p}/api_keys/${res.body.api_key.id}?include_revoked=true`);
      expect(key.body.status).toBe('revoked');
      const types = (await t.api('GET', `${ORG}/audit_logs?event_types[]=service_account.created&event_types[]=service_account.deleted`)).body.data.map(
        (e: { type: string }) => e.type,
      );
      expect(types).toEqual(['service_account.deleted', 'service_account.created']);
    });

    it('adds users and project members with roles; a user key is owned by that user', async () => {
      const p = t.defaultProjectId;
      const u = await t.api('POST', `${ORG}/users`, { body: { email: 'Ada@Example.com', name: 'Ada', role: 'reader' } });
      expect(u.status).toBe(200);
      expect(u.body).toMatchObject({ object: 'organization.user', email: 'ada@example.com', role: 'reader' });
      expect(u.body.id).toMatch(/^user-/);
      const dup = await t.api('POST', `${ORG}/users`, { body: { email: 'ada@example.com' } });
      expect(dup.status).toBe(409);
      const m = await t.api('POST', `${ORG}/projects/${p}/users`, { body: { user_id: u.body.id, role: 'member' } });
      expect(m.body).toMatchObject({ object: 'organization.project.user', role: 'member' });
      const m2 = await t.api('POST', `${ORG}/projects/${p}/users/${u.body.id}`, { body: { role: 'reader' } });
      expect(m2.body.role).toBe('reader');
      const members = await t.api('GET', `${ORG}/projects/${p}/users`);
      expect(members.body.data.map((x: { id: string }) => x.id)).toContain(u.body.id);
      const key = await t.api('POST', `${ORG}/projects/${p}/api_keys`, { body: { name: 'ada', owner: u.body.id } });
      expect(key.body.owner).toMatchObject({ type: 'user', user: { id: u.body.id, email: 'ada@example.com' } });
      const gone = await t.api('DELETE', `${ORG}/users/${u.body.id}`);
      expect(gone.body.deleted).toBe(true);
      const k = await t.api('GET', `${ORG}/projects/${p}/api_keys/${key.body.id}?include_revoked=true`);
      expect(k.body.status).toBe('revoked');
    });
  });

  describe('admin keys', () => {
    it('creates, lists, uses and deletes admin keys', async () => {
      const res = await t.api('POST', `${ORG}/admin_api_keys`, { body: { name: 'second' } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ object: 'organization.admin_api_key', name: 'second' });
      expect(res.body.value).toMatch(/^sk-tg-admin-/);
      const list = await t.api('GET', `${ORG}/admin_api_keys`);
      expect(list.text).not.toContain(res.body.value);
      expect((await t.api('GET', `${ORG}/projects`, { key: res.body.value })).status).toBe(200);
      const used = await t.api('GET', `${ORG}/audit_logs?event_types=admin_api_key.used&actor_ids=${res.body.id}`);
      expect(used.body.data.length).toBe(1);
      // OpenAI's actor: an API key whose type is its owner's (this one, made by an organization-owned key, has none).
      expect(used.body.data[0].actor).toMatchObject({ type: 'api_key', api_key: { id: res.body.id, object: 'organization.admin_api_key' }, ip_address: '127.0.0.1' });
      expect(used.body.data[0].actor.api_key).not.toHaveProperty('type');
      const del = await t.api('DELETE', `${ORG}/admin_api_keys/${res.body.id}`);
      expect(del.body).toEqual({ object: 'organization.admin_api_key.deleted', id: res.body.id, deleted: true });
      const refused = await t.api('GET', `${ORG}/projects`, { key: res.body.value });
      expect(refused.status).toBe(401);
      expect(refused.body.error.code).toBe('invalid_api_key');
    });

    it("audits an admin key's use of the invitations API as of any admin route: once a minute per key and address", async () => {
      const made = await t.api('POST', `${ORG}/admin_api_keys`, { body: { name: 'inviter' } });
      const key = made.body.value;
      expect((await t.api('GET', `${ORG}/invites`, { key })).status).toBe(200);
      expect((await t.api('GET', `${ORG}/projects`, { key })).status).toBe(200);
      expect((await t.api('GET', `${ORG}/invites`, { key })).status).toBe(200);
      const used = await t.api('GET', `${ORG}/audit_logs?event_types=admin_api_key.used&actor_ids=${made.body.id}`);
      expect(used.body.data).toHaveLength(1);
      expect(used.body.data[0]).toMatchObject({ type: 'admin_api_key.used', 'admin_api_key.used': { method: 'GET', path: `${ORG}/invites` } });
      await t.api('DELETE', `${ORG}/admin_api_keys/${made.body.id}`);
    });
  });

  describe('audit log filters', () => {
    it('filters by type, project, actor and time, newest first, with a cursor', async () => {
      const now = Math.floor(Date.now() / 1000);
      const created = await t.api('GET', `${ORG}/audit_logs?event_types[]=api_key.created&limit=2`);
      expect(created.body.data.every((e: { type: string }) => e.type === 'api_key.created')).toBe(true);
      expect(created.body.has_more).toBe(true);
      const next = await t.api('GET', `${ORG}/audit_logs?event_types[]=api_key.created&limit=2&after=${created.body.last_id}`);
      expect(next.body.data[0].id).not.toBe(created.body.data[0].id);
      expect(next.body.data[0].effective_at).toBeLessThanOrEqual(created.body.data[1].effective_at);
      const future = await t.api('GET', `${ORG}/audit_logs?effective_at[gt]=${now + 1000}`);
      expect(future.body.data).toHaveLength(0);
      const past = await t.api('GET', `${ORG}/audit_logs?effective_at[lte]=${now + 10}&limit=1`);
      expect(past.body.data).toHaveLength(1);
      const byActor = await t.api('GET', `${ORG}/audit_logs?actor_ids[]=${t.adminKeyId}&limit=100`);
      expect(byActor.body.data.length).toBeGreaterThan(3);
      expect(byActor.body.data.every((e: { actor: { api_key: { id: string } } }) => e.actor.api_key.id === t.adminKeyId)).toBe(true);
    });
  });

  describe('bad input', () => {
    const p = () => t.defaultProjectId;
    it('401 without or with a wrong admin key; 403 with a project key', async () => {
      const none = await t.api('GET', `${ORG}/projects`, { key: null });
      expect(none.status).toBe(401);
      expect(none.body.error).toMatchObject({ code: 'missing_api_key', type: 'invalid_request_error', param: null });
      const bad = await t.api('GET', `${ORG}/projects`, { key: 'sk-tg-admin-nope' });
      expect(bad.status).toBe(401);
      expect(bad.body.error.code).toBe('invalid_api_key');
      expect(bad.text).not.toContain('sk-tg-admin-nope');
      const projectKey = (await t.api('POST', `${ORG}/projects/${p()}/api_keys`, { body: { name: 'pk' } })).body.value;
      const forbidden = await t.api('GET', `${ORG}/projects`, { key: projectKey });
      expect(forbidden.status).toBe(403);
      expect(forbidden.body.error.code).toBe('admin_key_required');
    });

    it('404 for unknown project or key', async () => {
      expect((await t.api('GET', `${ORG}/projects/proj_nope`)).status).toBe(404);
      const k = await t.api('GET', `${ORG}/projects/${p()}/api_keys/key_nope`);
      expect(k.status).toBe(404);
      expect(k.body.error.code).toBe('not_found');
      // The spec's path parameter: /organization/projects/{project_id}/api_keys/{api_key_id}.
      expect(k.body.error.param).toBe('api_key_id');
      const deleted = await t.api('DELETE', `${ORG}/projects/${p()}/api_keys/key_nope`);
      expect(deleted.status).toBe(404);
      expect(deleted.body.error.param).toBe('api_key_id');
      expect((await t.api('GET', `${ORG}/nothing-here`)).status).toBe(404);
    });

    it("refuses a cursor naming an object outside the list (another project's key or account, a project key on the admin keys' list)", async () => {
      const other = (await t.api('POST', `${ORG}/projects`, { body: { name: 'cursor elsewhere' } })).body.id;
      const foreignKey = (await t.api('POST', `${ORG}/projects/${other}/api_keys`, { body: { name: 'foreign' } })).body.id;
      const foreignAccount = (await t.api('POST', `${ORG}/projects/${other}/service_accounts`, { body: { name: 'foreign' } })).body.id;
      const adminKey = (await t.api('POST', `${ORG}/admin_api_keys`, { body: { name: 'cursor admin' } })).body.id;
      for (const path of [
        `${ORG}/projects/${p()}/api_keys?after=${foreignKey}`,
        `${ORG}/projects/${p()}/api_keys?after=${adminKey}`,
        `${ORG}/projects/${p()}/service_accounts?after=${foreignAccount}`,
        `${ORG}/admin_api_keys?after=${foreignKey}`,
      ]) {
        const res = await t.api('GET', path);
        expect(res.status, path).toBe(400);
        expect(res.body.error).toMatchObject({ code: 'invalid_value', param: 'after' });
      }
      // A cursor of the list itself still pages.
      const own = (await t.api('POST', `${ORG}/projects/${other}/api_keys`, { body: { name: 'own' } })).body.id;
      const page = await t.api('GET', `${ORG}/projects/${other}/api_keys?after=${foreignKey}`);
      expect(page.status).toBe(200);
      expect(page.body.data.map((k: { id: string }) => k.id)).toContain(own);
    });

    it('400 for malformed JSON, wrong types, long names, unknown fields, bad IPs — and nothing written', async () => {
      const before = await auditCount();
      const keysBefore = (await t.api('GET', `${ORG}/projects/${p()}/api_keys?limit=100`)).body.data.length;
      const cases: Array<[string | undefined, unknown, string, string | null]> = [
        ['{"name": ', undefined, 'invalid_json', null],
        [undefined, { name: 42 }, 'invalid_value', 'name'],
        [undefined, { name: 'x'.repeat(257) }, 'invalid_value', 'name'],
        [undefined, { name: 'ok', colour: 'blue' }, 'unknown_parameter', 'colour'],
        [undefined, { name: 'ok', allowed_ips: ['10.0.0.300'] }, 'invalid_value', 'allowed_ips.0'],
        [undefined, { name: 'ok', permissions: 'root' }, 'invalid_value', 'permissions'],
        [undefined, { name: 'ok', permissions: { restricted: { nukes: 'write' } } }, 'unknown_parameter', 'permissions'],
        [undefined, { name: 'ok', expires_at: 1 }, 'invalid_value', 'expires_at'],
        [undefined, [1, 2], 'invalid_value', null],
        ['{"__proto__": {"admin": true}, "name": "x"}', undefined, 'invalid_json', null],
      ];
      for (const [raw, body, code, param] of cases) {
        const res = await t.api('POST', `${ORG}/projects/${p()}/api_keys`, { raw, body });
        expect(res.status, JSON.stringify(body ?? raw)).toBe(400);
        expect(res.body.error.code, JSON.stringify(body ?? raw)).toBe(code);
        if (param !== null) expect(String(res.body.error.param)).toContain(param.split('.')[0]);
        expect(Object.keys(res.body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
      }
      const longProject = await t.api('POST', `${ORG}/projects`, { body: { name: 'y'.repeat(300) } });
      expect(longProject.status).toBe(400);
      const badLimit = await t.api('GET', `${ORG}/projects?limit=1000`);
      expect(badLimit.status).toBe(400);
      expect(badLimit.body.error.param).toBe('limit');
      expect(await auditCount()).toBe(before);
      expect((await t.api('GET', `${ORG}/projects/${p()}/api_keys?limit=100`)).body.data.length).toBe(keysBefore);
    });

    it('accepts body-less GET and DELETE that carry Content-Type: application/json', async () => {
      const get = await t.api('GET', `${ORG}/projects`, { headers: { 'content-type': 'application/json' } });
      expect(get.status).toBe(200);
      const k = await t.api('POST', `${ORG}/projects/${p()}/api_keys`, { body: { name: 'del' } });
      const del = await t.api('DELETE', `${ORG}/projects/${p()}/api_keys/${k.body.id}`, { headers: { 'content-type': 'application/json' } });
      expect(del.status).toBe(200);
      expect(del.body.deleted).toBe(true);
    });
  });
});
