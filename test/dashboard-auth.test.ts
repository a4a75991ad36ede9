import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDashboardStatic } from '../src/http/dashboard/static.js';
import { installErrorHandling } from '../src/http/shared/errors.js';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

const ORG = '/v1/organization';
const OWNER = { email: 'owner@example.com', password: 'correct horse battery', name: 'Olive Owner' };
const OWNER_LOGIN = { email: OWNER.email, password: OWNER.password };

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  body: any;
  text: string;
  headers: Headers;
}

/** A browser stand-in: keeps the session cookie and the CSRF token like the dashboard does. */
class Browser {
  cookie: string | null = null;
  csrf: string | null = null;
  lastSetCookie: string[] = [];
  constructor(private readonly base: string) {}

  async call(method: string, path: string, body?: unknown, opts: { csrf?: string | null; headers?: Record<string, string> } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.cookie) headers.cookie = this.cookie;
    const csrf = opts.csrf === undefined ? this.csrf : opts.csrf;
    if (csrf && method !== 'GET') headers['x-csrf-token'] = csrf;
    const res = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    this.lastSetCookie = res.headers.getSetCookie();
    for (const c of this.lastSetCookie) {
      const pair = c.split(';')[0];
      this.cookie = pair.endsWith('=') ? null : pair;
    }
    const text = await res.text();
    const parsed = text ? JSON.parse(text) : null;
    if (parsed?.csrf_token) this.csrf = parsed.csrf_token;
    return { status: res.status, body: parsed, text, headers: res.headers };
  }
}

async function auditRows(t: TestServer, type?: string) {
  let q = t.server.runtime.database.db.selectFrom('audit_logs').selectAll().orderBy('seq');
  if (type) q = q.where('type', '=', type);
  return q.execute();
}

