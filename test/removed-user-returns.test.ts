import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { joinAs, SessionClient, signUpOwner } from './harness/session-client.js';

// A user removed from the organization could never come back (an outside review): users.email was unique over every
// row, removed ones included, so POST /users answered 409 "already exists" while GET /users/{id} said 404 and
// GET /users?emails= listed nobody, POST /invites answered 409 "was removed … cannot be invited again", and sign-up
// refused the address. OpenAI lets a removed user be invited again. Now they come back as a new user, with a new id:
// nothing the removed user held (sessions, password, keys, memberships, invitations) works for or through them.

const ORG = '/v1/organization';
// biome-ignore lint/suspicious/noExplicitAny: answers are arbitrary JSON
type Json = Record<string, any>;

const tokenOf = (acceptUrl: string) => new URL(acceptUrl.replace('/#/', '/')).searchParams.get('token') as string;

describeEachDatabase('a user removed from the organization, added again', (backend) => {
  let t: TestServer;
  let owner: SessionClient;
  beforeAll(async () => {
    // Behind a trusted proxy: the racing sign-ups each come from their own address (refused ones are throttled).
    t = await startTestServer(backend, { env: { TOLLGATE_TRUST_PROXY: '127.0.0.1' } });
    owner = await signUpOwner(t);
  });
  afterAll(async () => t?.close());

  async function ok(method: string, path: string, body?: unknown): Promise<Json> {
    const res = await t.api(method, path, { body });
    expect(res.status, `${method} ${path}: ${res.text.slice(0, 400)}`).toBe(200);
    return res.body;
  }
  const signIn = (email: string, password: string) => new SessionClient(t.url).call('POST', '/auth/login', { email, password });
  const entries = async (type: string, objectId: string) =>
    (await t.server.runtime.database.db.selectFrom('audit_logs').select('type').where('type', '=', type).where('object_id', '=', objectId).execute()).length;

  describe('happy path', () => {
    it('is added again by POST /users: a new user, with the role asked for and no memberships, listed by address', async () => {
      const P = t.defaultProjectId;
      const old = await ok('POST', `${ORG}/users`, { email: 'gone@example.com', name: 'Gone', role: 'owner' });
      await ok('POST', `${ORG}/projects/${P}/users`, { user_id: old.id, role: 'owner' });
      const key = await ok('POST', `${ORG}/projects/${P}/api_keys`, { name: 'old', owner: old.id });
      await ok('DELETE', `${ORG}/users/${old.id}`);

      const again = await ok('POST', `${ORG}/users`, { email: 'Gone@Example.com' });
      expect(again).toMatchObject({ object: 'organization.user', email: 'gone@example.com', role: 'reader', name: 'gone' });
      expect(again.id).not.toBe(old.id);
      expect((await ok('GET', `${ORG}/users?emails=gone@example.com`)).data.map((u: Json) => u.id)).toEqual([again.id]);
      expect((await t.api('GET', `${ORG}/users/${old.id}`)).status).toBe(404);
      expect((await t.api('GET', `${ORG}/projects/${P}/users/${again.id}`)).status).toBe(404);
      // The old key stays revoked and its owner the removed user; a key for the removed id is still refused.
      const oldKey = await ok('GET', `${ORG}/projects/${P}/api_keys/${key.id}?include_revoked=true`);
      expect([oldKey.status, oldKey.owner.user.id]).toEqual(['revoked', old.id]);
      expect((await t.api('GET', '/v1/models', { key: key.value })).status).toBe(401);
      expect((await t.api('POST', `${ORG}/projects/${P}/api_keys`, { body: { name: 'x', owner: old.id } })).status).toBe(400);
      expect(await entries('user.added', again.id)).toBe(1);
      // The address is taken again while the new user is in.
      const dup = await t.api('POST', `${ORG}/users`, { body: { email: 'gone@example.com' } });
      expect([dup.status, dup.body.error?.code]).toEqual([409, 'conflict']);
    });

    it('is invited again and signs up: a new user with the invitation’s role and projects, the only one the address names', async () => {
      const member = await joinAs(t, owner, 'returning@example.com', 'reader', [{ id: t.defaultProjectId, role: 'member' }]);
      const old = (await member.call('GET', '/auth/me')).body.user;
      await ok('DELETE', `${ORG}/users/${old.id}`);
      const invite = await ok('POST', `${ORG}/invites`, { email: 'returning@example.com', role: 'owner', projects: [{ id: t.defaultProjectId, role: 'owner' }] });
      const back = new SessionClient(t.url);
      const signedUp = await back.call('POST', '/auth/signup', { email: 'returning@example.com', password: 'a brand new passphrase', invite_token: tokenOf(invite.accept_url) });
      expect(signedUp.status).toBe(200);
      const me = (await back.call('GET', '/auth/me')).body;
      expect(me.user.id).not.toBe(old.id);
      expect(me.role).toBe('owner');
      expect((await ok('GET', `${ORG}/projects/${t.defaultProjectId}/users/${me.user.id}`)).role).toBe('owner');
      expect((await ok('GET', `${ORG}/users?emails=returning@example.com`)).data.map((u: Json) => u.id)).toEqual([me.user.id]);
    });
  });

  describe('security: nothing of the removed user works again', () => {
    it("the removed user's session cookies and password stay dead once the address is back", async () => {
      const email = 'attacker@example.com';
      const stale = await joinAs(t, owner, email, 'reader');
      const oldId = (await stale.call('GET', '/auth/me')).body.user.id;
      // A second browser, signed in with the old password: two sessions to outlive the removal.
      const second = new SessionClient(t.url);
      expect((await second.call('POST', '/auth/login', { email, password: `${email} long password` })).status).toBe(200);
      await ok('DELETE', `${ORG}/users/${oldId}`);
      expect(await t.server.runtime.database.db.selectFrom('sessions').select('user_id').where('user_id', '=', oldId).execute()).toEqual([]);

      // Back by POST /users: no password yet, and none of the old ones.
      const again = await ok('POST', `${ORG}/users`, { email, role: 'reader' });
      expect(again.id).not.toBe(oldId);
      for (const browser of [stale, second]) {
        expect((await browser.call('GET', '/auth/me')).status).toBe(401);
        expect((await browser.call('GET', `${ORG}/projects`)).status).toBe(401);
      }
      expect((await signIn(email, `${email} long password`)).status).toBe(401);
      // Then by an invitation, accepted with a new password: the new one only.
      const fresh = await ok('POST', `${ORG}/invites`, { email, role: 'reader' });
      const back = new SessionClient(t.url);
      expect((await back.call('POST', '/auth/signup', { email, password: 'the new passphrase', invite_token: tokenOf(fresh.accept_url) })).status).toBe(200);
      expect((await back.call('GET', '/auth/me')).body.user.id).toBe(again.id);
      expect((await signIn(email, `${email} long password`)).status).toBe(401);
      expect((await signIn(email, 'the new passphrase')).status).toBe(200);
      for (const browser of [stale, second]) expect((await browser.call('GET', '/auth/me')).status).toBe(401);
    });

    it('an invitation sent to the user before their removal is withdrawn with them, and brings nobody back', async () => {
      const email = 'invited-then-removed@example.com';
      const added = await ok('POST', `${ORG}/users`, { email, role: 'reader' }); // no password until an invitation is accepted
      const early = await ok('POST', `${ORG}/invites`, { email, role: 'owner', projects: [{ id: t.defaultProjectId, role: 'owner' }] });
      const unrelated = await ok('POST', `${ORG}/invites`, { email: 'their-friend@example.com', role: 'reader' });
      await ok('DELETE', `${ORG}/users/${added.id}`);
      expect((await t.api('GET', `${ORG}/invites/${early.id}`)).status).toBe(404);
      expect(await entries('invite.deleted', early.id)).toBe(1);
      expect((await t.api('GET', `${ORG}/invites/${unrelated.id}`)).status).toBe(200);
      const replay = () => new SessionClient(t.url).call('POST', '/auth/signup', { email, password: 'replayed passphrase', invite_token: tokenOf(early.accept_url) });
      expect([(await replay()).status, (await replay()).body.error?.param]).toEqual([400, 'invite_token']);
      // Added again, the old link still makes nobody an owner.
      const again = await ok('POST', `${ORG}/users`, { email, role: 'reader' });
      expect((await replay()).status).toBe(400);
      expect((await ok('GET', `${ORG}/users/${again.id}`)).role).toBe('reader');
    });

    it("a removed owner's admin key stays revoked, and the invitations it sent stay withdrawn", async () => {
      const boss = await joinAs(t, owner, 'boss@example.com', 'owner');
      const bossId = (await boss.call('GET', '/auth/me')).body.user.id;
      const adminKey = (await boss.call('POST', `${ORG}/admin_api_keys`, { name: 'boss key' })).body;
      const sent = (await t.api('POST', `${ORG}/invites`, { key: adminKey.value, body: { email: 'by-boss@example.com', role: 'owner' } })).body;
      await ok('DELETE', `${ORG}/users/${bossId}`);
      await joinAs(t, owner, 'boss@example.com', 'owner');
      expect((await t.api('GET', `${ORG}/projects`, { key: adminKey.value })).status).toBe(401);
      expect((await t.api('GET', `${ORG}/invites/${sent.id}`)).status).toBe(404);
    });
  });

  describe('errors', () => {
    it('adding one address twice at once makes one user: the other is a 409, never a 500', async () => {
      const first = await ok('POST', `${ORG}/users`, { email: 'twice@example.com' });
      await ok('DELETE', `${ORG}/users/${first.id}`);
      for (let run = 0; run < 5; run++) {
        const email = `twice${run}@example.com`;
        const made = await Promise.all([0, 1, 2].map(() => t.api('POST', `${ORG}/users`, { body: { email } })));
        expect(made.map((r) => r.status).sort()).toEqual([200, 409, 409]);
      }
      const again = await Promise.all([0, 1, 2].map(() => t.api('POST', `${ORG}/users`, { body: { email: 'twice@example.com' } })));
      expect(again.map((r) => r.status).sort()).toEqual([200, 409, 409]);
      expect((await ok('GET', `${ORG}/users?emails=twice@example.com`)).data).toHaveLength(1);
    });

    it('an invitation accepted while its user is removed is accepted first or refused, never a deadlock, and leaves nobody in', { timeout: 60_000 }, async () => {
      for (let run = 0; run < 10; run++) {
        const email = `race-accept${run}@example.com`;
        const user = await ok('POST', `${ORG}/users`, { email });
        const invite = await ok('POST', `${ORG}/invites`, { email, role: 'owner' });
        const [signedUp, removed] = await Promise.all([
          fetch(`${t.url}/auth/signup`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.9.0.${run + 1}` },
            body: JSON.stringify({ email, password: 'racing passphrase', invite_token: tokenOf(invite.accept_url) }),
          }),
          new Promise((r) => setTimeout(r, run % 3)).then(() => t.api('DELETE', `${ORG}/users/${user.id}`)),
        ]);
        expect(removed.status, removed.text).toBe(200);
        expect([200, 400], await signedUp.text()).toContain(signedUp.status);
        expect((await ok('GET', `${ORG}/users?emails=${email}`)).data).toEqual([]);
        const cookie = signedUp.headers.getSetCookie()[0]?.split(';')[0];
        if (cookie) expect((await fetch(`${t.url}/auth/me`, { headers: { cookie } })).status).toBe(401);
        const left = await t.server.runtime.database.db.selectFrom('invites').select(['accepted_at', 'deleted_at']).where('id', '=', invite.id).executeTakeFirstOrThrow();
        expect(left.accepted_at !== null || left.deleted_at !== null).toBe(true);
      }
    });
  });
});
