import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Issue 16 §3: project members manage only the keys they own; project and organization owners manage everyone's.
// Each action × role × whose key, through the dashboard's session (the admin API with a cookie) and an admin key.

const ORG = '/v1/organization';

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  body: any;
}

/** A signed-in dashboard: the session cookie and the CSRF token. */
class Session {
  private cookie = '';
  private csrf = '';
  constructor(private readonly base: string) {}

  async call(method: string, path: string, body?: unknown): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.cookie) headers.cookie = this.cookie;
    if (this.csrf && method !== 'GET') headers['x-csrf-token'] = this.csrf;
    const res = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    for (const c of res.headers.getSetCookie()) this.cookie = c.split(';')[0];
    const text = await res.text();
    const parsed = text ? JSON.parse(text) : null;
    if (parsed?.csrf_token) this.csrf = parsed.csrf_token;
    return { status: res.status, body: parsed };
  }
}

type Action = { name: string; call: (s: Caller, path: string) => Promise<Reply>; changed: (before: Reply['body'], after: Reply['body']) => boolean };
type Caller = { call: (method: string, path: string, body?: unknown) => Promise<Reply> };

const ACTIONS: Action[] = [
  { name: 'rename', call: (s, p) => s.call('POST', p, { name: 'taken over' }), changed: (_b, a) => a.name === 'taken over' },
  {
    name: 'change rate limits',
    call: (s, p) => s.call('POST', p, { rate_limits: { max_requests_per_1_minute: 100000 } }),
    changed: (_b, a) => a.rate_limits?.max_requests_per_1_minute === 100000,
  },
  { name: 'clear the spend limit', call: (s, p) => s.call('POST', p, { spend_limit: null }), changed: (_b, a) => a.spend_limit === null },
  { name: 'clear the request quota', call: (s, p) => s.call('POST', p, { request_quota: null }), changed: (_b, a) => a.request_quota === null },
  { name: 'rotate', call: (s, p) => s.call('POST', `${p}/rotate`, { grace_period_seconds: 0 }), changed: (b, a) => a.redacted_value !== b.redacted_value },
  { name: 'revoke', call: (s, p) => s.call('DELETE', p), changed: (_b, a) => a.status === 'revoked' },
];