describeEachDatabase('dashboard session API', (backend) => {
  let t: TestServer;
  const owner = () => new Browser(t.url);
  let ownerBrowser: Browser;
  const passwordsUsed = new Set<string>([OWNER.password]);

  beforeAll(async () => {
    t = await startTestServer(backend, { productionPasswords: true });
  });
  afterAll(async () => t?.close());

  async function invite(email: string, role: 'owner' | 'reader', projects?: Array<{ id: string; role: string }>) {
    const res = await ownerBrowser.call('POST', `${ORG}/invites`, { email, role, ...(projects ? { projects } : {}) });
    expect(res.status).toBe(200);
    return res.body;
  }

  async function join(email: string, role: 'owner' | 'reader', projects?: Array<{ id: string; role: string }>, password = 'member password 1') {
    passwordsUsed.add(password);
    const inv = await invite(email, role, projects);
    const token = new URL(inv.accept_url.replace('/#/', '/')).searchParams.get('token');
    const b = new Browser(t.url);
    const res = await b.call('POST', '/auth/signup', { email, password, invite_token: token });
    expect(res.status).toBe(200);
    return b;
  }

  describe('happy path', () => {
    it('the first sign-up becomes the organization owner and is signed in at once', async () => {
      const status = await owner().call('GET', '/auth/status');
      expect(status.body).toEqual({ object: 'dashboard.status', owner_signup_open: true });

      ownerBrowser = owner();
      const res = await ownerBrowser.call('POST', '/auth/signup', { ...OWNER, setup_token: t.setupToken });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        object: 'dashboard.session',
        role: 'owner',
        user: { email: OWNER.email, name: OWNER.name, role: 'owner' },
        organization: { id: t.orgId },
      });
      expect(res.body.user.id).toMatch(/^user-/);
      expect(res.body.csrf_token).toEqual(expect.any(String));
      expect(ownerBrowser.cookie).toMatch(/^tollgate_session=/);

      const me = await ownerBrowser.call('GET', '/auth/me');
      expect(me.status).toBe(200);
      expect(me.body.user.email).toBe(OWNER.email);
      expect(me.headers.get('cache-control')).toBe('no-store');
      expect((await owner().call('GET', '/auth/status')).body.owner_signup_open).toBe(false);

      // The session works on the admin API, and its writes are attributed to the user.
      const created = await ownerBrowser.call('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { name: 'from-session' });
      expect(created.status).toBe(200);
      expect(created.body.created_by).toEqual({ type: 'user', id: res.body.user.id });
      expect(created.body.owner.type).toBe('user');
    });

    it('sets the session cookie HttpOnly, SameSite=Lax, Path=/, and not Secure over plain HTTP', async () => {
      const b = owner();
      await b.call('POST', '/auth/login', { email: OWNER.email, password: OWNER.password });
      const cookie = b.lastSetCookie.find((c) => c.startsWith('tollgate_session='));
      expect(cookie).toBeDefined();
      expect(cookie).toMatch(/;\s*HttpOnly/i);
      expect(cookie).toMatch(/;\s*SameSite=Lax/i);
      expect(cookie).toMatch(/;\s*Path=\//i);
      expect(cookie).not.toMatch(/;\s*Secure/i);
      // An untrusted X-Forwarded-Proto is ignored.
      const spoofed = owner();
      await spoofed.call('POST', '/auth/login', { email: OWNER.email, password: OWNER.password }, { headers: { 'x-forwarded-proto': 'https' } });
      expect(spoofed.lastSetCookie.join('\n')).not.toMatch(/Secure/i);
    });

    it('stores passwords as Argon2id hashes', async () => {
      const row = await t.server.runtime.database.db.selectFrom('users').select('password_hash').where('email', '=', OWNER.email).executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    });

    it('invites, and the invitee accepts by link and joins with the invited role and projects', async () => {
      const inv = await invite('Bob@Example.com', 'reader', [{ id: t.defaultProjectId, role: 'member' }]);
      expect(inv).toMatchObject({ object: 'organization.invite', email: 'bob@example.com', role: 'reader', status: 'pending', accepted_at: null });
      expect(inv.id).toMatch(/^invite-/);
      expect(inv.expires_at - inv.invited_at).toBe(7 * 24 * 3600);
      expect(inv.accept_url).toMatch(new RegExp(`^${t.url}/#/accept\\?token=[A-Za-z0-9_-]{43}$`));
      const token = new URL(inv.accept_url.replace('/#/', '/')).searchParams.get('token') as string;

      const list = await ownerBrowser.call('GET', `${ORG}/invites`);
      expect(list.status).toBe(200);
      expect(list.body.data.map((i: { id: string }) => i.id)).toContain(inv.id);
      expect(list.text).not.toContain(token);
      const stored = await t.server.runtime.database.db.selectFrom('invites').selectAll().execute();
      expect(JSON.stringify(stored)).not.toContain(token);

      const lookup = await new Browser(t.url).call('POST', '/auth/invites/lookup', { token });
      expect(lookup.body).toMatchObject({ email: 'bob@example.com', role: 'reader', organization: { id: t.orgId } });
      expect(lookup.body.projects).toEqual([{ id: t.defaultProjectId, name: 'Default project', role: 'member' }]);
      expect((await new Browser(t.url).call('POST', '/auth/invites/lookup', { token: 'x'.repeat(43) })).status).toBe(404);

      const wrongEmail = await new Browser(t.url).call('POST', '/auth/signup', { email: 'eve@example.com', password: 'whatever123', invite_token: token });
      expect(wrongEmail.status).toBe(400);
      expect(wrongEmail.body.error.param).toBe('email');

      const bob = new Browser(t.url);
      passwordsUsed.add('bob password 1');
      const res = await bob.call('POST', '/auth/signup', { email: 'bob@example.com', password: 'bob password 1', name: 'Bob', invite_token: token });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ role: 'reader', user: { email: 'bob@example.com', name: 'Bob' } });
      expect(res.body.projects).toEqual([{ id: t.defaultProjectId, name: 'Default project', role: 'member' }]);

      const again = await new Browser(t.url).call('POST', '/auth/signup', { email: 'bob@example.com', password: 'bob password 1', invite_token: token });
      expect(again.status).toBe(400);
      expect(again.body.error.param).toBe('invite_token');

      const after = await ownerBrowser.call('GET', `${ORG}/invites`);
      expect(after.body.data.find((i: { id: string }) => i.id === inv.id).status).toBe('accepted');
      const types = (await auditRows(t)).map((r) => r.type);
      for (const type of ['invite.sent', 'invite.accepted', 'user.added', 'project.user.added']) expect(types).toContain(type);
    });

    it('withdraws an invite, after which its link no longer works', async () => {
      const inv = await invite('gone@example.com', 'reader');
      const token = new URL(inv.accept_url.replace('/#/', '/')).searchParams.get('token');
      const del = await ownerBrowser.call('DELETE', `${ORG}/invites/${inv.id}`);
      expect(del.body).toEqual({ object: 'organization.invite.deleted', id: inv.id, deleted: true });
      const res = await new Browser(t.url).call('POST', '/auth/signup', { email: 'gone@example.com', password: 'whatever123', invite_token: token });
      expect(res.status).toBe(400);
    });

    it('accepts invites from an admin key too', async () => {
      const res = await t.api('POST', `${ORG}/invites`, { body: { email: 'viakey@example.com', role: 'owner' } });
      expect(res.status).toBe(200);
      expect(res.body.role).toBe('owner');
      expect((await t.api('GET', `${ORG}/invites`)).status).toBe(200);
    });

    it('logout ends the session everywhere it was used', async () => {
      const b = owner();
      await b.call('POST', '/auth/login', { email: OWNER.email, password: OWNER.password });
      const cookie = b.cookie;
      expect((await b.call('GET', `${ORG}/projects`)).status).toBe(200);
      const out = await b.call('POST', '/auth/logout');
      expect(out.status).toBe(200);
      expect(b.lastSetCookie[0]).toMatch(/Max-Age=0/);
      const stale = new Browser(t.url);
      stale.cookie = cookie;
      expect((await stale.call('GET', '/auth/me')).status).toBe(401);
      const admin = await stale.call('GET', `${ORG}/projects`);
      expect(admin.status).toBe(401);
      expect(admin.body.error.code).toBe('invalid_session');
      expect((await auditRows(t, 'logout.succeeded')).length).toBeGreaterThan(0);
    });

    it('rotates the session id at login (no fixation)', async () => {
      const b = owner();
      await b.call('POST', '/auth/login', { email: OWNER.email, password: OWNER.password });
      const first = b.cookie;
      await b.call('POST', '/auth/login', { email: OWNER.email, password: OWNER.password });
      expect(b.cookie).not.toBe(first);
      const old = new Browser(t.url);
      old.cookie = first;
      expect((await old.call('GET', '/auth/me')).status).toBe(401);
      expect((await b.call('GET', '/auth/me')).status).toBe(200);
    });

    it('changes the password: the old one stops working and other sessions end', async () => {
      const dave = await join('dave@example.com', 'reader', undefined, 'dave old password');
      const other = new Browser(t.url);
      await other.call('POST', '/auth/login', { email: 'dave@example.com', password: 'dave old password' });

      const wrong = await dave.call('POST', '/auth/password', { current_password: 'not it at all', new_password: 'dave new password' });
      expect(wrong.status).toBe(400);
      expect(wrong.body.error.param).toBe('current_password');
      const short = await dave.call('POST', '/auth/password', { current_password: 'dave old password', new_password: 'short' });
      expect(short.status).toBe(400);
      expect(short.body.error.param).toBe('new_password');
      const noCsrf = await dave.call('POST', '/auth/password', { current_password: 'dave old password', new_password: 'dave new password' }, { csrf: null });
      expect(noCsrf.status).toBe(403);

      passwordsUsed.add('dave new password');
      const ok = await dave.call('POST', '/auth/password', { current_password: 'dave old password', new_password: 'dave new password' });
      expect(ok.status).toBe(200);
      expect((await dave.call('GET', '/auth/me')).status).toBe(200);
      expect((await other.call('GET', '/auth/me')).status).toBe(401);
      expect((await new Browser(t.url).call('POST', '/auth/login', { email: 'dave@example.com', password: 'dave old password' })).status).toBe(401);
      expect((await new Browser(t.url).call('POST', '/auth/login', { email: 'dave@example.com', password: 'dave new password' })).status).toBe(200);
      expect((await auditRows(t, 'user.password_changed')).length).toBe(1);
    });
  });

  describe('errors', () => {
    it('refuses a second sign-up without an invitation', async () => {
      const res = await new Browser(t.url).call('POST', '/auth/signup', { email: 'mallory@example.com', password: 'mallory password' });
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({ code: 'insufficient_permissions', type: 'invalid_request_error' });
      expect(res.body.error.message).toMatch(/invitation/);
    });

    it('an invitation works for its own email only, once, and never with the setup token or the wrong role', async () => {
      const inv = await invite('invitee-only@example.com', 'reader');
      const token = new URL(inv.accept_url.replace('/#/', '/')).searchParams.get('token');
      // Someone else holding the link cannot use it for their address.
      const other = await new Browser(t.url).call('POST', '/auth/signup', { email: 'mallory@example.com', password: 'mallory long password', invite_token: token });
      expect(other.status).toBe(400);
      expect(other.body.error.param).toBe('email');
      expect((await auditRows(t)).some((r) => r.type === 'user.added' && r.details.includes('mallory@example.com'))).toBe(false);
      // The invitee, once.
      const ok = await new Browser(t.url).call('POST', '/auth/signup', { email: 'Invitee-Only@Example.com', password: 'invitee long password', invite_token: token });
      expect(ok.status).toBe(200);
      expect(ok.body.role).toBe('reader');
      const again = await new Browser(t.url).call('POST', '/auth/signup', { email: 'invitee-only@example.com', password: 'invitee long password 2', invite_token: token });
      expect(again.status).toBe(400);
      expect(again.body.error.param).toBe('invite_token');
    });

    it('refuses short passwords at sign-up with the parameter named', async () => {
      const inv = await invite('shorty@example.com', 'reader');
      const token = new URL(inv.accept_url.replace('/#/', '/')).searchParams.get('token');
      const res = await new Browser(t.url).call('POST', '/auth/signup', { email: 'shorty@example.com', password: '1234567', invite_token: token });
      expect(res.status).toBe(400);
      expect(res.body.error.param).toBe('password');
    });

    it('a wrong password is a 401 and audited as login.failed with the email, never the password', async () => {
      const before = (await auditRows(t, 'login.failed')).length;
      passwordsUsed.add('wrong password 42');
      const res = await new Browser(t.url).call('POST', '/auth/login', { email: OWNER.email, password: 'wrong password 42' });
      expect(res.status).toBe(401);
      expect(res.body.error.message).toBe('Incorrect email or password.');
      const unknown = await new Browser(t.url).call('POST', '/auth/login', { email: 'nobody@example.com', password: 'wrong password 42' });
      expect(unknown.status).toBe(401);
      expect(unknown.body.error).toEqual(res.body.error);
      const rows = await auditRows(t, 'login.failed');
      expect(rows.length).toBe(before + 2);
      const viaApi = await t.api('GET', `${ORG}/audit_logs?event_types[]=login.failed`);
      expect(viaApi.body.data[1]['login.failed']).toMatchObject({ email: OWNER.email, error_code: 'invalid_credentials' });
    });

    it('throttles repeated failures for one email with 429 and Retry-After, even for the right password', async () => {
      await join('throttled@example.com', 'reader', undefined, 'throttled right password');
      const b = new Browser(t.url);
      for (let i = 0; i < 5; i++) {
        expect((await b.call('POST', '/auth/login', { email: 'throttled@example.com', password: `nope ${i} nope` })).status).toBe(401);
      }
      const locked = await b.call('POST', '/auth/login', { email: 'throttled@example.com', password: 'throttled right password' });
      expect(locked.status).toBe(429);
      expect(locked.body.error).toMatchObject({ code: 'too_many_attempts', type: 'rate_limit_error' });
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
      // Another email from the same address is not locked by this one.
      expect((await b.call('POST', '/auth/login', { email: OWNER.email, password: OWNER.password })).status).toBe(200);
    });

    it('refuses admin API writes with the cookie but without the CSRF token', async () => {
      const path = `${ORG}/projects/${t.defaultProjectId}/api_keys`;
      const missing = await ownerBrowser.call('POST', path, { name: 'csrf' }, { csrf: null });
      expect(missing.status).toBe(403);
      expect(missing.body.error.code).toBe('csrf_failed');
      const wrong = await ownerBrowser.call('POST', path, { name: 'csrf' }, { csrf: 'x'.repeat(43) });
      expect(wrong.status).toBe(403);
      const del = await ownerBrowser.call('POST', `${ORG}/projects`, { name: 'nope' }, { csrf: null });
      expect(del.body.error.code).toBe('csrf_failed');
      // Reads need no token.
      expect((await ownerBrowser.call('GET', path, undefined, { csrf: null })).status).toBe(200);
      expect((await ownerBrowser.call('POST', path, { name: 'csrf' })).status).toBe(200);
    });

    it('refuses invites to non-owners and to project keys', async () => {
      const reader = await join('reader2@example.com', 'reader');
      const res = await reader.call('POST', `${ORG}/invites`, { email: 'x@example.com', role: 'reader' });
      expect(res.status).toBe(403);
      expect((await reader.call('GET', `${ORG}/invites`)).status).toBe(403);
      const key = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'pk' } });
      expect((await t.api('GET', `${ORG}/invites`, { key: key.body.value })).status).toBe(403);
      expect((await t.api('GET', `${ORG}/invites`, { key: null })).status).toBe(401);
    });
  });

  describe('security: roles', () => {
    let otherProject: string;
    beforeAll(async () => {
      otherProject = (await t.api('POST', `${ORG}/projects`, { body: { name: 'Other' } })).body.id;
    });

    it('a reader reads but cannot create keys, projects or users', async () => {
      const reader = await join('reader@example.com', 'reader');
      expect((await reader.call('GET', `${ORG}/projects`)).status).toBe(200);
      expect((await reader.call('GET', `${ORG}/projects/${t.defaultProjectId}/api_keys`)).status).toBe(200);
      const create = await reader.call('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { name: 'nope' });
      expect(create.status).toBe(403);
      expect(create.body.error.code).toBe('insufficient_permissions');
      expect((await reader.call('POST', `${ORG}/projects`, { name: 'nope' })).status).toBe(403);
      expect((await reader.call('POST', `${ORG}/users`, { email: 'z@example.com' })).status).toBe(403);
      expect((await reader.call('GET', `${ORG}/audit_logs`)).status).toBe(403);
      expect((await reader.call('GET', `${ORG}/admin_api_keys`)).status).toBe(403);
    });

    it('a project member manages keys of their project only, and makes no org-level change', async () => {
      const member = await join('member@example.com', 'reader', [{ id: t.defaultProjectId, role: 'member' }]);
      const base = `${ORG}/projects/${t.defaultProjectId}/api_keys`;
      const created = await member.call('POST', base, { name: 'member-key' });
      expect(created.status).toBe(200);
      expect(created.body.owner.type).toBe('user');
      const id = created.body.id;
      const me = (await member.call('GET', '/auth/me')).body;
      const ownerId = (await ownerBrowser.call('GET', '/auth/me')).body.user.id;
      const forOther = await member.call('POST', base, { name: 'not-mine', owner: ownerId });
      expect(forOther.status).toBe(403);
      expect(forOther.body.error.param).toBe('owner');
      expect((await member.call('POST', base, { name: 'mine', owner: me.user.id })).status).toBe(200);
      expect((await member.call('POST', `${base}/${id}`, { name: 'renamed' })).status).toBe(200);
      expect((await member.call('POST', `${base}/${id}/rotate`, { grace_period_seconds: 0 })).status).toBe(200);
      expect((await member.call('DELETE', `${base}/${id}`)).status).toBe(200);

      expect((await member.call('POST', `${ORG}/projects/${otherProject}/api_keys`, { name: 'x' })).status).toBe(403);
      const archive = await member.call('POST', `${ORG}/projects/${t.defaultProjectId}/archive`);
      expect(archive.status).toBe(403);
      expect((await member.call('POST', `${ORG}/projects`, { name: 'x' })).status).toBe(403);
      expect((await member.call('POST', `${ORG}/admin_api_keys`, { name: 'x' })).status).toBe(403);
      expect((await member.call('POST', `${ORG}/projects/${t.defaultProjectId}/users`, { user_id: 'user-x', role: 'owner' })).status).toBe(403);
    });

    it('a project reader cannot create keys in it', async () => {
      // An invitation gives project roles member or owner (OpenAI's Invite object); a reader is added after joining.
      const refusedInvite = await ownerBrowser.call('POST', `${ORG}/invites`, { email: 'preader@example.com', role: 'reader', projects: [{ id: otherProject, role: 'reader' }] });
      expect(refusedInvite.status).toBe(400);
      expect(refusedInvite.body.error.param).toBe('projects.0.role');
      const preader = await join('preader@example.com', 'reader');
      const me = (await preader.call('GET', '/auth/me')).body;
      expect((await ownerBrowser.call('POST', `${ORG}/projects/${otherProject}/users`, { email: me.user.email, role: 'reader' })).status).toBe(200);
      expect((await preader.call('POST', `${ORG}/projects/${otherProject}/api_keys`, { name: 'x' })).status).toBe(403);
    });

    it('an owner invited as owner can do org-level changes', async () => {
      const second = await join('owner2@example.com', 'owner');
      expect((await second.call('POST', `${ORG}/projects`, { name: 'By second owner' })).status).toBe(200);
    });

    it('a removed user loses their session at once', async () => {
      const gone = await join('removed@example.com', 'reader');
      const me = (await gone.call('GET', '/auth/me')).body;
      expect((await t.api('DELETE', `${ORG}/users/${me.user.id}`)).status).toBe(200);
      expect((await gone.call('GET', `${ORG}/projects`)).status).toBe(401);
    });
  });

  describe('security: secrets', () => {
    it('no password appears in the audit log or the users table apart from its hash', async () => {
      const audit = JSON.stringify(await auditRows(t));
      const users = JSON.stringify(await t.server.runtime.database.db.selectFrom('users').selectAll().execute());
      expect(passwordsUsed.size).toBeGreaterThan(5);
      for (const p of passwordsUsed) {
        expect(audit).not.toContain(p);
        expect(users).not.toContain(p);
      }
      const sessions = await t.server.runtime.database.db.selectFrom('sessions').selectAll().execute();
      const token = ownerBrowser.cookie?.split('=')[1] as string;
      expect(JSON.stringify(sessions)).not.toContain(token);
    });
  });
});

