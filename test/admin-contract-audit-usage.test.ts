import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_EVENT_TYPES } from '../src/core/audit-events.js';
import { revokeProjectKey } from '../src/services/api-keys.js';
import type { UsageEvent } from '../src/core/usage-event.js';
import { describeEachDatabase } from './harness/backends.js';
import { componentSchema, contractProblems, operation, operationPath, specAvailable, specOperations } from './harness/openapi-contract.js';
import { type ApiResult, startTestServer, type TestServer } from './harness/server.js';
import { joinAs, SessionClient, signUpOwner } from './harness/session-client.js';
import { usageEvent } from './harness/usage-event.js';

// OpenAI's Audit Logs, Usage and Costs APIs, checked against OpenAI's published OpenAPI description
// (../shared/openai-openapi/openapi.yaml): every answer (successes and refusals) validates against its operation's
// response schema, every query parameter the operation documents is sent and applied, any other is refused. The one
// addition allowed beyond the schema: audit event types of Tollgate's own (docs/audit-log.md), outside OpenAI's enum.
// docs/admin-api.md lists what is served.

const ORG = '/v1/organization';
const DAY = 86_400;
const D = 1_736_121_600; // 2025-01-06T00:00:00Z

const USAGE_KINDS = [
  'completions',
  'embeddings',
  'moderations',
  'images',
  'audio_speeches',
  'audio_transcriptions',
  'vector_stores',
  'code_interpreter_sessions',
  'file_search_calls',
  'web_search_calls',
];
const SERVED = ['GET /organization/audit_logs', 'GET /organization/costs', ...USAGE_KINDS.map((k) => `GET /organization/usage/${k}`)];

// biome-ignore lint/suspicious/noExplicitAny: the spec and answers are arbitrary JSON
type Json = any;

/** The query parameters an operation documents, as the spec names them (`event_types[]`, `effective_at`, …). */
function specQueryParams(path: string): string[] {
  const params: Json[] = operation('GET', path)?.parameters ?? [];
  return params
    .map((p) => (p.$ref ? componentSchema(p.$ref.split('/').pop()) : p))
    .filter((p) => p?.in === 'query')
    .map((p) => p.name)
    .sort();
}

