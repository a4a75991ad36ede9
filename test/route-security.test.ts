import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../src/core/api-routes.js';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Every route the server registers, tried with every kind of caller that must be refused (in the style of Unkey's
// common route tests). The route list is read from the running server, so a route added later is covered at once;
// a route outside the classification below fails the suite until someone decides who may call it.

const ORG = '/v1/organization';
const METRICS_TOKEN = 'metrics-token-for-the-route-security-suite';

// Failed authentications are throttled per source address (429 after a few): each refused call here comes from its
// own address, through the proxy the server trusts, so every route is judged on its own answer, not the throttle's.
let nextAddress = 0;
const freshAddress = () => {
  nextAddress++;
  return { 'x-forwarded-for': `10.${(nextAddress >> 16) & 255}.${(nextAddress >> 8) & 255}.${nextAddress & 255}` };
};

/** Routes anyone may call (they authenticate by their own means, or serve the sign-in flow and static assets). */
const PUBLIC = new Set([
  'GET /',
  'GET /healthz',
  'GET /readyz',
  'GET /auth/status',
  'POST /auth/signup',
  'POST /auth/login',
  'POST /auth/logout',
  'POST /auth/invites/lookup',
  'GET /index.html',
  'GET /favicon.svg',
]);
/** Routes that need a dashboard session (no admin key), refused without one. */
const SESSION_ONLY = new Set([
  'GET /auth/me',
  'POST /auth/password',
  'GET /auth/dashboard/instance',
  'GET /auth/dashboard/projects/:project_id/api_keys',
  'GET /auth/dashboard/names',
  'GET /auth/dashboard/refusals',
  'GET /auth/dashboard/budgets',
]);
/** Routes with their own credential, tried separately below. */
const OWN_CREDENTIAL = new Set(['GET /metrics', 'POST /v1/secret-scanning/reports']);
/** Routes an organization member without the owner role may not even read. */
const OWNER_ONLY_READS = [`${ORG}/audit_logs`, `${ORG}/admin_api_keys`, `${ORG}/invites`, `${ORG}/providers`, `${ORG}/webhooks`];
/** The writes a project owner or member may make in their own project (docs/deployment.md, roles). */
const KEYS = `${ORG}/projects/:project_id/api_keys`;
const PROJECT_KEY_WRITES = new Set([
  `POST ${KEYS}`,
  `POST ${KEYS}/:key_id`,
  `DELETE ${KEYS}/:key_id`,
  `POST ${KEYS}/:key_id/rotate`,
  `POST ${KEYS}/:key_id/end_grace`,
  `POST ${ORG}/projects/:project_id/service_accounts/:service_account_id/api_keys`,
]);

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  body: any;
  headers: Headers;
}

/** A signed-in browser: session cookie and CSRF token. */
class Browser {
  cookie: string | null = null;
  csrf: string | null = null;
  constructor(private readonly base: string) {}

  async call(method: string, path: string, body?: unknown, o: { csrf?: boolean } = {}): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.cookie) headers.cookie = this.cookie;
    if (this.csrf && o.csrf !== false && method !== 'GET') headers['x-csrf-token'] = this.csrf;
    const res = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    for (const c of res.headers.getSetCookie()) this.cookie = c.split(';')[0];
    const text = await res.text();
    const parsed = text ? JSON.parse(text) : null;
    if (parsed?.csrf_token) this.csrf = parsed.csrf_token;
    return { status: res.status, body: parsed, headers: res.headers };
  }
}