describeEachDatabase('dashboard sessions over time and behind a proxy', (backend) => {
  let t: TestServer;
  let now = Date.now();
  beforeAll(async () => {
    t = await startTestServer(backend, { clock: () => now, env: { TOLLGATE_TRUST_PROXY: '127.0.0.1' } });
  });
  afterAll(async () => t?.close());

  it('marks the cookie Secure (with the __Host- prefix) when a trusted proxy says https', async () => {
    const b = new Browser(t.url);
    const res = await b.call('POST', '/auth/signup', { ...OWNER, setup_token: t.setupToken }, { headers: { 'x-forwarded-proto': 'https' } });
    expect(res.status).toBe(200);
    const cookie = b.lastSetCookie[0];
    expect(cookie).toMatch(/^__Host-tollgate_session=/);
    expect(cookie).toMatch(/;\s*Secure/i);
    expect(cookie).toMatch(/;\s*HttpOnly/i);
  });

  it('over https reads only the __Host- cookie: a plain one (planted by a sibling subdomain) signs nobody in', async () => {
    const b = new Browser(t.url);
    const https = { 'x-forwarded-proto': 'https' };
    expect((await b.call('POST', '/auth/login', OWNER_LOGIN, { headers: https })).status).toBe(200);
    const token = (b.lastSetCookie[0].split(';')[0] ?? '').split('=')[1];
    const me = (cookie: string, proto: string) => fetch(`${t.url}/auth/me`, { headers: { cookie, 'x-forwarded-proto': proto } });
    expect((await me(`__Host-tollgate_session=${token}`, 'https')).status).toBe(200);
    expect((await me(`tollgate_session=${token}`, 'https')).status).toBe(401);
    // Nor on the admin API, which reads the same cookie.
    const projects = await fetch(`${t.url}/v1/organization/projects`, { headers: { cookie: `tollgate_session=${token}`, 'x-forwarded-proto': 'https' } });
    expect(projects.status).toBe(401);
    // Over plain HTTP the plain cookie is the one this server sets, and is read.
    expect((await me(`tollgate_session=${token}`, 'http')).status).toBe(200);
  });

  it('ends a session after 12 hours idle, and keeps it while used', async () => {
    const b = new Browser(t.url);
    await b.call('POST', '/auth/login', OWNER_LOGIN);
    now += 11 * 3600 * 1000;
    expect((await b.call('GET', '/auth/me')).status).toBe(200);
    now += 11 * 3600 * 1000;
    expect((await b.call('GET', '/auth/me')).status).toBe(200);
    now += 12 * 3600 * 1000 + 1000;
    expect((await b.call('GET', '/auth/me')).status).toBe(401);
  });

  it('lifts the lock after the wait, and doubles it on the next failure', async () => {
    const b = new Browser(t.url);
    for (let i = 0; i < 5; i++) await b.call('POST', '/auth/login', { email: OWNER.email, password: `bad ${i} password` });
    const locked = await b.call('POST', '/auth/login', OWNER_LOGIN);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBe(60);
    now += 61_000;
    expect((await b.call('POST', '/auth/login', { email: OWNER.email, password: 'bad again pw' })).status).toBe(401);
    const relocked = await b.call('POST', '/auth/login', OWNER_LOGIN);
    expect(relocked.status).toBe(429);
    expect(Number(relocked.headers.get('retry-after'))).toBe(120);
    now += 121_000;
    expect((await b.call('POST', '/auth/login', OWNER_LOGIN)).status).toBe(200);
  });

  it('expires invitations after seven days', async () => {
    const owner = new Browser(t.url);
    await owner.call('POST', '/auth/login', OWNER_LOGIN);
    const inv = await owner.call('POST', `${ORG}/invites`, { email: 'late@example.com', role: 'reader' });
    const token = new URL(inv.body.accept_url.replace('/#/', '/')).searchParams.get('token');
    now += 7 * 24 * 3600 * 1000 + 1000;
    await owner.call('POST', '/auth/login', OWNER_LOGIN);
    const list = await owner.call('GET', `${ORG}/invites`);
    expect(list.body.data[0].status).toBe('expired');
    const res = await new Browser(t.url).call('POST', '/auth/signup', { email: 'late@example.com', password: 'late password', invite_token: token });
    expect(res.status).toBe(400);
  });
});