describeEachDatabase('who manages which project keys', (backend) => {
  let t: TestServer;
  let project: string;
  const sessions: Record<string, Session> = {};
  const userIds: Record<string, string> = {};
  let serviceAccount: string;

  async function join(email: string, projectRole: 'owner' | 'member' | 'reader') {
    // An invitation grants project roles member or owner only (OpenAI's Invite object); readers are added once joined.
    const invited = projectRole === 'reader' ? [] : [{ id: project, role: projectRole }];
    const inv = await sessions.owner.call('POST', `${ORG}/invites`, { email, role: 'reader', projects: invited });
    expect(inv.status).toBe(200);
    const token = new URL(inv.body.accept_url.replace('/#/', '/')).searchParams.get('token');
    const s = new Session(t.url);
    const res = await s.call('POST', '/auth/signup', { email, password: `${email} has a long password`, invite_token: token });
    expect(res.status).toBe(200);
    if (projectRole === 'reader') {
      const added = await sessions.owner.call('POST', `${ORG}/projects/${project}/users`, { user_id: res.body.user.id, role: 'reader' });
      expect(added.status).toBe(200);
    }
    return { session: s, id: res.body.user.id as string };
  }

  beforeAll(async () => {
    t = await startTestServer(backend);
    project = t.defaultProjectId;
    sessions.owner = new Session(t.url);
    const owner = await sessions.owner.call('POST', '/auth/signup', { email: 'owner@example.com', password: 'the owner passphrase', setup_token: t.setupToken });
    expect(owner.status).toBe(200);
    userIds.owner = owner.body.user.id;
    for (const [who, role] of [
      ['alice', 'member'],
      ['bob', 'member'],
      ['carol', 'owner'],
      ['dave', 'reader'],
    ] as const) {
      const joined = await join(`${who}@example.com`, role);
      sessions[who] = joined.session;
      userIds[who] = joined.id;
    }
    serviceAccount = (await t.api('POST', `${ORG}/projects/${project}/service_accounts`, { body: { name: 'deploy' } })).body.id;
  });
  afterAll(async () => t?.close());

  /** A fresh active key with limits, owned by a user or the service account (created with the admin key). */
  async function keyOwnedBy(owner: string): Promise<string> {
    const res = await t.api('POST', `${ORG}/projects/${project}/api_keys`, {
      body: {
        name: `${owner}'s key`,
        owner: owner === 'service account' ? { type: 'service_account', id: serviceAccount } : { type: 'user', id: userIds[owner] },
        rate_limits: { max_requests_per_1_minute: 10 },
        spend_limit: { threshold_amount: 500 },
        request_quota: { max_requests: 100, interval: 'month' },
      },
    });
    expect(res.status).toBe(200);
    return res.body.id;
  }

  const auditOf = async (keyId: string) =>
    (await t.server.runtime.database.db.selectFrom('audit_logs').select('type').where('object_id', '=', keyId).execute()).map((r) => r.type);

  // Who may act on a key owned by whom.
  const CASES: Array<{ actor: string; owner: string; allowed: boolean }> = [
    { actor: 'alice', owner: 'alice', allowed: true },
    { actor: 'alice', owner: 'bob', allowed: false },
    { actor: 'alice', owner: 'owner', allowed: false },
    { actor: 'alice', owner: 'service account', allowed: false },
    { actor: 'dave', owner: 'dave', allowed: false },
    { actor: 'carol', owner: 'alice', allowed: true },
    { actor: 'carol', owner: 'service account', allowed: true },
    { actor: 'owner', owner: 'bob', allowed: true },
    { actor: 'owner', owner: 'service account', allowed: true },
  ];

  for (const { actor, owner, allowed } of CASES) {
    describe(`${actor} (${actor === 'owner' ? 'organization owner' : { alice: 'member', carol: 'project owner', dave: 'reader' }[actor]}) on ${owner}'s key`, () => {
      for (const action of ACTIONS) {
        it(`${allowed ? 'may' : 'may not'} ${action.name}`, async () => {
          const keyId = await keyOwnedBy(owner);
          const path = `${ORG}/projects/${project}/api_keys/${keyId}`;
          const before = (await t.api('GET', path)).body;
          const res = await action.call(sessions[actor], path);
          const after = (await t.api('GET', `${path}?include_revoked=true`)).body;
          if (allowed) {
            expect(res.status, JSON.stringify(res.body)).toBe(200);
            expect(action.changed(before, after)).toBe(true);
            return;
          }
          expect(res.status).toBe(403);
          expect(res.body.error).toMatchObject({ code: 'insufficient_permissions', type: 'invalid_request_error' });
          expect(res.body).not.toHaveProperty('value');
          expect(after).toEqual(before);
          expect(await auditOf(keyId)).toEqual(['api_key.created']);
        });
      }
    });
  }

  it('a member creates keys only for themself; a project owner also for the service account', async () => {
    const base = `${ORG}/projects/${project}/api_keys`;
    const mine = await sessions.alice.call('POST', base, { name: 'mine' });
    expect(mine.status).toBe(200);
    expect(mine.body.owner).toMatchObject({ type: 'user' });
    const forService = await sessions.alice.call('POST', base, { name: 'svc', owner: { type: 'service_account', id: serviceAccount } });
    expect(forService.status).toBe(403);
    expect(forService.body.error.code).toBe('insufficient_permissions');
    const forBob = await sessions.alice.call('POST', base, { name: 'bob', owner: { type: 'user', id: userIds.bob } });
    expect(forBob.status).toBe(403);
    const byCarol = await sessions.carol.call('POST', base, { name: 'svc', owner: { type: 'service_account', id: serviceAccount } });
    expect(byCarol.status).toBe(200);
    expect(byCarol.body.owner).toMatchObject({ type: 'service_account' });
  });

  it("a service account's new key: one rule whichever route makes it (a project owner may, a member or reader may not)", async () => {
    const expected: Record<string, number> = { owner: 200, carol: 200, alice: 403, dave: 403 };
    for (const [who, status] of Object.entries(expected)) {
      const viaKeys = await sessions[who].call('POST', `${ORG}/projects/${project}/api_keys`, {
        name: `${who} svc`,
        owner: { type: 'service_account', id: serviceAccount },
      });
      const viaAccount = await sessions[who].call('POST', `${ORG}/projects/${project}/service_accounts/${serviceAccount}/api_keys`, { name: `${who} svc` });
      expect([who, viaKeys.status, viaAccount.status]).toEqual([who, status, status]);
      if (status === 200) {
        expect(viaAccount.body.value).toMatch(/^sk-tg-/);
        expect((await t.api('GET', `${ORG}/projects/${project}/api_keys/${viaAccount.body.id}`)).body.owner).toMatchObject({ type: 'service_account' });
      } else {
        expect(viaAccount.body.error.message).toBe(viaKeys.body.error.message);
        expect(viaAccount.body).not.toHaveProperty('value');
      }
    }
  });

  it('an admin key manages every key', async () => {
    for (const owner of ['alice', 'service account']) {
      for (const action of ACTIONS) {
        const keyId = await keyOwnedBy(owner);
        const path = `${ORG}/projects/${project}/api_keys/${keyId}`;
        const before = (await t.api('GET', path)).body;
        const res = await action.call({ call: (method, p, body) => t.api(method, p, { body }) }, path);
        expect(res.status, `${owner} ${action.name}`).toBe(200);
        expect(action.changed(before, (await t.api('GET', `${path}?include_revoked=true`)).body)).toBe(true);
      }
    }
  });
});
