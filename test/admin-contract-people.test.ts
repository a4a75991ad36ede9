import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { componentSchema, contractProblems, operation, operationPath, requestSchema, specAvailable, specOperations } from './harness/openapi-contract.js';
import { type ApiResult, startTestServer, type TestServer } from './harness/server.js';

// OpenAI's Admin API for projects, project API keys, service accounts, admin API keys, invites, users and project
// users, checked against OpenAI's published OpenAPI description (../shared/openai-openapi/openapi.yaml): every answer
// (successes and refusals) validates against its operation's response schema; every request sends the spec's body with
// all its optional fields (checked against the spec, so a field the spec adds fails here until Tollgate takes it) and
// every query parameter the operation documents. docs/admin-api.md lists what is served.

const ORG = '/v1/organization';

/** The spec's operations Tollgate serves for these resources: each must be answered here, with a success and a refusal. */
const SERVED = [
  'GET /organization/projects',
  'POST /organization/projects',
  'GET /organization/projects/{project_id}',
  'POST /organization/projects/{project_id}',
  'POST /organization/projects/{project_id}/archive',
  'GET /organization/projects/{project_id}/api_keys',
  'GET /organization/projects/{project_id}/api_keys/{api_key_id}',
  'DELETE /organization/projects/{project_id}/api_keys/{api_key_id}',
  'GET /organization/projects/{project_id}/service_accounts',
  'POST /organization/projects/{project_id}/service_accounts',
  'GET /organization/projects/{project_id}/service_accounts/{service_account_id}',
  'POST /organization/projects/{project_id}/service_accounts/{service_account_id}',
  'DELETE /organization/projects/{project_id}/service_accounts/{service_account_id}',
  'POST /organization/projects/{project_id}/service_accounts/{service_account_id}/api_keys',
  'GET /organization/projects/{project_id}/users',
  'POST /organization/projects/{project_id}/users',
  'GET /organization/projects/{project_id}/users/{user_id}',
  'POST /organization/projects/{project_id}/users/{user_id}',
  'DELETE /organization/projects/{project_id}/users/{user_id}',
  'GET /organization/users',
  'GET /organization/users/{user_id}',
  'POST /organization/users/{user_id}',
  'DELETE /organization/users/{user_id}',
  'GET /organization/invites',
  'POST /organization/invites',
  'GET /organization/invites/{invite_id}',
  'DELETE /organization/invites/{invite_id}',
  'GET /organization/admin_api_keys',
  'POST /organization/admin_api_keys',
  'GET /organization/admin_api_keys/{key_id}',
  'DELETE /organization/admin_api_keys/{key_id}',
];

// biome-ignore lint/suspicious/noExplicitAny: the spec is arbitrary JSON
type Json = any;

function resolved(schema: Json): Json {
  let s = schema;
  while (s?.$ref) s = componentSchema(s.$ref.split('/').pop());
  return s;
}

/** The members of an operation's request body, as the spec lists them. */
function specBodyFields(method: string, path: string): string[] {
  return Object.keys(resolved(requestSchema(method, path))?.properties ?? {}).sort();
}

/** The query parameters an operation documents. */
function specQueryParams(method: string, path: string): string[] {
  const params: Json[] = operation(method, path)?.parameters ?? [];
  return params
    .map((p) => (p.$ref ? resolved({ $ref: p.$ref.replace('/parameters/', '/schemas/') }) : p))
    .filter((p) => p?.in === 'query')
    .map((p) => p.name)
    .sort();
}