describeEachDatabase('route security', (backend) => {
  let t: TestServer;
  let routes: Array<{ method: string; url: string }>;
  let projectKey: string;
  let revokedAdminKey: string;
  let owner: Browser;
  let reader: Browser;
  let member: Browser;
  let projectOwner: Browser;
  let projectReader: Browser;
  let otherProject: string;

  /** A concrete path for a route pattern: the default project for :project_id, an id nobody has for the rest. */
  const pathOf = (url: string, projectId = t.defaultProjectId) =>
    url.replace(':project_id', projectId).replace(/:([a-z_]+)/g, (_m, name: string) => `${name.replace(/_id$/, '')}_doesnotexist`);

  /** Writes that took effect leave an audit entry; refused calls must leave none (nothing half-written). */
  const auditCount = async () =>
    Number(
      (
        await t.server.runtime.database.db
          .selectFrom('audit_logs')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('type', 'not in', ['admin_api_key.used', 'login.succeeded', 'login.failed'])
          .executeTakeFirstOrThrow()
      ).n,
    );

  async function join(email: string, role: 'reader', projects: Array<{ id: string; role: string }>): Promise<Browser> {
    const inv = await owner.call('POST', `${ORG}/invites`, { email, role, projects });
    expect(inv.status).toBe(200);
    const token = new URL(inv.body.accept_url.replace('/#/', '/')).searchParams.get('token');
    const b = new Browser(t.url);
    expect((await b.call('POST', '/auth/signup', { email, password: 'a long member passphrase', invite_token: token })).status).toBe(200);
    return b;
  }

  beforeAll(async () => {
    t = await startTestServer(backend, { env: { TOLLGATE_METRICS_TOKEN: METRICS_TOKEN, TOLLGATE_TRUST_PROXY: '127.0.0.1' } });
    routes = [...t.server.app.routeTable];
    const key = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'ordinary' } });
    projectKey = key.body.value;
    const admin = await t.api('POST', `${ORG}/admin_api_keys`, { body: { name: 'to-revoke' } });
    revokedAdminKey = admin.body.value;
    expect((await t.api('DELETE', `${ORG}/admin_api_keys/${admin.body.id}`)).status).toBe(200);
    otherProject = (await t.api('POST', `${ORG}/projects`, { body: { name: 'Other' } })).body.id;
    owner = new Browser(t.url);
    expect((await owner.call('POST', '/auth/signup', { email: 'owner@example.com', password: 'correct horse battery', setup_token: t.setupToken })).status).toBe(200);
    reader = await join('reader@example.com', 'reader', []);
    member = await join('member@example.com', 'reader', [{ id: t.defaultProjectId, role: 'member' }]);
    projectOwner = await join('project-owner@example.com', 'reader', [{ id: t.defaultProjectId, role: 'owner' }]);
    // An invitation gives project roles member or owner only: a project reader is added once joined.
    projectReader = await join('project-reader@example.com', 'reader', []);
    const readerId = (await projectReader.call('GET', '/auth/me')).body.user.id;
    const added = await owner.call('POST', `${ORG}/projects/${t.defaultProjectId}/users`, { user_id: readerId, role: 'reader' });
    expect(added.status).toBe(200);
  });
  afterAll(async () => t?.close());

  it('knows who may call every route the server registers', () => {
    const admin = routes.filter((r) => r.url.startsWith(`${ORG}/`) || r.url === ORG);
    expect(admin.length).toBeGreaterThan(30);
    const unclassified = routes
      .map((r) => `${r.method} ${r.url}`)
      .filter((r) => !PUBLIC.has(r) && !SESSION_ONLY.has(r) && !OWN_CREDENTIAL.has(r))
      .filter((r) => !r.split(' ')[1].startsWith(`${ORG}/`))
      .filter((r) => !/^GET \/assets\//.test(r));
    expect(unclassified).toEqual([]);
  });

  it('refuses every admin route without credentials, with a bad key, a revoked admin key and a project key, and changes nothing', async () => {
    const before = await auditCount();
    const admin = routes.filter((r) => r.url.startsWith(`${ORG}/`));
    const callers: Array<[string, Record<string, string>, number]> = [
      ['no credentials', {}, 401],
      ['a malformed key', { authorization: 'Bearer sk-tg-admin-not-a-real-key' }, 401],
      ['a revoked admin key', { authorization: `Bearer ${revokedAdminKey}` }, 401],
      ['a revoked admin key in api-key', { 'api-key': revokedAdminKey }, 401],
      ['a project key', { authorization: `Bearer ${projectKey}` }, 403],
      ['a project key in api-key', { 'api-key': projectKey }, 403],
      ['the admin key as Basic', { authorization: `Basic ${Buffer.from(`x:${t.adminKey}`).toString('base64')}` }, 401],
    ];
    const wrong: string[] = [];
    for (const route of admin) {
      for (const [who, headers, status] of callers) {
        const res = await fetch(t.url + pathOf(route.url), {
          method: route.method,
          headers: { ...freshAddress(), ...headers, ...(route.method === 'GET' ? {} : { 'content-type': 'application/json' }) },
          body: route.method === 'GET' ? undefined : JSON.stringify({ name: 'x' }),
        });
        const body = await res.json().catch(() => null);
        if (res.status !== status || typeof body?.error?.message !== 'string') wrong.push(`${who}: ${route.method} ${route.url} → ${res.status}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(await auditCount()).toBe(before);
  });

  it("keeps every admin and session answer out of caches (cache-control: no-store), the owner's reads and every refusal", async () => {
    // Each route under /v1/organization and /auth answers the organization's own data (keys, people, invitations, the
    // signed-in user and their CSRF token): the invitations' reads, served outside the admin API's hook, had no header.
    const wrong: string[] = [];
    const answered = routes.filter((r) => r.url.startsWith(`${ORG}/`) || r.url.startsWith('/auth/'));
    expect(answered.map((r) => `${r.method} ${r.url}`)).toContain(`GET ${ORG}/invites/:invite_id`);
    for (const route of answered) {
      const path = pathOf(route.url);
      const answers: Array<{ status: number; headers: Headers }> = [await fetch(t.url + path, { method: route.method, headers: freshAddress() })];
      if (route.method === 'GET') answers.push(await owner.call('GET', path));
      for (const res of answers) {
        if (res.headers.get('cache-control') !== 'no-store') wrong.push(`${route.method} ${route.url} → ${res.status} ${res.headers.get('cache-control')}`);
      }
    }
    const invite = await owner.call('POST', `${ORG}/invites`, { email: 'cached@example.com', role: 'reader' });
    for (const path of [`${ORG}/invites`, `${ORG}/invites/${invite.body.id}`, '/auth/me']) {
      const res = await owner.call('GET', path);
      if (res.status !== 200 || res.headers.get('cache-control') !== 'no-store') wrong.push(`GET ${path} (owner) → ${res.status} ${res.headers.get('cache-control')}`);
    }
    expect(wrong).toEqual([]);
  });

  it('refuses session writes without the CSRF token, for every admin write route, even for the owner', async () => {
    const before = await auditCount();
    const wrong: string[] = [];
    for (const route of routes.filter((r) => r.url.startsWith(`${ORG}/`) && r.method !== 'GET')) {
      const res = await owner.call(route.method, pathOf(route.url), { name: 'x' }, { csrf: false });
      if (res.status !== 403 || res.body?.error?.code !== 'csrf_failed') wrong.push(`${route.method} ${route.url} → ${res.status}`);
    }
    expect(wrong).toEqual([]);
    expect(await auditCount()).toBe(before);
  });

  it('lets an organization reader read, but not the owner-only areas, and write nothing', async () => {
    const before = await auditCount();
    const wrong: string[] = [];
    for (const route of routes.filter((r) => r.url.startsWith(`${ORG}/`))) {
      const ownerOnly = OWNER_ONLY_READS.some((p) => route.url === p || route.url.startsWith(`${p}/`));
      const res = await reader.call(route.method, pathOf(route.url), route.method === 'GET' ? undefined : { name: 'x' });
      const refused = res.status === 403 && typeof res.body?.error?.message === 'string';
      if ((route.method !== 'GET' || ownerOnly) !== refused) wrong.push(`${route.method} ${route.url} → ${res.status}`);
    }
    expect(wrong).toEqual([]);
    expect(await auditCount()).toBe(before);
  });

  // Organization readers with a role in the default project: what that role adds, and nothing more, on every route.
  const PROJECT_ROLES: Array<[string, () => Browser, boolean]> = [
    ['a project owner', () => projectOwner, true],
    ['a project member', () => member, true],
    ['a project reader', () => projectReader, false],
  ];
  for (const [who, browser, writesKeys] of PROJECT_ROLES) {
    it(`lets ${who} read what an organization reader reads${writesKeys ? ", and write only its own project's keys" : ', and write nothing'}`, async () => {
      const before = await auditCount();
      const wrong: string[] = [];
      for (const route of routes.filter((r) => r.url.startsWith(`${ORG}/`))) {
        if (route.method === 'GET') {
          const ownerOnly = OWNER_ONLY_READS.some((p) => route.url === p || route.url.startsWith(`${p}/`));
          const res = await browser().call('GET', pathOf(route.url));
          if ((res.status === 403) !== ownerOnly) wrong.push(`GET ${route.url} → ${res.status}`);
          continue;
        }
        const keyWrite = writesKeys && PROJECT_KEY_WRITES.has(`${route.method} ${route.url}`);
        for (const [path, own] of [
          [pathOf(route.url), true],
          [pathOf(route.url, otherProject), false],
        ] as const) {
          // A body no route takes: a write the role allows gets past the role check and is refused for its input
          // (400) or its missing object (404), so nothing is created; one the role forbids is 403.
          const res = await browser().call(route.method, path, { not_a_parameter: true });
          const allowed = keyWrite && own;
          const ok = allowed ? res.status === 400 || res.status === 404 : res.status === 403 && typeof res.body?.error?.message === 'string';
          if (!ok) wrong.push(`${route.method} ${path} → ${res.status}`);
        }
      }
      expect(wrong).toEqual([]);
      expect(await auditCount()).toBe(before);
    });
  }

  it('refuses the session-only routes without a session, and the metrics and secret-scanning routes without their own credential', async () => {
    for (const r of SESSION_ONLY) {
      const [method, path] = r.split(' ');
      for (const headers of [{}, { authorization: `Bearer ${t.adminKey}` }] as Array<Record<string, string>>) {
        const res = await fetch(t.url + path, { method, headers: { ...freshAddress(), ...headers, 'content-type': 'application/json' }, body: method === 'GET' ? undefined : '{}' });
        expect(res.status, `${r} with ${Object.keys(headers).join() || 'nothing'}`).toBe(401);
      }
    }
    for (const headers of [{}, { authorization: `Bearer ${t.adminKey}` }, { authorization: 'Bearer wrong' }] as Array<Record<string, string>>) {
      expect((await fetch(`${t.url}/metrics`, { headers: { ...freshAddress(), ...headers } })).status).toBe(401);
    }
    expect((await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);
    const report = await fetch(`${t.url}/v1/secret-scanning/reports`, {
      method: 'POST',
      headers: { ...freshAddress(), 'content-type': 'application/json' },
      body: JSON.stringify([{ token: projectKey, type: 'tollgate_api_key', url: 'https://example.com', source: 'content' }]),
    });
    expect([400, 401]).toContain(report.status);
    // The unsigned report disabled nothing: the key still works.
    expect((await fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${projectKey}` } })).status).toBe(200);
  });

  describe('the gateway', () => {
    it('refuses every data-plane route without a key, with a bad one, and with an admin key (admin keys are not for the data plane)', async () => {
      const wrong: string[] = [];
      const callers: Array<[string, Record<string, string>]> = [
        ['no credentials', {}],
        ['a malformed key', { authorization: 'Bearer sk-tg-proj-not-a-real-key' }],
        ['an admin key', { authorization: `Bearer ${t.adminKey}` }],
        ['a revoked admin key', { authorization: `Bearer ${revokedAdminKey}` }],
      ];
      // One template at a time, its twelve calls at once (1,200 calls in all).
      for (const template of API_ROUTES) {
        const path = `/v1${template.replace(/\{[a-z_]+\}/g, 'x1')}`;
        const calls = ['GET', 'POST', 'DELETE'].flatMap((method) =>
          callers.map(async ([who, headers]) => {
            const res = await fetch(t.url + path, {
              method,
              headers: { ...freshAddress(), ...headers, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
              body: method === 'POST' ? JSON.stringify({ model: 'tollgate-echo', input: 'x', messages: [{ role: 'user', content: 'x' }] }) : undefined,
            });
            const body = await res.json().catch(() => null);
            if (![401, 403].includes(res.status) || typeof body?.error?.message !== 'string') wrong.push(`${who}: ${method} ${path} → ${res.status}`);
          }),
        );
        await Promise.all(calls);
      }
      expect(wrong).toEqual([]);
    });
  });
});
