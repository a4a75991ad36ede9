import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PasswordHasher } from '../src/core/ports.js';
import { hashSessionToken } from '../src/services/sessions.js';
import { describeEachDatabase } from './harness/backends.js';
import { sideConnection, startTestServer, type TestServer, testPasswords } from './harness/server.js';
import { joinAs, SessionClient, signUpOwner } from './harness/session-client.js';

// A password change ends every session of the user; a sign-in (or another change) that checked the old password
// just before must not open a session after that (an outside review: the sign-in checked the password outside any
// transaction and wrote its session later in its own, so an attacker holding the old password kept a 7-day session,
// and the audit log read login.succeeded after user.password_changed). The check is parked at a chosen moment by a
// password hasher that waits before answering, on either backend; on PostgreSQL a side connection also parks a sign-in
// inside its transaction.

/** testPasswords, whose next check, once armed, waits after reading the stored hash until the test releases it. */
function gatedPasswords() {
  let armed: { reached: () => void; release: Promise<void> } | null = null;
  const hasher: PasswordHasher = {
    hash: (password) => testPasswords.hash(password),
    async verify(stored, password) {
      const ok = await testPasswords.verify(stored, password);
      const gate = armed;
      armed = null;
      if (gate) {
        gate.reached();
        await gate.release;
      }
      return ok;
    },
  };
  /** Holds the next password check: `reached` resolves once it has checked, `release` lets it go on. */
  function holdNext(): { reached: Promise<void>; release: () => void } {
    let release = () => {};
    let reached = () => {};
    const reachedP = new Promise<void>((r) => {
      reached = r;
    });
    armed = { reached, release: new Promise<void>((r) => (release = r)) };
    return { reached: reachedP, release };
  }
  return { hasher, holdNext };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeEachDatabase('a password change racing a sign-in', (backend) => {
  const gate = gatedPasswords();
  let t: TestServer;
  let owner: SessionClient;
  beforeAll(async () => {
    t = await startTestServer(backend, { passwords: gate.hasher });
    owner = await signUpOwner(t);
  });
  afterAll(async () => t?.close());
  const db = () => t.server.runtime.database.db;
  const userId = async (email: string) => (await db().selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;
  const auditTypes = async (id: string) =>
    (await db().selectFrom('audit_logs').select('type').where('object_id', '=', id).where('type', 'like', '%.%').orderBy('seq').execute()).map((a) => a.type);

  describe('security', () => {
    it('a sign-in that checked the old password before the change committed opens no session', async () => {
      const email = 'victim1@example.com';
      const victim = await joinAs(t, owner, email, 'reader');
      const old = `${email} long password`;
      const held = gate.holdNext();
      const attacker = new SessionClient(t.url);
      const login = attacker.call('POST', '/auth/login', { email, password: old });
      await held.reached;
      const change = await victim.call('POST', '/auth/password', { current_password: old, new_password: 'brand new victim password' });
      expect(change.status).toBe(200);
      held.release();
      const l = await login;
      expect([l.status, l.body.error?.code]).toEqual([401, 'invalid_credentials']);
      expect(attacker.cookie).toBeNull();
      // Only the victim's own new session is left, and the log shows no sign-in after the change.
      const id = await userId(email);
      const left = await db().selectFrom('sessions').select('token_hash').where('user_id', '=', id).execute();
      expect(left.map((s) => s.token_hash)).toEqual([hashSessionToken((victim.cookie ?? '').split('=')[1])]);
      const types = (await auditTypes(id)).filter((x) => x.startsWith('login.') || x === 'user.password_changed');
      expect(types.slice(-2)).toEqual(['user.password_changed', 'login.failed']);
      expect((await victim.call('GET', '/auth/me')).status).toBe(200);
    });

    it('a password change that checked the old password before another change committed is refused', async () => {
      const email = 'victim2@example.com';
      const victim = await joinAs(t, owner, email, 'reader');
      const old = `${email} long password`;
      // The same account signed in twice (a stolen session, say): both change the password from the old one.
      const thief = new SessionClient(t.url);
      expect((await thief.call('POST', '/auth/login', { email, password: old })).status).toBe(200);
      const held = gate.holdNext();
      const late = thief.call('POST', '/auth/password', { current_password: old, new_password: 'the thief password here' });
      await held.reached;
      expect((await victim.call('POST', '/auth/password', { current_password: old, new_password: 'brand new victim password' })).status).toBe(200);
      held.release();
      const l = await late;
      expect([l.status, l.body.error?.param]).toEqual([400, 'current_password']);
      expect((await new SessionClient(t.url).call('POST', '/auth/login', { email, password: 'brand new victim password' })).status).toBe(200);
      expect((await new SessionClient(t.url).call('POST', '/auth/login', { email, password: 'the thief password here' })).status).toBe(401);
      expect((await thief.call('GET', '/auth/me')).status).toBe(401);
    });
  });

  describe('happy path', () => {
    it('a sign-in that checked the password before an unrelated user changed theirs goes on', async () => {
      const email = 'bystander@example.com';
      await joinAs(t, owner, email, 'reader');
      const other = await joinAs(t, owner, 'changer@example.com', 'reader');
      const held = gate.holdNext();
      const browser = new SessionClient(t.url);
      const login = browser.call('POST', '/auth/login', { email, password: `${email} long password` });
      await held.reached;
      const change = await other.call('POST', '/auth/password', { current_password: 'changer@example.com long password', new_password: 'another new password' });
      expect(change.status).toBe(200);
      held.release();
      expect((await login).status).toBe(200);
      expect((await browser.call('GET', '/auth/me')).status).toBe(200);
    });
  });
});

describeEachDatabase('a password change racing a sign-in inside its transaction', (backend) => {
  const onPostgres = backend.name === 'postgres';
  let t: TestServer;
  let side: pg.Client;
  beforeAll(async () => {
    if (!onPostgres) return;
    t = await startTestServer(backend);
    side = await sideConnection(t, backend.url as string);
  });
  afterAll(async () => {
    await side?.end();
    await t?.close();
  });

  it.runIf(onPostgres)('a sign-in parked in its transaction when the password changes leaves no session (the reviewer\'s repro)', async () => {
    const victim = await signUpOwner(t, 'victim@example.com', 'old victim password');
    // Another account's session row, which the attacker's sign-in ends first (its previous cookie): held here, so the
    // sign-in's transaction waits after the password was checked.
    const other = await joinAs(t, victim, 'other@example.com', 'reader');
    await side.query('begin');
    await side.query('select 1 from sessions where token_hash = $1 for update', [hashSessionToken((other.cookie ?? '').split('=')[1])]);
    const attacker = new SessionClient(t.url);
    attacker.cookie = other.cookie;
    const login = attacker.call('POST', '/auth/login', { email: 'victim@example.com', password: 'old victim password' });
    await sleep(400);
    const change = victim.call('POST', '/auth/password', { current_password: 'old victim password', new_password: 'brand new victim password' });
    await sleep(400);
    await side.query('commit');
    const [, c] = await Promise.all([login, change]);
    expect(c.status).toBe(200);
    expect((await attacker.call('GET', '/auth/me')).status).toBe(401);
    const audit = await t.api('GET', '/v1/organization/audit_logs?event_types[]=login.succeeded&event_types[]=user.password_changed&limit=1');
    expect(audit.body.data.map((e: { type: string }) => e.type)).toEqual(['user.password_changed']);
  });
});