/** The rows of the "Projects, keys and people" table in docs/admin-api.md: operation, spec id, served. */
function documentedOperations(): Array<{ op: string; id: string; served: boolean }> {
  const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'admin-api.md'), 'utf8');
  const section = doc.split('## Projects, keys and people')[1]?.split(/\n## /)[0] ?? '';
  return [...section.matchAll(/^\| `(GET|POST|DELETE) (\/organization\/[^`]*)` \| ([^|]+) \| (S|–) \|/gm)].map((m) => ({
    op: `${m[1]} ${m[2]}`,
    id: m[3].trim(),
    served: m[4] === 'S',
  }));
}

/** Every /organization operation of the spec, except the limits, spend, audit log, usage and cost ones (their own section). */
function specOperationsOfThisSection(): Array<{ op: string; id: string }> {
  return specOperations()
    .filter((o) => o.path.startsWith('/organization/') && !/rate_limits|spend_|audit_logs|\/usage|\/costs/.test(o.path))
    .map((o) => ({ op: `${o.method} ${o.path}`, id: o.operationId }));
}

describe.runIf(specAvailable() || process.env.CI === 'true')('Admin API contract: projects, keys and people', () => {
  it('docs/admin-api.md lists every operation of the spec for these resources, served exactly when Tollgate serves it', () => {
    const documented = documentedOperations();
    const spec = specOperationsOfThisSection();
    expect(spec.length).toBeGreaterThan(60);
    expect(documented.map((d) => `${d.op} ${d.id}`).sort()).toEqual(spec.map((s) => `${s.op} ${s.id}`).sort());
    expect(documented.filter((d) => d.served).map((d) => d.op).sort()).toEqual([...SERVED].sort());
  });
  describeEachDatabase('served operations', (backend) => {
    let t: TestServer;
    const seen = new Map<string, Set<number>>();
    beforeAll(async () => {
      t = await startTestServer(backend);
    });
    afterAll(async () => t?.close());

    /** Calls Tollgate and checks the answer against the spec's schema for that operation and status. */
    async function call(method: string, path: string, body?: unknown, opts: { raw?: string } = {}): Promise<ApiResult> {
      const res = await t.api(method, path, { body, raw: opts.raw });
      const specPath = path.replace(/^\/v1/, '');
      const problems = contractProblems(method, specPath, res.status, res.body);
      expect(problems, `${method} ${path} → ${res.status} ${res.text.slice(0, 600)}`).toEqual([]);
      const op = `${method} ${operationPath(specPath)}`;
      if (!seen.has(op)) seen.set(op, new Set());
      seen.get(op)?.add(res.status);
      return res;
    }

    async function ok(method: string, path: string, body?: unknown): Promise<Json> {
      const res = await call(method, path, body);
      expect(res.status, `${method} ${path}: ${res.text.slice(0, 600)}`).toBe(200);
      return res.body;
    }

    async function refused(method: string, path: string, body: unknown, status: number, code: string, param?: string | null): Promise<Json> {
      const res = await call(method, path, body);
      expect(res.status, `${method} ${path}: ${res.text.slice(0, 600)}`).toBe(status);
      expect(res.body.error.code).toBe(code);
      if (param !== undefined) expect(res.body.error.param).toBe(param);
      return res.body.error;
    }

    /** A request body with every member the spec documents for the operation (extras of Tollgate's allowed). */
    function fullBody<T extends Record<string, unknown>>(method: string, path: string, body: T): T {
      expect(Object.keys(body), `${method} ${path} body`).toEqual(expect.arrayContaining(specBodyFields(method, path.replace(/^\/v1/, ''))));
      return body;
    }

    /** A query string with every parameter the spec documents for the operation. */
    function fullQuery(method: string, path: string, query: Record<string, string | string[]>): string {
      const names = Object.keys(query).map((k) => k.replace(/\[\]$/, ''));
      expect(names, `${method} ${path} query`).toEqual(expect.arrayContaining(specQueryParams(method, path.replace(/^\/v1/, ''))));
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) for (const item of Array.isArray(v) ? v : [v]) qs.append(k, item);
      return `${path}?${qs}`;
    }

    describe('projects', () => {
      it('creates a project with every field of ProjectCreateRequest and shows them back', async () => {
        const path = `${ORG}/projects`;
        const body = fullBody('POST', path, { name: 'Contract', residency: 'EU_STORAGE_PROCESSING', external_key_id: 'ekm_key_1' });
        const p = await ok('POST', path, body);
        expect(p).toMatchObject({ object: 'organization.project', name: 'Contract', residency: 'EU_STORAGE_PROCESSING', external_key_id: 'ekm_key_1', status: 'active' });
        expect(await ok('GET', `${path}/${p.id}`)).toEqual(p);
        const plain = await ok('POST', path, { name: 'Plain', residency: null, external_key_id: null });
        expect(plain.external_key_id).toBeNull();
        expect(plain).not.toHaveProperty('residency');
        // geography: the older name OpenAI's SDKs still send (the npm package has no other); not with residency.
        const older = await ok('POST', path, { name: 'Older name', geography: 'EU' });
        expect(older.geography).toBe('EU');
        expect((await ok('POST', `${path}/${older.id}`, { geography: null })).geography).toBeUndefined();
        await refused('POST', path, { name: 'Both', residency: 'GLOBAL', geography: 'US' }, 400, 'invalid_value', 'geography');
      });

      it('modifies a project with every field of ProjectUpdateRequest; null leaves the name, clears the key id', async () => {
        const p = await ok('POST', `${ORG}/projects`, { name: 'To modify' });
        const path = `${ORG}/projects/${p.id}`;
        const changed = await ok('POST', path, fullBody('POST', path, { name: 'Modified', external_key_id: 'ekm_key_2' }));
        expect(changed).toMatchObject({ name: 'Modified', external_key_id: 'ekm_key_2' });
        const kept = await ok('POST', path, { name: null, external_key_id: null });
        expect(kept).toMatchObject({ name: 'Modified', external_key_id: null });
      });

      it('lists with every query parameter of list-projects, page by page, archived ones when asked', async () => {
        const made: string[] = [];
        for (let i = 0; i < 3; i++) made.push((await ok('POST', `${ORG}/projects`, { name: `Listed ${i}` })).id);
        await ok('POST', `${ORG}/projects/${made[1]}/archive`);
        const all: string[] = [];
        let after = '';
        for (let page = 0; page < 50; page++) {
          const body = await ok('GET', fullQuery('GET', `${ORG}/projects`, { limit: '2', after, include_archived: 'true' }));
          all.push(...body.data.map((x: { id: string }) => x.id));
          expect(body.data.length).toBeLessThanOrEqual(2);
          if (!body.has_more) break;
          after = body.last_id;
        }
        expect(all).toEqual(expect.arrayContaining(made));
        expect(new Set(all).size).toBe(all.length);
        const active = await ok('GET', `${ORG}/projects?limit=100&include_archived=false`);
        expect(active.data.map((x: { id: string }) => x.id)).not.toContain(made[1]);
      });

      it('archives a project; an archived one is not modified', async () => {
        const p = await ok('POST', `${ORG}/projects`, { name: 'To archive' });
        const archived = await ok('POST', `${ORG}/projects/${p.id}/archive`);
        expect(archived).toMatchObject({ status: 'archived' });
        expect(archived.archived_at).toBeTypeOf('number');
        await refused('POST', `${ORG}/projects/${p.id}`, { name: 'x' }, 400, 'project_archived');
      });

      it('refuses in OpenAI error shape: unknown ids, values outside the spec, members and parameters it does not know', async () => {
        await refused('GET', `${ORG}/projects/proj_nope`, undefined, 404, 'not_found');
        await refused('POST', `${ORG}/projects/proj_nope`, { name: 'x' }, 404, 'not_found');
        await refused('POST', `${ORG}/projects/proj_nope/archive`, undefined, 404, 'not_found');
        await refused('POST', `${ORG}/projects`, { name: 'x', residency: 'MOON_STORAGE' }, 400, 'invalid_value', 'residency');
        await refused('POST', `${ORG}/projects`, { residency: 'GLOBAL' }, 400, 'missing_required_parameter', 'name');
        await refused('POST', `${ORG}/projects`, { name: 'x', colour: 'blue' }, 400, 'unknown_parameter', 'colour');
        await refused('GET', `${ORG}/projects?limit=0`, undefined, 400, 'invalid_value', 'limit');
        await refused('GET', `${ORG}/projects?include_archived=yes`, undefined, 400, 'invalid_value', 'include_archived');
        await refused('GET', `${ORG}/projects?order=desc`, undefined, 400, 'unknown_parameter', 'order');
        await refused('GET', `${ORG}/projects/${t.defaultProjectId}?expand=all`, undefined, 400, 'unknown_parameter', 'expand');
        await refused('POST', `${ORG}/projects/${t.defaultProjectId}/archive`, { reason: 'x' }, 400, 'unknown_parameter', 'reason');
        expect((await ok('GET', `${ORG}/projects/${t.defaultProjectId}`)).status).toBe('active');
      });
    });

    /** A key made through Tollgate's own create route (OpenAI has none for project keys). */
    async function makeKey(projectId: string, body: Record<string, unknown> = {}): Promise<Json> {
      const res = await t.api('POST', `${ORG}/projects/${projectId}/api_keys`, { body: { name: 'contract key', ...body } });
      expect(res.status, res.text).toBe(200);
      return res.body;
    }

    describe('project API keys', () => {
      it('lists every key with owner_project_access and its owner object, page by page with every query parameter', async () => {
        const p = (await ok('POST', `${ORG}/projects`, { name: 'Keys' })).id;
        const made: string[] = [];
        for (let i = 0; i < 5; i++) made.push((await makeKey(p)).id);
        const all: Json[] = [];
        let after = '';
        for (let page = 0; page < 10; page++) {
          const body = await ok('GET', fullQuery('GET', `${ORG}/projects/${p}/api_keys`, { limit: '2', after, owner_project_access: 'any' }));
          all.push(...body.data);
          if (!body.has_more) break;
          after = body.last_id;
        }
        expect(all.map((k) => k.id)).toEqual(made);
        for (const k of all) {
          expect(k.owner_project_access).toBe('active');
          expect(k.owner.type).toBe('service_account');
        }
        const one = await ok('GET', `${ORG}/projects/${p}/api_keys/${made[0]}`);
        expect(one).toMatchObject({ id: made[0], object: 'organization.project.api_key', owner_project_access: 'active' });
      });

      it("filters by owner_project_access: a user's key is inactive once the user leaves the project", async () => {
        const p = (await ok('POST', `${ORG}/projects`, { name: 'Access' })).id;
        const u = (await t.api('POST', `${ORG}/users`, { body: { email: 'keyowner@example.com', role: 'reader' } })).body;
        await ok('POST', `${ORG}/projects/${p}/users`, { user_id: u.id, role: 'member' });
        const userKey = (await makeKey(p, { owner: u.id })).id;
        const svcKey = (await makeKey(p)).id;
        const ids = async (q: string) => (await ok('GET', `${ORG}/projects/${p}/api_keys?${q}`)).data.map((k: { id: string }) => k.id);
        expect(await ids('owner_project_access=active')).toEqual([userKey, svcKey]);
        expect(await ids('owner_project_access=inactive')).toEqual([]);
        await ok('DELETE', `${ORG}/projects/${p}/users/${u.id}`);
        const got = await ok('GET', `${ORG}/projects/${p}/api_keys/${userKey}`);
        expect(got.owner_project_access).toBe('inactive');
        expect(got.owner).toMatchObject({ type: 'user', user: { id: u.id, email: 'keyowner@example.com' } });
        expect(await ids('owner_project_access=active')).toEqual([svcKey]);
        expect(await ids('owner_project_access=inactive')).toEqual([userKey]);
        expect(await ids('owner_project_access=any')).toEqual([userKey, svcKey]);
        expect(await ids('')).toEqual([userKey, svcKey]);
        // An organization owner has every project.
        await ok('POST', `${ORG}/users/${u.id}`, { role: 'owner' });
        expect(await ids('owner_project_access=inactive')).toEqual([]);
      });

      it('a deleted key is gone from the API as at OpenAI (404, not listed), and shown only when include_revoked=true asks', async () => {
        const p = t.defaultProjectId;
        const k = await makeKey(p, { name: 'to delete' });
        const path = `${ORG}/projects/${p}/api_keys/${k.id}`;
        expect(await ok('DELETE', path)).toEqual({ object: 'organization.project.api_key.deleted', id: k.id, deleted: true });
        await refused('GET', path, undefined, 404, 'not_found');
        await refused('DELETE', path, undefined, 404, 'not_found');
        expect((await t.api('POST', path, { body: { name: 'back?' } })).status).toBe(404);
        expect((await t.api('POST', `${path}/rotate`, { body: {} })).status).toBe(404);
        const listed = async (q: string) => (await ok('GET', `${ORG}/projects/${p}/api_keys?limit=100${q}`)).data.map((x: { id: string }) => x.id);
        expect(await listed('')).not.toContain(k.id);
        expect(await listed('&owner_project_access=any')).not.toContain(k.id);
        expect(await listed('&include_revoked=true')).toContain(k.id);
        expect(await listed('&status=revoked')).toEqual([k.id]);
        const kept = await ok('GET', `${path}?include_revoked=true`);
        expect(kept).toMatchObject({ id: k.id, status: 'revoked' });
        expect(kept.revoked_at).toBeTypeOf('number');
      });

      it('refuses unknown keys, filter values outside the spec and parameters it does not know', async () => {
        const p = t.defaultProjectId;
        await refused('GET', `${ORG}/projects/${p}/api_keys/key_nope`, undefined, 404, 'not_found');
        await refused('DELETE', `${ORG}/projects/${p}/api_keys/key_nope`, undefined, 404, 'not_found');
        await refused('GET', `${ORG}/projects/proj_nope/api_keys`, undefined, 404, 'not_found');
        await refused('GET', `${ORG}/projects/${p}/api_keys?owner_project_access=some`, undefined, 400, 'invalid_value', 'owner_project_access');
        await refused('GET', `${ORG}/projects/${p}/api_keys?order=desc`, undefined, 400, 'unknown_parameter', 'order');
        await refused('GET', `${ORG}/projects/${p}/api_keys?status=gone`, undefined, 400, 'invalid_value', 'status');
        const k = await makeKey(p);
        await refused('GET', `${ORG}/projects/${p}/api_keys/${k.id}?verbose=1`, undefined, 400, 'unknown_parameter', 'verbose');
        await refused('DELETE', `${ORG}/projects/${p}/api_keys/${k.id}?force=true`, undefined, 400, 'unknown_parameter', 'force');
        expect((await ok('GET', `${ORG}/projects/${p}/api_keys/${k.id}`)).status).toBe('active');
      });
    });

    describe('admin API keys', () => {
      it('creates with every field of the spec (expires_in_seconds); the owner is an object: the organization, or the user', async () => {
        const path = `${ORG}/admin_api_keys`;
        const created = await ok('POST', path, fullBody('POST', path, { name: 'Contract admin', expires_in_seconds: 3600 }));
        expect(created.value).toMatch(/^sk-tg-admin-/);
        expect(created.expires_at).toBe(created.created_at + 3600);
        // Made by the harness's admin key, which no user owns: the organization owns it.
        expect(created.owner).toMatchObject({ type: 'organization', object: 'organization', id: t.orgId, role: 'owner' });
        const got = await ok('GET', `${path}/${created.id}`);
        expect(got).toMatchObject({ id: created.id, expires_at: created.expires_at, owner: created.owner });
        expect(got).not.toHaveProperty('value');
        // A key a signed-in user makes is theirs, and so is a key made with that key.
        const { createAdminKey } = await import('../src/services/admin-keys.js');
        const u = (await t.api('POST', `${ORG}/users`, { body: { email: 'admin-owner@example.com', name: 'Ada Admin', role: 'owner' } })).body;
        const runtime = t.server.runtime;
        const theirs = await createAdminKey(runtime.deps, runtime.org.id, { name: 'by Ada' }, { type: 'session', id: u.id });
        expect(theirs.owner).toMatchObject({ type: 'user', object: 'organization.user', id: u.id, name: 'Ada Admin', role: 'owner' });
        const made = await t.api('POST', path, { body: { name: 'made with Ada key' }, key: theirs.value });
        expect(made.body.owner).toMatchObject({ type: 'user', id: u.id });
        expect(contractProblems('POST', '/organization/admin_api_keys', made.status, made.body)).toEqual([]);
      });

      it('lists with every query parameter, in both orders, page by page', async () => {
        const path = `${ORG}/admin_api_keys`;
        for (let i = 0; i < 3; i++) await ok('POST', path, { name: `Listed admin ${i}` });
        const read = async (order: string) => {
          const ids: string[] = [];
          let after = '';
          for (let page = 0; page < 20; page++) {
            const body = await ok('GET', fullQuery('GET', path, { limit: '2', after, order }));
            expect(body.data.length).toBeLessThanOrEqual(2);
            ids.push(...body.data.map((k: { id: string }) => k.id));
            if (!body.has_more) break;
            after = body.last_id;
          }
          return ids;
        };
        const asc = await read('asc');
        expect(asc.length).toBeGreaterThanOrEqual(4);
        expect(await read('desc')).toEqual([...asc].reverse());
      });

      it('a deleted admin key is gone from the API (404, not listed) unless include_revoked=true', async () => {
        const path = `${ORG}/admin_api_keys`;
        const k = await ok('POST', path, { name: 'to delete' });
        expect(await ok('DELETE', `${path}/${k.id}`)).toEqual({ object: 'organization.admin_api_key.deleted', id: k.id, deleted: true });
        await refused('GET', `${path}/${k.id}`, undefined, 404, 'not_found');
        await refused('DELETE', `${path}/${k.id}`, undefined, 404, 'not_found');
        expect((await ok('GET', `${path}?limit=100`)).data.map((x: { id: string }) => x.id)).not.toContain(k.id);
        expect((await ok('GET', `${path}?limit=100&include_revoked=true`)).data.map((x: { id: string }) => x.id)).toContain(k.id);
        expect((await ok('GET', `${path}/${k.id}?include_revoked=true`)).status).toBe('revoked');
      });

      it('refuses values outside the spec, and members and parameters it does not know', async () => {
        const path = `${ORG}/admin_api_keys`;
        await refused('POST', path, { name: 'x', expires_in_seconds: 0 }, 400, 'invalid_value', 'expires_in_seconds');
        await refused('POST', path, { name: 'x', expires_in_seconds: 31_536_001 }, 400, 'invalid_value', 'expires_in_seconds');
        await refused('POST', path, { name: 'x', expires_in_seconds: 60, expires_at: 4_000_000_000 }, 400, 'invalid_value', 'expires_in_seconds');
        await refused('POST', path, { expires_in_seconds: 60 }, 400, 'missing_required_parameter', 'name');
        await refused('POST', path, { name: 'x', scopes: ['all'] }, 400, 'unknown_parameter', 'scopes');
        await refused('GET', `${path}?order=sideways`, undefined, 400, 'invalid_value', 'order');
        await refused('GET', `${path}?owner=me`, undefined, 400, 'unknown_parameter', 'owner');
        await refused('GET', `${path}/key_nope`, undefined, 404, 'not_found');
        await refused('DELETE', `${path}/key_nope`, undefined, 404, 'not_found');
      });
    });

    describe('project service accounts', () => {
      const keysOf = async (projectId: string, accountId: string) =>
        (await ok('GET', `${ORG}/projects/${projectId}/api_keys?limit=100`)).data.filter(
          (k: Json) => k.owner.type === 'service_account' && k.owner.service_account.id === accountId,
        );

      it('creates with every field of the spec: with its first key, or alone (create_service_account_only)', async () => {
        const p = (await ok('POST', `${ORG}/projects`, { name: 'Accounts' })).id;
        const path = `${ORG}/projects/${p}/service_accounts`;
        const withKey = await ok('POST', path, fullBody('POST', path, { name: 'With key', create_service_account_only: false }));
        expect(withKey).toMatchObject({ object: 'organization.project.service_account', name: 'With key', role: 'member' });
        expect(withKey.api_key.value).toMatch(/^sk-tg-/);
        expect((await keysOf(p, withKey.id)).map((k: Json) => k.id)).toEqual([withKey.api_key.id]);
        // Made "without default roles or an API key": role `none` (the spec's ProjectServiceAccountCreateResponse; it
        // was answered `member`), on every read too.
        const alone = await ok('POST', path, { name: 'Alone', create_service_account_only: true });
        expect([alone.api_key, alone.role]).toEqual([null, 'none']);
        expect((await ok('GET', `${path}/${alone.id}`)).role).toBe('none');
        expect((await ok('GET', path)).data.find((a: Json) => a.id === alone.id).role).toBe('none');
        expect(await keysOf(p, alone.id)).toEqual([]);
        const created = await ok('GET', `${ORG}/audit_logs?event_types[]=service_account.created&resource_ids[]=${alone.id}`);
        expect(created.data[0]['service_account.created'].data.role).toBe('none');
        const nullFlag = await ok('POST', path, { name: 'Null flag', create_service_account_only: null });
        expect(nullFlag.api_key).not.toBeNull();
        // expires_in_seconds (OpenAI's Python SDK sends it; the published spec does not list it yet): the first key's lifetime.
        const expiring = await ok('POST', path, { name: 'Expiring', expires_in_seconds: 600 });
        const firstKey = (await t.api('GET', `${ORG}/projects/${p}/api_keys/${expiring.api_key.id}`)).body;
        expect(firstKey.expires_at).toBe(expiring.created_at + 600);
        await refused('POST', path, { name: 'x', create_service_account_only: true, expires_in_seconds: 600 }, 400, 'invalid_value', 'expires_in_seconds');
      });

      it('updates name and role with every field of the spec', async () => {
        const p = t.defaultProjectId;
        const path = `${ORG}/projects/${p}/service_accounts`;
        const acct = await ok('POST', path, { name: 'To update', create_service_account_only: true });
        expect(acct.role).toBe('none');
        const updated = await ok('POST', `${path}/${acct.id}`, fullBody('POST', `${path}/${acct.id}`, { name: 'Updated', role: 'owner' }));
        expect(updated).toMatchObject({ id: acct.id, name: 'Updated', role: 'owner' });
        expect(await ok('GET', `${path}/${acct.id}`)).toMatchObject({ name: 'Updated', role: 'owner' });
        expect(await ok('POST', `${path}/${acct.id}`, { role: 'member' })).toMatchObject({ name: 'Updated', role: 'member' });
      });

      it('issues more keys for an account, scoped by OpenAI scopes (none: every permission)', async () => {
        const p = t.defaultProjectId;
        const acct = await ok('POST', `${ORG}/projects/${p}/service_accounts`, { name: 'Key holder', create_service_account_only: true });
        const path = `${ORG}/projects/${p}/service_accounts/${acct.id}/api_keys`;
        const scoped = await ok('POST', path, fullBody('POST', path, { name: 'Scoped', scopes: ['api.model.request', 'api.files.read'] }));
        // The key's owner is the account as it stands: no role.
        expect((await ok('GET', `${ORG}/projects/${p}/api_keys/${scoped.id}`)).owner.service_account.role).toBe('none');
        expect(scoped).toMatchObject({ object: 'organization.project.service_account.api_key', name: 'Scoped' });
        expect(scoped.value).toMatch(/^sk-tg-/);
        const plain = await ok('POST', path, {});
        const short = await ok('POST', path, { expires_in_seconds: 60 });
        expect((await t.api('GET', `${ORG}/projects/${p}/api_keys/${short.id}`)).body.expires_at).toBe(short.created_at + 60);
        const keys = await keysOf(p, acct.id);
        expect(keys.map((k: Json) => k.id)).toEqual([scoped.id, plain.id, short.id]);
        const full = await t.api('GET', `${ORG}/projects/${p}/api_keys/${scoped.id}`);
        expect(full.body.permissions).toEqual({
          restricted: { 'chat.completions': 'write', completions: 'write', embeddings: 'write', images: 'write', audio: 'write', moderations: 'write', files: 'read' },
        });
        expect((await t.api('GET', `${ORG}/projects/${p}/api_keys/${plain.id}`)).body.permissions).toBe('all');
        // The scoped key may call models but not write files.
        const gw = (method: string, route: string, body?: unknown) => t.api(method, `/v1${route}`, { key: scoped.value, body });
        expect((await gw('POST', '/embeddings', { model: 'tollgate-echo', input: 'x' })).status).toBe(200);
        const denied = await gw('DELETE', '/files/file-abc');
        expect(denied.status).toBe(403);
        expect(denied.body.error.code).toBe('insufficient_permissions');
        expect((await t.api('DELETE', '/v1/files/file-abc', { key: plain.value })).status).not.toBe(403);
      });

      it('lists page by page with every query parameter; a deleted account is gone, its keys revoked', async () => {
        const p = (await ok('POST', `${ORG}/projects`, { name: 'Account pages' })).id;
        const path = `${ORG}/projects/${p}/service_accounts`;
        const made = [];
        for (let i = 0; i < 3; i++) made.push(await ok('POST', path, { name: `Account ${i}` }));
        const ids: string[] = [];
        let after = '';
        for (let page = 0; page < 10; page++) {
          const body = await ok('GET', fullQuery('GET', path, { limit: '2', after }));
          ids.push(...body.data.map((a: { id: string }) => a.id));
          if (!body.has_more) break;
          after = body.last_id;
        }
        expect(ids.slice(1)).toEqual(made.map((a) => a.id)); // after the project's default account
        expect(await ok('DELETE', `${path}/${made[0].id}`)).toEqual({ object: 'organization.project.service_account.deleted', id: made[0].id, deleted: true });
        await refused('GET', `${path}/${made[0].id}`, undefined, 404, 'not_found');
        await refused('DELETE', `${path}/${made[0].id}`, undefined, 404, 'not_found');
        expect(await keysOf(p, made[0].id)).toEqual([]);
        const kept = await t.api('GET', `${ORG}/projects/${p}/api_keys/${made[0].api_key.id}?include_revoked=true`);
        expect(kept.body.status).toBe('revoked');
      });

      it('refuses values outside the spec, members and parameters it does not know, and what cannot be done', async () => {
        const p = t.defaultProjectId;
        const path = `${ORG}/projects/${p}/service_accounts`;
        const acct = await ok('POST', path, { name: 'Refusals', create_service_account_only: true });
        await refused('POST', path, { name: 'x', role: 'owner' }, 400, 'unknown_parameter', 'role');
        await refused('POST', path, { create_service_account_only: true }, 400, 'missing_required_parameter', 'name');
        await refused('POST', `${path}/${acct.id}`, { role: 'none' }, 400, 'invalid_value', 'role');
        await refused('POST', `${path}/${acct.id}`, { name: 'x', colour: 'red' }, 400, 'unknown_parameter', 'colour');
        await refused('POST', `${path}/${acct.id}/api_keys`, { scopes: ['api.nukes.write'] }, 400, 'invalid_value', 'scopes.0');
        await refused('POST', `${path}/${acct.id}/api_keys`, { scopes: [] }, 400, 'empty_array', 'scopes');
        await refused('POST', `${path}/${acct.id}/api_keys`, { name: 'x', expires_at: 1 }, 400, 'unknown_parameter', 'expires_at');
        await refused('POST', `${path}/svc_acct_nope/api_keys`, {}, 404, 'not_found');
        await refused('POST', `${path}/svc_acct_nope`, { name: 'x' }, 404, 'not_found');
        await refused('GET', `${path}/svc_acct_nope`, undefined, 404, 'not_found');
        await refused('GET', `${path}?order=asc`, undefined, 400, 'unknown_parameter', 'order');
        const defaultAccount = (await ok('GET', `${path}?limit=1`)).data[0];
        await refused('DELETE', `${path}/${defaultAccount.id}`, undefined, 400, 'invalid_value', 'service_account_id');
        const archived = (await ok('POST', `${ORG}/projects`, { name: 'Archived accounts' })).id;
        await ok('POST', `${ORG}/projects/${archived}/archive`);
        await refused('POST', `${ORG}/projects/${archived}/service_accounts`, { name: 'x' }, 400, 'project_archived');
      });
    });

    describe('invites', () => {
      it('invites with every field of InviteRequest; the invite has created_at (and the older invited_at)', async () => {
        const path = `${ORG}/invites`;
        const p = (await ok('POST', `${ORG}/projects`, { name: 'Invited to' })).id;
        const body = fullBody('POST', path, { email: 'Grace@Example.com', role: 'reader', projects: [{ id: p, role: 'member' }] });
        const inv = await ok('POST', path, body);
        expect(inv).toMatchObject({ object: 'organization.invite', email: 'grace@example.com', role: 'reader', status: 'pending', projects: [{ id: p, role: 'member' }] });
        expect(inv.created_at).toBeTypeOf('number');
        expect(inv.invited_at).toBe(inv.created_at);
        expect(inv.expires_at).toBe(inv.created_at + 7 * 24 * 3600);
        expect(inv.accept_url).toContain('token=');
        const got = await ok('GET', `${path}/${inv.id}`);
        expect(got).not.toHaveProperty('accept_url');
        expect(got).toMatchObject({ id: inv.id, created_at: inv.created_at, projects: inv.projects });
        const owner = await ok('POST', path, { email: 'owner-invite@example.com', role: 'owner', projects: [{ id: p, role: 'owner' }] });
        expect(owner.projects).toEqual([{ id: p, role: 'owner' }]);
      });

      it('lists page by page with every query parameter, and deletes', async () => {
        const path = `${ORG}/invites`;
        const made: string[] = [];
        for (let i = 0; i < 3; i++) made.push((await ok('POST', path, { email: `page${i}@example.com`, role: 'reader' })).id);
        const ids: string[] = [];
        let after = '';
        for (let page = 0; page < 20; page++) {
          const body = await ok('GET', fullQuery('GET', path, { limit: '2', after }));
          ids.push(...body.data.map((x: { id: string }) => x.id));
          if (!body.has_more) break;
          after = body.last_id;
        }
        expect(ids).toEqual(expect.arrayContaining(made));
        expect(await ok('DELETE', `${path}/${made[0]}`)).toEqual({ object: 'organization.invite.deleted', id: made[0], deleted: true });
        await refused('GET', `${path}/${made[0]}`, undefined, 404, 'not_found');
        await refused('DELETE', `${path}/${made[0]}`, undefined, 404, 'not_found');
      });

      it('refuses what the Invite object cannot show (a project reader), values outside the spec, unknown members and parameters', async () => {
        const path = `${ORG}/invites`;
        const p = t.defaultProjectId;
        const reader = await refused('POST', path, { email: 'r@example.com', role: 'reader', projects: [{ id: p, role: 'reader' }] }, 400, 'invalid_value', 'projects.0.role');
        expect(reader.message).toMatch(/member.*owner/);
        await refused('POST', path, { email: 'r@example.com', role: 'admin' }, 400, 'invalid_value', 'role');
        await refused('POST', path, { email: 'r@example.com' }, 400, 'missing_required_parameter', 'role');
        await refused('POST', path, { email: 'not an email', role: 'reader' }, 400, 'invalid_value', 'email');
        await refused('POST', path, { email: 'r@example.com', role: 'reader', projects: [{ id: 'proj_nope', role: 'member' }] }, 400, 'invalid_value', 'projects.0.id');
        await refused('POST', path, { email: 'r@example.com', role: 'reader', message: 'hi' }, 400, 'unknown_parameter', 'message');
        await refused('GET', `${path}?status=pending`, undefined, 400, 'unknown_parameter', 'status');
        await refused('GET', `${path}/invite-nope`, undefined, 404, 'not_found');
        await refused('DELETE', `${path}/invite-nope`, undefined, 404, 'not_found');
      });
    });

    /** A user made through Tollgate's own create route (OpenAI adds users by invitation only). */
    async function makeUser(email: string, role = 'reader'): Promise<Json> {
      const res = await t.api('POST', `${ORG}/users`, { body: { email, role } });
      expect(res.status, res.text).toBe(200);
      return res.body;
    }

    describe('users', () => {
      it('lists with every query parameter: emails keeps exactly those addresses, in any case, page by page', async () => {
        const made = [];
        for (const name of ['ann', 'bob', 'cid', 'dee']) made.push(await makeUser(`${name}.list@example.com`));
        const wanted = ['ANN.list@example.com', 'cid.list@example.com', 'dee.LIST@example.com'];
        const ids: string[] = [];
        let after = '';
        for (let page = 0; page < 10; page++) {
          const body = await ok('GET', fullQuery('GET', `${ORG}/users`, { limit: '2', after, 'emails[]': wanted }));
          ids.push(...body.data.map((u: { id: string }) => u.id));
          if (!body.has_more) break;
          after = body.last_id;
        }
        expect(ids).toEqual([made[0].id, made[2].id, made[3].id]);
        const one = await ok('GET', `${ORG}/users?emails=bob.list@example.com`);
        expect(one.data.map((u: { id: string }) => u.id)).toEqual([made[1].id]);
        expect((await ok('GET', `${ORG}/users?emails[]=nobody@example.com`)).data).toEqual([]);
        expect((await ok('GET', `${ORG}/users?emails[]=`)).data).toEqual([]);
        expect((await ok('GET', `${ORG}/users?limit=100`)).data.length).toBeGreaterThan(4);
      });

      it('modifies with every field of UserRoleUpdateRequest: role, and stores technical_level and developer_persona', async () => {
        const u = await makeUser('modify.user@example.com');
        const path = `${ORG}/users/${u.id}`;
        const body = fullBody('POST', path, { role: 'owner', role_id: null, technical_level: 'expert', developer_persona: 'builder' });
        expect(await ok('POST', path, body)).toMatchObject({ id: u.id, role: 'owner', technical_level: 'expert', developer_persona: 'builder' });
        expect(await ok('GET', path)).toMatchObject({ role: 'owner', technical_level: 'expert', developer_persona: 'builder' });
        expect(await ok('POST', path, { role: null, technical_level: null })).toMatchObject({ role: 'owner', technical_level: null, developer_persona: 'builder' });
        expect(await ok('POST', path, { role: 'reader' })).toMatchObject({ role: 'reader', developer_persona: 'builder' });
      });

      it('deletes a user: gone from the API', async () => {
        const u = await makeUser('delete.user@example.com');
        expect(await ok('DELETE', `${ORG}/users/${u.id}`)).toEqual({ object: 'organization.user.deleted', id: u.id, deleted: true });
        await refused('GET', `${ORG}/users/${u.id}`, undefined, 404, 'not_found');
        await refused('DELETE', `${ORG}/users/${u.id}`, undefined, 404, 'not_found');
        expect((await ok('GET', `${ORG}/users?emails[]=delete.user@example.com`)).data).toEqual([]);
      });

      it('refuses custom roles it does not have, values outside the spec, members and parameters it does not know', async () => {
        const u = await makeUser('refuse.user@example.com');
        const path = `${ORG}/users/${u.id}`;
        const custom = await refused('POST', path, { role_id: 'role_abc' }, 400, 'invalid_value', 'role_id');
        expect(custom.message).toMatch(/role/);
        await refused('POST', path, { role: 'admin' }, 400, 'invalid_value', 'role');
        await refused('POST', path, { role: 'owner', nickname: 'x' }, 400, 'unknown_parameter', 'nickname');
        expect((await ok('GET', path)).role).toBe('reader');
        await refused('GET', `${ORG}/users?order=desc`, undefined, 400, 'unknown_parameter', 'order');
        await refused('GET', `${ORG}/users?limit=101`, undefined, 400, 'invalid_value', 'limit');
        await refused('GET', `${ORG}/users/user-nope`, undefined, 404, 'not_found');
        await refused('POST', `${ORG}/users/user-nope`, { role: 'owner' }, 404, 'not_found');
        await refused('DELETE', `${ORG}/users/user-nope`, undefined, 404, 'not_found');
      });
    });

    describe('project users', () => {
      it('adds users by user_id, by email, or both (every field of ProjectUserCreateRequest)', async () => {
        const p = (await ok('POST', `${ORG}/projects`, { name: 'Members' })).id;
        const path = `${ORG}/projects/${p}/users`;
        const [a, b, c] = [await makeUser('a.member@example.com'), await makeUser('b.member@example.com'), await makeUser('c.member@example.com')];
        const both = await ok('POST', path, fullBody('POST', path, { user_id: a.id, email: 'A.Member@example.com', role: 'owner' }));
        expect(both).toMatchObject({ object: 'organization.project.user', id: a.id, email: 'a.member@example.com', role: 'owner' });
        expect(await ok('POST', path, { email: 'b.member@example.com', role: 'member' })).toMatchObject({ id: b.id, role: 'member' });
        expect(await ok('POST', path, { user_id: c.id, email: null, role: 'reader' })).toMatchObject({ id: c.id, role: 'reader' });
        expect(await ok('GET', `${path}/${b.id}`)).toMatchObject({ id: b.id, role: 'member' });
        const ids: string[] = [];
        let after = '';
        for (let page = 0; page < 10; page++) {
          const body = await ok('GET', fullQuery('GET', path, { limit: '2', after }));
          ids.push(...body.data.map((u: { id: string }) => u.id));
          if (!body.has_more) break;
          after = body.last_id;
        }
        expect(ids).toEqual([a.id, b.id, c.id]);
      });

      it('modifies a member with every field of ProjectUserUpdateRequest (null keeps the role) and removes one', async () => {
        const p = t.defaultProjectId;
        const u = await makeUser('modify.member@example.com');
        await ok('POST', `${ORG}/projects/${p}/users`, { user_id: u.id, role: 'member' });
        const path = `${ORG}/projects/${p}/users/${u.id}`;
        expect(await ok('POST', path, fullBody('POST', path, { role: 'owner' }))).toMatchObject({ role: 'owner' });
        expect(await ok('POST', path, { role: null })).toMatchObject({ role: 'owner' });
        expect(await ok('DELETE', path)).toEqual({ object: 'organization.project.user.deleted', id: u.id, deleted: true });
        await refused('GET', path, undefined, 404, 'not_found');
        await refused('DELETE', path, undefined, 404, 'not_found');
      });

      it('refuses a user nobody has, mismatched id and email, values outside the spec and unknown members and parameters', async () => {
        const p = t.defaultProjectId;
        const path = `${ORG}/projects/${p}/users`;
        const u = await makeUser('refuse.member@example.com');
        const other = await makeUser('other.member@example.com');
        await refused('POST', path, { email: 'stranger@example.com', role: 'member' }, 400, 'invalid_value', 'email');
        await refused('POST', path, { user_id: 'user-nope', role: 'member' }, 400, 'invalid_value', 'user_id');
        await refused('POST', path, { user_id: u.id, email: other.email, role: 'member' }, 400, 'invalid_value', 'email');
        await refused('POST', path, { role: 'member' }, 400, 'missing_required_parameter', 'user_id');
        await refused('POST', path, { user_id: u.id }, 400, 'missing_required_parameter', 'role');
        await refused('POST', path, { user_id: u.id, role: 'boss' }, 400, 'invalid_value', 'role');
        await refused('POST', path, { user_id: u.id, role: 'member', notify: true }, 400, 'unknown_parameter', 'notify');
        await ok('POST', path, { user_id: u.id, role: 'member' });
        await refused('POST', path, { email: u.email, role: 'owner' }, 409, 'conflict', 'user_id');
        await refused('POST', `${path}/${u.id}`, { role: 'boss' }, 400, 'invalid_value', 'role');
        await refused('GET', `${path}?emails=x`, undefined, 400, 'unknown_parameter', 'emails');
        await refused('GET', `${path}/user-nope`, undefined, 404, 'not_found');
        await refused('POST', `${path}/user-nope`, { role: 'owner' }, 404, 'not_found');
        await refused('GET', `${ORG}/projects/proj_nope/users`, undefined, 404, 'not_found');
        expect((await ok('GET', `${path}/${u.id}`)).role).toBe('member');
      });
    });

    it('every served route refuses a query parameter or body member it does not know, naming it, and changes nothing', async () => {
      const p = (await ok('POST', `${ORG}/projects`, { name: 'Sweep' })).id;
      const key = (await makeKey(p)).id;
      const acct = (await ok('POST', `${ORG}/projects/${p}/service_accounts`, { name: 'Sweep account', create_service_account_only: true })).id;
      const user = (await makeUser('sweep@example.com')).id;
      await ok('POST', `${ORG}/projects/${p}/users`, { user_id: user, role: 'member' });
      const admin = (await ok('POST', `${ORG}/admin_api_keys`, { name: 'Sweep admin' })).id;
      const invite = (await ok('POST', `${ORG}/invites`, { email: 'sweep.invite@example.com', role: 'reader' })).id;
      // One concrete request per served operation, with a body the route would take.
      const requests: Record<string, [string, Record<string, unknown> | undefined]> = {
        'GET /organization/projects': [`${ORG}/projects`, undefined],
        'POST /organization/projects': [`${ORG}/projects`, { name: 'Never made' }],
        'GET /organization/projects/{project_id}': [`${ORG}/projects/${p}`, undefined],
        'POST /organization/projects/{project_id}': [`${ORG}/projects/${p}`, { name: 'Never renamed' }],
        'POST /organization/projects/{project_id}/archive': [`${ORG}/projects/${p}/archive`, {}],
        'GET /organization/projects/{project_id}/api_keys': [`${ORG}/projects/${p}/api_keys`, undefined],
        'GET /organization/projects/{project_id}/api_keys/{api_key_id}': [`${ORG}/projects/${p}/api_keys/${key}`, undefined],
        'DELETE /organization/projects/{project_id}/api_keys/{api_key_id}': [`${ORG}/projects/${p}/api_keys/${key}`, {}],
        'GET /organization/projects/{project_id}/service_accounts': [`${ORG}/projects/${p}/service_accounts`, undefined],
        'POST /organization/projects/{project_id}/service_accounts': [`${ORG}/projects/${p}/service_accounts`, { name: 'Never made' }],
        'GET /organization/projects/{project_id}/service_accounts/{service_account_id}': [`${ORG}/projects/${p}/service_accounts/${acct}`, undefined],
        'POST /organization/projects/{project_id}/service_accounts/{service_account_id}': [`${ORG}/projects/${p}/service_accounts/${acct}`, { name: 'Never renamed' }],
        'DELETE /organization/projects/{project_id}/service_accounts/{service_account_id}': [`${ORG}/projects/${p}/service_accounts/${acct}`, {}],
        'POST /organization/projects/{project_id}/service_accounts/{service_account_id}/api_keys': [
          `${ORG}/projects/${p}/service_accounts/${acct}/api_keys`,
          { name: 'Never made' },
        ],
        'GET /organization/projects/{project_id}/users': [`${ORG}/projects/${p}/users`, undefined],
        'POST /organization/projects/{project_id}/users': [`${ORG}/projects/${p}/users`, { email: 'nobody@example.com', role: 'member' }],
        'GET /organization/projects/{project_id}/users/{user_id}': [`${ORG}/projects/${p}/users/${user}`, undefined],
        'POST /organization/projects/{project_id}/users/{user_id}': [`${ORG}/projects/${p}/users/${user}`, { role: 'owner' }],
        'DELETE /organization/projects/{project_id}/users/{user_id}': [`${ORG}/projects/${p}/users/${user}`, {}],
        'GET /organization/users': [`${ORG}/users`, undefined],
        'GET /organization/users/{user_id}': [`${ORG}/users/${user}`, undefined],
        'POST /organization/users/{user_id}': [`${ORG}/users/${user}`, { role: 'owner' }],
        'DELETE /organization/users/{user_id}': [`${ORG}/users/${user}`, {}],
        'GET /organization/invites': [`${ORG}/invites`, undefined],
        'POST /organization/invites': [`${ORG}/invites`, { email: 'never.invited@example.com', role: 'reader' }],
        'GET /organization/invites/{invite_id}': [`${ORG}/invites/${invite}`, undefined],
        'DELETE /organization/invites/{invite_id}': [`${ORG}/invites/${invite}`, {}],
        'GET /organization/admin_api_keys': [`${ORG}/admin_api_keys`, undefined],
        'POST /organization/admin_api_keys': [`${ORG}/admin_api_keys`, { name: 'Never made' }],
        'GET /organization/admin_api_keys/{key_id}': [`${ORG}/admin_api_keys/${admin}`, undefined],
        'DELETE /organization/admin_api_keys/{key_id}': [`${ORG}/admin_api_keys/${admin}`, {}],
      };
      expect(Object.keys(requests).sort()).toEqual([...SERVED].sort());
      const auditCount = async () => (await t.server.runtime.database.db.selectFrom('audit_logs').select('id').execute()).length;
      const before = await auditCount();
      for (const [op, [path, body]] of Object.entries(requests)) {
        const method = op.split(' ')[0];
        await refused(method, `${path}?tollgate_unknown=1`, body, 400, 'unknown_parameter', 'tollgate_unknown');
        if (body) await refused(method, path, { ...body, tollgate_unknown: 1 }, 400, 'unknown_parameter', 'tollgate_unknown');
      }
      expect(await auditCount()).toBe(before);
      expect(await ok('GET', `${ORG}/projects/${p}`)).toMatchObject({ name: 'Sweep', status: 'active' });
      expect((await ok('GET', `${ORG}/projects/${p}/api_keys/${key}`)).status).toBe('active');
    });

    it('answers each operation docs/admin-api.md says is not served with 404 unknown_url, in the error shape', async () => {
      const notServed = documentedOperations().filter((d) => !d.served);
      expect(notServed.length).toBeGreaterThan(30);
      for (const { op } of notServed) {
        const [method, template] = op.split(' ');
        const path = `/v1${template.replace('{project_id}', t.defaultProjectId).replace(/\{[a-z_]+\}/g, 'x_1')}`;
        const res = await call(method, path, method === 'POST' ? {} : undefined);
        expect(res.status, op).toBe(404);
        expect(res.body.error.code, op).toBe('unknown_url');
      }
    });

    it('answered every served operation with a success and a refusal, each checked against the spec', () => {
      for (const op of SERVED) {
        const [method, path] = op.split(' ');
        expect(operation(method, path), `${op} is in the spec`).not.toBeNull();
        const statuses = [...(seen.get(op) ?? [])];
        expect(
          statuses.some((s) => s < 300),
          `${op}: a success (saw ${statuses})`,
        ).toBe(true);
        expect(
          statuses.some((s) => s >= 400),
          `${op}: a refusal (saw ${statuses})`,
        ).toBe(true);
      }
    });
  });
});