/** The rows of the "Audit logs, usage and costs" table in docs/admin-api.md. */
function documentedOperations(): Array<{ op: string; id: string; served: boolean }> {
  const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'admin-api.md'), 'utf8');
  const section = doc.split('## Audit logs, usage and costs')[1]?.split(/\n## /)[0] ?? '';
  return [...section.matchAll(/^\| `(GET|POST|DELETE) (\/organization\/[^`]*)` \| ([^|]+) \| (S|–) \|/gm)].map((m) => ({
    op: `${m[1]} ${m[2]}`,
    id: m[3].trim(),
    served: m[4] === 'S',
  }));
}

/** Types Tollgate writes that OpenAI's enum does not have: allowed, documented additions. */
function tollgateOnlyTypes(): Set<string> {
  const openai: string[] = componentSchema('AuditLogEventType').enum;
  return new Set(AUDIT_EVENT_TYPES.filter((t) => !openai.includes(t)));
}

describe.runIf(specAvailable() || process.env.CI === 'true')('Admin API contract: audit logs, usage and costs', () => {
  it('docs/admin-api.md lists every audit log, usage and costs operation of the spec, all served', () => {
    const spec = specOperations()
      .filter((o) => /^\/organization\/(audit_logs|usage\/|costs)/.test(o.path))
      .map((o) => `${o.method} ${o.path} ${o.operationId}`);
    expect(spec.length).toBe(SERVED.length);
    expect(documentedOperations().map((d) => `${d.op} ${d.id}`).sort()).toEqual(spec.sort());
    expect(documentedOperations().filter((d) => d.served).map((d) => d.op).sort()).toEqual([...SERVED].sort());
  });

  it("Tollgate's own event types are exactly those of its catalogue outside OpenAI's list (docs/audit-log.md says which)", () => {
    const ours = tollgateOnlyTypes();
    const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'audit-log.md'), 'utf8');
    for (const type of AUDIT_EVENT_TYPES) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${type}\` |`)) ?? '';
      expect(row.includes('| Tollgate |'), `${type}: ${row}`).toBe(ours.has(type));
      expect(row.includes('| OpenAI |'), `${type}: ${row}`).toBe(!ours.has(type));
    }
  });

  describeEachDatabase('served operations', (backend) => {
    let t: TestServer;
    const seen = new Map<string, Set<number>>();
    beforeAll(async () => {
      t = await startTestServer(backend);
    });
    afterAll(async () => t?.close());

    /** Problems of an answer against the spec; an audit entry's type of Tollgate's own is the one addition allowed. */
    function problems(path: string, res: ApiResult): string[] {
      const specPath = path.replace(/^\/v1/, '');
      const found = contractProblems('GET', specPath, res.status, res.body);
      if (!specPath.startsWith('/organization/audit_logs') || res.status !== 200) return found;
      const ours = tollgateOnlyTypes();
      return found.filter((p) => {
        const m = /^\/data\/(\d+)\/type must be equal to one of the allowed values/.exec(p);
        return !(m && ours.has(res.body.data[Number(m[1])]?.type));
      });
    }

    async function call(path: string): Promise<ApiResult> {
      const res = await t.api('GET', path);
      expect(problems(path, res), `GET ${path} → ${res.status} ${res.text.slice(0, 600)}`).toEqual([]);
      const op = `GET ${operationPath(path.replace(/^\/v1/, ''))}`;
      if (!seen.has(op)) seen.set(op, new Set());
      seen.get(op)?.add(res.status);
      return res;
    }

    async function ok(path: string): Promise<Json> {
      const res = await call(path);
      expect(res.status, `${path}: ${res.text.slice(0, 600)}`).toBe(200);
      return res.body;
    }

    async function refused(path: string, code: string, param?: string | null): Promise<Json> {
      const res = await call(path);
      expect(res.status, `${path}: ${res.text.slice(0, 600)}`).toBe(400);
      expect(res.body.error.code, path).toBe(code);
      if (param !== undefined) expect(res.body.error.param, path).toBe(param);
      return res.body.error;
    }

    /** A query string with the given parameters, checked to hold every one the operation documents. */
    function fullQuery(path: string, query: Record<string, string | string[]>): string {
      const base = (name: string) => name.replace(/\[\]$/, '').replace(/\[(gt|gte|lt|lte)\]$/, '');
      const names = new Set(Object.keys(query).map(base));
      expect([...names].sort(), `${path} query`).toEqual(expect.arrayContaining(specQueryParams(path.replace(/^\/v1/, '')).map(base)));
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) for (const item of Array.isArray(v) ? v : [v]) qs.append(k, item);
      return `${path}?${qs}`;
    }

    describe('audit logs', () => {
      let owner: SessionClient;
      let ownerId: string;
      let ownerAdminKey: { id: string; value: string };
      let project: string;
      let all: Json[];

      /** Every entry, newest first, read page by page with `after` (each page checked against the spec). */
      async function everyEntry(query = ''): Promise<Json[]> {
        const out: Json[] = [];
        let after = '';
        for (let page = 0; page < 100; page++) {
          const body = await ok(`${ORG}/audit_logs?limit=7${after ? `&after=${after}` : ''}${query}`);
          out.push(...body.data);
          if (!body.has_more) break;
          after = body.last_id;
        }
        return out;
      }

      beforeAll(async () => {
        // People: the owner signs up (a session), makes an admin key of their own and uses it; an invitee joins.
        owner = await signUpOwner(t);
        ownerId = (await owner.call('GET', '/auth/me')).body.user.id;
        const made = await owner.call('POST', `${ORG}/admin_api_keys`, { name: 'Owner key' });
        expect(made.status).toBe(200);
        ownerAdminKey = { id: made.body.id, value: made.body.value };
        expect((await t.api('GET', `${ORG}/projects`, { key: ownerAdminKey.value })).status).toBe(200);
        await joinAs(t, owner, 'joiner@example.com', 'reader');
        const failed = new SessionClient(t.url);
        expect((await failed.call('POST', '/auth/login', { email: 'owner@example.com', password: 'not the password' })).status).toBe(401);
        const second = new SessionClient(t.url);
        expect((await second.call('POST', '/auth/login', { email: 'owner@example.com', password: 'correct horse battery' })).status).toBe(200);
        expect((await second.call('POST', '/auth/logout')).status).toBeLessThan(300);
        // Projects, keys, service accounts, users, invites and webhooks through the harness's admin key.
        const api = async (method: string, path: string, body?: unknown) => {
          const res = await t.api(method, path, { body });
          expect(res.status, `${method} ${path}: ${res.text}`).toBe(200);
          return res.body;
        };
        project = (await api('POST', `${ORG}/projects`, { name: 'Audited' })).id;
        await api('POST', `${ORG}/projects/${project}`, { name: 'Audited, renamed', external_key_id: null });
        const archived = (await api('POST', `${ORG}/projects`, { name: 'To archive' })).id;
        await api('POST', `${ORG}/projects/${archived}/archive`);
        const key = await api('POST', `${ORG}/projects/${project}/api_keys`, { name: 'Audited key', permissions: { restricted: { responses: 'write', files: 'read' } } });
        await api('POST', `${ORG}/projects/${project}/api_keys/${key.id}`, { name: 'Audited key, renamed', permissions: 'read_only', spend_limit: null });
        await api('POST', `${ORG}/projects/${project}/api_keys/${key.id}/rotate`, {});
        await api('DELETE', `${ORG}/projects/${project}/api_keys/${key.id}`);
        const account = await api('POST', `${ORG}/projects/${project}/service_accounts`, { name: 'Audited account', create_service_account_only: true });
        await api('POST', `${ORG}/projects/${project}/service_accounts/${account.id}`, { name: 'Audited account, renamed' });
        await api('POST', `${ORG}/projects/${project}/service_accounts/${account.id}/api_keys`, { name: 'Scoped', scopes: ['api.model.request', 'api.files.read'] });
        await api('DELETE', `${ORG}/projects/${project}/service_accounts/${account.id}`);
        const user = await api('POST', `${ORG}/users`, { email: 'audited@example.com', role: 'reader' });
        await api('POST', `${ORG}/projects/${project}/users`, { user_id: user.id, role: 'member' });
        await api('POST', `${ORG}/projects/${project}/users/${user.id}`, { role: 'owner' });
        await api('DELETE', `${ORG}/projects/${project}/users/${user.id}`);
        await api('POST', `${ORG}/users/${user.id}`, { role: 'owner', technical_level: null });
        await api('DELETE', `${ORG}/users/${user.id}`);
        const invite = await api('POST', `${ORG}/invites`, { email: 'never.joins@example.com', role: 'reader' });
        await api('DELETE', `${ORG}/invites/${invite.id}`);
        const hook = await api('POST', `${ORG}/webhooks`, { url: 'https://hooks.example.com/tollgate' });
        await api('DELETE', `${ORG}/webhooks/${hook.id}`);
        // The CLI on the server (no person, no key): a key revoked by the operator.
        const cliKey = await api('POST', `${ORG}/projects/${project}/api_keys`, { name: 'Revoked by the CLI' });
        await revokeProjectKey(t.server.runtime.deps, t.orgId, project, cliKey.id, { type: 'cli', id: 'operator' });
        all = await everyEntry();
      });

      it('answers every entry in OpenAI shape: its actor, its project when there is one, OpenAI types validated strictly', () => {
        const types = new Set(all.map((e) => e.type));
        for (const type of [
          'api_key.created',
          'api_key.updated',
          'api_key.deleted',
          'service_account.created',
          'service_account.updated',
          'service_account.deleted',
          'project.created',
          'project.updated',
          'project.archived',
          'user.added',
          'user.updated',
          'user.deleted',
          'invite.sent',
          'invite.accepted',
          'invite.deleted',
          'login.succeeded',
          'login.failed',
          'logout.succeeded',
        ]) {
          expect(types, type).toContain(type);
        }
        for (const type of types) expect(AUDIT_EVENT_TYPES as readonly string[], type).toContain(type);
        for (const e of all) {
          expect(e).not.toHaveProperty('project', null);
          if (e.actor === null) expect(e.tollgate_actor.type, e.type).toMatch(/^(cli|system|reporter)$/);
          else expect(['session', 'api_key']).toContain(e.actor.type);
          if (e.actor?.type === 'api_key' && e.actor.api_key.type !== undefined) expect(['user', 'service_account']).toContain(e.actor.api_key.type);
        }
        // The owner's own admin key acts as their key (type user, with the owner); the harness's key belongs to no one.
        const used = all.find((e) => e.type === 'admin_api_key.used' && e.actor?.api_key?.id === ownerAdminKey.id);
        expect(used.actor.api_key).toMatchObject({ type: 'user', user: { id: ownerId, email: 'owner@example.com' }, object: 'organization.admin_api_key' });
        const byHarnessKey = all.find((e) => e.type === 'project.created' && e.actor?.api_key?.id === t.adminKeyId);
        expect(byHarnessKey.actor.api_key).toEqual({ id: t.adminKeyId, object: 'organization.admin_api_key' });
        expect(all.find((e) => e.type === 'admin_api_key.created' && e['admin_api_key.created'].id === t.adminKeyId)).toMatchObject({
          actor: null,
          tollgate_actor: { type: 'system' },
        });
        expect(all.find((e) => e.type === 'api_key.deleted' && e.tollgate_actor)).toMatchObject({ actor: null, tollgate_actor: { type: 'cli', id: 'operator' } });
        const login = all.find((e) => e.type === 'login.failed');
        expect(login.actor).toMatchObject({ type: 'session', session: { user: { email: 'owner@example.com' } } });
        expect(login.actor.session.user).not.toHaveProperty('id');
        expect(login['login.failed']).toMatchObject({ error_code: 'invalid_credentials' });
        // Entries not about a project have none; those about one name it.
        expect(all.find((e) => e.type === 'user.added')).not.toHaveProperty('project');
        // Who signs up adds themself: the owner at the organization's first sign-up, an invitee when they join.
        const added = (email: string) => all.find((e) => e.type === 'user.added' && e['user.added'].data.email === email);
        expect(added('owner@example.com').actor).toMatchObject({ type: 'session', session: { user: { id: ownerId, email: 'owner@example.com' } } });
        const joiner = added('joiner@example.com');
        expect(joiner.actor).toMatchObject({ type: 'session', session: { user: { id: joiner['user.added'].id, email: 'joiner@example.com' } } });
        expect(all.find((e) => e.type === 'project.created' && e.project?.id === project).project).toEqual({ id: project, name: 'Audited, renamed' });
        // A project's name in OpenAI's members: `data.name` and `data.title` when created, `changes_requested.title` when renamed.
        expect(all.find((e) => e.type === 'project.created' && e.project?.id === project)['project.created']).toEqual({
          id: project,
          data: { name: 'Audited', title: 'Audited', allowed_ips: null },
        });
        expect(all.find((e) => e.type === 'project.updated' && e.project?.id === project)['project.updated']).toEqual({ id: project, changes_requested: { title: 'Audited, renamed' } });
      });

      it("shows a key's permissions as OpenAI scopes (arrays), and a service account key's scopes as given", () => {
        const created = all.filter((e) => e.type === 'api_key.created').map((e) => e['api_key.created']);
        for (const d of created) expect(Array.isArray(d.data.scopes), JSON.stringify(d)).toBe(true);
        expect(created.find((d) => d.data.name === 'Audited key').data).toMatchObject({
          scopes: ['api.responses.write', 'api.files.read'],
          permissions: { restricted: { responses: 'write', files: 'read' } },
        });
        expect(created.find((d) => d.data.name === 'Scoped').data.scopes).toEqual(['api.model.request', 'api.files.read']);
        const updated = all.find((e) => e.type === 'api_key.updated')['api_key.updated'];
        expect(updated.changes_requested.scopes).toEqual(expect.arrayContaining(['api.responses.read', 'api.models.read']));
        expect(updated.changes_requested).toMatchObject({ permissions: 'read_only' });
        // The key had no spend limit: `spend_limit: null` changed nothing, so the entry does not name it.
        expect(updated.changes_requested).not.toHaveProperty('spend_limit');
      });

      it('applies every query parameter of list-audit-logs', async () => {
        const path = `${ORG}/audit_logs`;
        const some = all.find((e) => e.type === 'project.updated');
        const full = await ok(
          fullQuery(path, {
            'effective_at[gte]': String(some.effective_at),
            'effective_at[lte]': String(some.effective_at),
            'project_ids[]': [project],
            'event_types[]': ['project.updated', 'project.created'],
            'actor_ids[]': [t.adminKeyId],
            'actor_emails[]': ['nobody@example.com', 'OWNER@example.com'],
            'resource_ids[]': [project],
            tenant_only: 'false',
            limit: '5',
            after: '',
            before: '',
          }),
        );
        // The harness key owns nothing, so no entry is both by it and by the owner: every filter applies at once.
        expect(full.data).toEqual([]);
        const byKey = await ok(`${path}?project_ids[]=${project}&event_types[]=project.updated&actor_ids[]=${t.adminKeyId}&resource_ids[]=${project}`);
        expect(byKey.data.map((e: Json) => e.id)).toEqual([some.id]);

        const ids = (q: string) => everyEntry(q).then((es) => es.map((e) => e.id));
        const want = (pred: (e: Json) => boolean) => all.filter(pred).map((e) => e.id);
        expect(await ids(`&event_types[]=api_key.created&event_types[]=logout.succeeded`)).toEqual(want((e) => ['api_key.created', 'logout.succeeded'].includes(e.type)));
        expect(await ids(`&project_ids[]=${project}`)).toEqual(want((e) => e.project?.id === project));
        expect(await ids(`&resource_ids[]=${project}`)).toEqual(want((e) => e[e.type]?.id === project));
        // A user: what they did signed in and through their own keys; by address, in any case, the same.
        const ownerDid = want((e) => e.actor?.session?.user?.id === ownerId || e.actor?.api_key?.id === ownerAdminKey.id);
        expect(ownerDid.length).toBeGreaterThan(3);
        expect(await ids(`&actor_ids[]=${ownerId}`)).toEqual(ownerDid);
        expect(await ids(`&actor_emails[]=Owner@Example.com`)).toEqual(ownerDid);
        expect(await ids(`&actor_emails[]=nobody@example.com`)).toEqual([]);
        expect(await ids(`&actor_ids[]=${ownerAdminKey.id}`)).toEqual(want((e) => e.actor?.api_key?.id === ownerAdminKey.id));
        for (const op of ['gt', 'gte', 'lt', 'lte'] as const) {
          const at = some.effective_at;
          const keep = { gt: (x: number) => x > at, gte: (x: number) => x >= at, lt: (x: number) => x < at, lte: (x: number) => x <= at }[op];
          expect(await ids(`&effective_at[${op}]=${at}`), op).toEqual(want((e) => keep(e.effective_at)));
        }
        // Tollgate has no tenant-scoped events; asking for them alone answers none, mixing them is refused.
        expect((await ok(`${path}?tenant_only=true`)).data).toEqual([]);
        expect((await ok(`${path}?tenant_only=true&event_types[]=tenant.user.added`)).data).toEqual([]);
        await refused(`${path}?tenant_only=true&event_types[]=api_key.created`, 'invalid_value', 'tenant_only');
        expect(await ids('&tenant_only=false')).toEqual(all.map((e) => e.id));
        // A type nobody writes (OpenAI's, or newer than this spec) matches nothing.
        expect((await ok(`${path}?event_types[]=certificate.created&event_types[]=external_storage.registered`)).data).toEqual([]);
      });

      it('pages forward with after and back with before, newest first either way', async () => {
        const path = `${ORG}/audit_logs`;
        const first = await ok(`${path}?limit=4`);
        const second = await ok(`${path}?limit=4&after=${first.last_id}`);
        const third = await ok(`${path}?limit=4&after=${second.last_id}`);
        expect([...first.data, ...second.data, ...third.data].map((e: Json) => e.id)).toEqual(all.slice(0, 12).map((e) => e.id));
        const back = await ok(`${path}?limit=4&before=${third.first_id}`);
        expect(back.data.map((e: Json) => e.id)).toEqual(second.data.map((e: Json) => e.id));
        expect(back.has_more).toBe(true);
        const top = await ok(`${path}?limit=4&before=${second.first_id}`);
        expect(top.data.map((e: Json) => e.id)).toEqual(first.data.map((e: Json) => e.id));
        expect(top.has_more).toBe(false);
        const between = await ok(`${path}?limit=10&before=${third.data[3].id}&after=${first.data[0].id}`);
        expect(between.data.map((e: Json) => e.id)).toEqual(all.slice(1, 11).map((e) => e.id).slice(0, 10));
      });

      it('shows entries written by earlier versions in the same shape (permissions stored as scopes, admin actor type, nulls)', async () => {
        const db = t.server.runtime.database.db;
        const legacy = [
          {
            id: 'audit_log-legacy1',
            type: 'api_key.created',
            actor_type: 'api_key',
            actor_id: t.adminKeyId,
            actor: JSON.stringify({ type: 'api_key', api_key: { id: t.adminKeyId, type: 'admin' }, ip_address: null, user_agent: null }),
            project_id: project,
            object_id: 'key_legacy',
            details: JSON.stringify({ id: 'key_legacy', data: { name: 'old', scopes: 'all', expires_at: null, allowed_ips: null } }),
          },
          {
            id: 'audit_log-legacy2',
            type: 'service_account.updated',
            actor_type: 'cli',
            actor_id: 'root',
            actor: JSON.stringify({ type: 'cli', id: 'root', ip_address: null }),
            project_id: project,
            object_id: 'key_legacy',
            details: JSON.stringify({ id: 'key_legacy', changes_requested: { name: 'x', role: null } }),
          },
        ];
        for (const row of legacy) await db.insertInto('audit_logs').values({ ...row, org_id: t.orgId, effective_at: 1, ip: null, user_agent: null }).execute();
        const page = await ok(`${ORG}/audit_logs?resource_ids[]=key_legacy`);
        expect(page.data.map((e: Json) => e.id)).toEqual(['audit_log-legacy2', 'audit_log-legacy1']);
        const [updated, created] = page.data;
        expect(created.actor).toEqual({ type: 'api_key', api_key: { id: t.adminKeyId, object: 'organization.admin_api_key' } });
        expect(created['api_key.created'].data.scopes).toContain('api.responses.write');
        expect(created['api_key.created'].data.permissions).toBe('all');
        expect(updated).toMatchObject({ actor: null, tollgate_actor: { type: 'cli', id: 'root' } });
        expect(updated['service_account.updated'].changes_requested).toEqual({ name: 'x' });
      });

      it('refuses what it does not know, naming it', async () => {
        const path = `${ORG}/audit_logs`;
        await refused(`${path}?order=asc`, 'unknown_parameter', 'order');
        await refused(`${path}?effective_at[between]=1`, 'unknown_parameter', 'effective_at[between]');
        await refused(`${path}?effective_at[gt]=yesterday`, 'invalid_value', 'effective_at[gt]');
        await refused(`${path}?event_types[]=API KEY CREATED`, 'invalid_value', 'event_types[]');
        await refused(`${path}?after=audit_log-nope`, 'invalid_value', 'after');
        await refused(`${path}?before=audit_log-nope`, 'invalid_value', 'before');
        await refused(`${path}?limit=101`, 'invalid_value', 'limit');
        await refused(`${path}?tenant_only=maybe`, 'invalid_value', 'tenant_only');
      });
    });

    describe('usage and costs', () => {
      let project: string;
      let userKey: string;
      let svcKey: string;
      let userId: string;
      const events: UsageEvent[] = [];

      beforeAll(async () => {
        const api = async (method: string, path: string, body?: unknown) => {
          const res = await t.api(method, path, { body });
          expect(res.status, `${method} ${path}: ${res.text}`).toBe(200);
          return res.body;
        };
        project = (await api('POST', `${ORG}/projects`, { name: 'Metered' })).id;
        userId = (await api('POST', `${ORG}/users`, { email: 'metered@example.com', role: 'reader' })).id;
        await api('POST', `${ORG}/projects/${project}/users`, { user_id: userId, role: 'member' });
        userKey = (await api('POST', `${ORG}/projects/${project}/api_keys`, { name: 'User key', owner: userId })).id;
        svcKey = (await api('POST', `${ORG}/projects/${project}/api_keys`, { name: 'Service key' })).id;
        let n = 0;
        const add = (key: string, day: number, o: Partial<UsageEvent>) =>
          events.push(
            usageEvent({ id: `evt_contract_${++n}`, orgId: t.orgId, projectId: project, apiKeyId: key, createdAtMs: (D + day * DAY + 3600 * (n % 20)) * 1000, ...o }),
          );
        for (const day of [0, 1, 2]) {
          add(userKey, day, { model: 'gpt-4o-mini', inputTokens: 1000, cachedTokens: 100, outputTokens: 200, costNanoUsd: 1_000_000 + day, serviceTier: 'default' });
          add(svcKey, day, { model: 'gpt-4o', inputTokens: 500, outputTokens: 50, costNanoUsd: 3_000_000, serviceTier: 'flex' });
          add(svcKey, day, { model: 'text-embedding-3-small', endpoint: '/embeddings', inputTokens: 700, costNanoUsd: 14_000 });
          add(userKey, day, { model: 'gpt-image-1', endpoint: '/images/generations', units: 2, costNanoUsd: 80_000_000 });
        }
        for (const e of events) t.server.gateway.usage.record(e);
        await t.server.gateway.usage.flush();
      });

      const range = `start_time=${D}&end_time=${D + 3 * DAY}`;

      it('answers every usage route with every parameter its operation documents', async () => {
        const common = { start_time: String(D), end_time: String(D + 3 * DAY), bucket_width: '1d', limit: '3', page: '' };
        const filters: Record<string, Record<string, string | string[]>> = {
          project_ids: { 'project_ids[]': [project] },
          user_ids: { 'user_ids[]': [userId] },
          api_key_ids: { 'api_key_ids[]': [userKey, svcKey] },
          models: { 'models[]': ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small'] },
          batch: { batch: 'false' },
          vector_store_ids: { 'vector_store_ids[]': ['vs_1'] },
          context_levels: { 'context_levels[]': ['low', 'high'] },
        };
        const groups: Record<string, string[]> = {
          completions: ['project_id', 'user_id', 'api_key_id', 'model', 'batch', 'service_tier'],
          embeddings: ['project_id', 'user_id', 'api_key_id', 'model'],
          moderations: ['project_id', 'user_id', 'api_key_id', 'model'],
          images: ['project_id', 'user_id', 'api_key_id', 'model'],
          audio_speeches: ['project_id', 'user_id', 'api_key_id', 'model'],
          audio_transcriptions: ['project_id', 'user_id', 'api_key_id', 'model'],
          vector_stores: ['project_id'],
          code_interpreter_sessions: ['project_id'],
          file_search_calls: ['project_id', 'user_id', 'api_key_id', 'vector_store_id'],
          web_search_calls: ['project_id', 'user_id', 'api_key_id', 'model', 'context_level'],
        };
        for (const kind of USAGE_KINDS) {
          const path = `${ORG}/usage/${kind}`;
          const documented = specQueryParams(path.replace(/^\/v1/, ''));
          const query: Record<string, string | string[]> = { ...common, 'group_by[]': groups[kind] };
          for (const [name, value] of Object.entries(filters)) if (documented.includes(name)) Object.assign(query, value);
          // Images: sizes and sources are documented but not recorded; refused, then asked without them.
          if (kind === 'images') {
            await refused(fullQuery(path, { ...query, 'sizes[]': ['1024x1024'], 'sources[]': ['image.generation'] }), 'invalid_value', 'sources');
          } else {
            const page = await ok(fullQuery(path, query));
            expect(page.data, kind).toHaveLength(3);
          }
          await refused(`${path}?${range}&colour=blue`, 'unknown_parameter', 'colour');
          await refused(`${path}?${range}&group_by[]=not_a_dimension`, 'invalid_value', 'group_by');
        }
        const images = await ok(`${ORG}/usage/images?${range}&group_by[]=user_id&user_ids[]=${userId}`);
        expect(images.data.map((b: Json) => b.results.map((r: Json) => [r.user_id, r.images]))).toEqual([[[userId, 2]], [[userId, 2]], [[userId, 2]]]);
        await refused(`${ORG}/usage/images?${range}&group_by=size`, 'invalid_value', 'group_by');
        const tiers = await ok(`${ORG}/usage/completions?${range}&group_by=service_tier`);
        expect(tiers.data[0].results.map((r: Json) => [r.service_tier, r.num_model_requests, r.input_tokens])).toEqual([
          ['default', 1, 1000],
          ['flex', 1, 500],
        ]);
        await refused(`${ORG}/usage/completions?${range}&batch=maybe`, 'invalid_value', 'batch');
        await refused(`${ORG}/usage/web_search_calls?${range}&context_levels[]=extreme`, 'invalid_value', 'context_levels');
        for (const kind of ['file_search_calls', 'web_search_calls']) {
          const page = await ok(`${ORG}/usage/${kind}?${range}`);
          expect(page.data.map((b: Json) => b.results)).toEqual([[], [], []]);
        }
      });

      it('groups and filters by user through the keys they own (a service account key has no user)', async () => {
        const byUser = await ok(`${ORG}/usage/completions?${range}&group_by=user_id`);
        expect(byUser.data[0].results.map((r: Json) => [r.user_id, r.api_key_id, r.num_model_requests])).toEqual([
          [null, null, 1],
          [userId, null, 1],
        ]);
        const both = await ok(`${ORG}/usage/completions?${range}&group_by=user_id,api_key_id`);
        expect(both.data[1].results.map((r: Json) => [r.user_id, r.api_key_id])).toEqual([
          [null, svcKey],
          [userId, userKey],
        ]);
        const mine = await ok(`${ORG}/usage/completions?${range}&user_ids[]=${userId}`);
        expect(mine.data.map((b: Json) => b.results[0].input_tokens)).toEqual([1000, 1000, 1000]);
        expect((await ok(`${ORG}/usage/completions?${range}&user_ids[]=user-nobody`)).data.map((b: Json) => b.results)).toEqual([[], [], []]);
        expect((await ok(`${ORG}/usage/completions?${range}&user_ids[]=`)).data.map((b: Json) => b.results)).toEqual([[], [], []]);
      });

      it('answers costs with every parameter of usage-costs: by key, for named keys, a key nobody has answering nothing', async () => {
        const path = `${ORG}/costs`;
        const nano = (v: number) => Math.round(v * 1e9);
        const cost = (key: string | null, day: number) =>
          events.filter((e) => (key === null || e.apiKeyId === key) && Math.floor(e.createdAtMs / 1000 / DAY) === D / DAY + day).reduce((s, e) => s + e.costNanoUsd, 0);
        const full = await ok(
          fullQuery(path, {
            start_time: String(D),
            end_time: String(D + 3 * DAY),
            bucket_width: '1d',
            'project_ids[]': [project],
            'api_key_ids[]': [userKey, svcKey],
            'group_by[]': ['project_id', 'api_key_id'],
            limit: '3',
            page: '',
          }),
        );
        expect(full.data.map((b: Json) => b.results.map((r: Json) => [r.project_id, r.api_key_id, r.line_item, nano(r.amount.value)]).sort())).toEqual(
          [0, 1, 2].map((day) =>
            [
              [project, svcKey, null, cost(svcKey, day)],
              [project, userKey, null, cost(userKey, day)],
            ].sort(),
          ),
        );
        // Written by the database and sent as it is: still JSON with the headers of every answer.
        const raw = await t.api('GET', `${path}?${range}&group_by=api_key_id`);
        expect(raw.headers.get('content-type')).toBe('application/json; charset=utf-8');
        expect(raw.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
        const byKey = await ok(`${path}?${range}&group_by=api_key_id`);
        expect(byKey.data[2].results).toEqual(
          expect.arrayContaining([
            { object: 'organization.costs.result', amount: { value: cost(userKey, 2) / 1e9, currency: 'usd' }, line_item: null, project_id: null, api_key_id: userKey, quantity: null, quantity_unit: null },
          ]),
        );
        const total = await ok(`${path}?${range}`);
        expect(total.data.map((b: Json) => nano(b.results[0].amount.value))).toEqual([0, 1, 2].map((day) => cost(null, day)));
        const one = await ok(`${path}?${range}&api_key_ids[]=${userKey}`);
        expect(one.data.map((b: Json) => nano(b.results[0].amount.value))).toEqual([0, 1, 2].map((day) => cost(userKey, day)));
        for (const q of [`api_key_ids[]=key_nobody`, `api_key_ids[]=key_nobody&group_by=api_key_id`, `api_key_ids[]=key_nobody&group_by=line_item`, 'api_key_ids[]=']) {
          const none = await ok(`${path}?${range}&${q}`);
          expect(none.data.map((b: Json) => b.results), q).toEqual([[], [], []]);
        }
        const items = await ok(`${path}?${range}&group_by=line_item,api_key_id&api_key_ids[]=${svcKey}`);
        expect(items.data[0].results.map((r: Json) => [r.api_key_id, r.line_item])).toEqual([
          [svcKey, 'gpt-4o, input'],
          [svcKey, 'gpt-4o, output'],
          [svcKey, 'text-embedding-3-small, input'],
        ]);
        expect(items.data[0].results.reduce((s: number, r: Json) => s + nano(r.amount.value), 0)).toBe(cost(svcKey, 0));
        const paged = await ok(`${path}?${range}&group_by=api_key_id&limit=2`);
        expect(paged.data).toHaveLength(2);
        const rest = await ok(`${path}?${range}&group_by=api_key_id&limit=2&page=${paged.next_page}`);
        expect(rest.data.map((b: Json) => b.start_time)).toEqual([D + 2 * DAY]);
        await refused(`${path}?${range}&user_ids[]=${userId}`, 'unknown_parameter', 'user_ids[]');
        await refused(`${path}?${range}&models=gpt-4o`, 'unknown_parameter', 'models');
        await refused(`${path}?${range}&group_by=model`, 'invalid_value', 'group_by');
      });
    });

    it('answered every served operation with a success and a refusal, each checked against the spec', () => {
      for (const op of SERVED) {
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