describe('dashboard static files', () => {
  it('without a build, / explains how to build, with the security headers', async () => {
    const app = Fastify();
    installErrorHandling(app);
    const empty = mkdtempSync(join(tmpdir(), 'tollgate-nodist-'));
    await app.register(async (scope) => registerDashboardStatic(scope, empty));
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain('npm run build');
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    await app.close();
    rmSync(empty, { recursive: true, force: true });
  });

  it('with a build, serves index.html no-cache and hashed assets immutable; unknown paths stay JSON 404s', async () => {
    const app = Fastify();
    installErrorHandling(app);
    const dist = mkdtempSync(join(tmpdir(), 'tollgate-dist-'));
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(join(dist, 'assets'));
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>x</title><script type="module" src="/assets/index-abc123.js"></script>');
    writeFileSync(join(dist, 'assets', 'index-abc123.js'), 'console.log(1)');
    await app.register(async (scope) => registerDashboardStatic(scope, dist));
    const index = await app.inject({ method: 'GET', url: '/' });
    expect(index.statusCode).toBe(200);
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(index.headers['content-security-policy']).not.toMatch(/unsafe-inline/);
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    expect(index.headers['referrer-policy']).toBe('no-referrer');
    const asset = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const missing = await app.inject({ method: 'GET', url: '/v1/nothing-here' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('unknown_url');
    await app.close();
    rmSync(dist, { recursive: true, force: true });
  });
});
