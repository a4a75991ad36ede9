import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { SessionClient } from './harness/session-client.js';

// Sign-up, sign-in and sign-out write their audit entries in the transaction of the change they record (an outside
// review): a session opened whose login.succeeded was never written, an account made without its sign-up's entries,
// a sign-out logged twice. A trigger refuses one write at a time, on either backend, and nothing else may be left.

const OWNER = { email: 'owner@example.com', password: 'correct horse battery', name: 'Olive Owner' };

describeEachDatabase('audit entries of sign-up, sign-in and sign-out', (backend) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(backend);
  });
  afterAll(async () => t?.close());
  const db = () => t.server.runtime.database.db;
  const pg = backend.name === 'postgres';

  /** Makes the database refuse inserting into `table` the rows `when` names (SQL on NEW), until `allow`. */
  async function refuse(table: 'audit_logs' | 'sessions', when: string) {
    if (pg) {
      await sql.raw(`CREATE OR REPLACE FUNCTION refuse_in_test() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql`).execute(db());
      await sql.raw(`CREATE TRIGGER refuse_in_test BEFORE INSERT ON ${table} FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION refuse_in_test()`).execute(db());
    } else {
      await sql.raw(`CREATE TRIGGER refuse_in_test BEFORE INSERT ON ${table} WHEN ${when} BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`).execute(db());
    }
    refused = table;
  }
  let refused: string | null = null;
  afterEach(async () => {
    if (refused) await sql.raw(pg ? `DROP TRIGGER refuse_in_test ON ${refused}` : 'DROP TRIGGER refuse_in_test').execute(db());
    refused = null;
  });
  const count = async (type: string) => Number((await db().selectFrom('audit_logs').select((eb) => eb.fn.countAll().as('n')).where('type', '=', type).executeTakeFirstOrThrow()).n);
  const sessions = async () => Number((await db().selectFrom('sessions').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const users = async (email: string) => db().selectFrom('users').select(['id', 'password_hash']).where('email', '=', email).execute();

  describe('errors leave nothing written', () => {
    it('a sign-up whose login.succeeded cannot be written makes no account and no session; the token still works after', async () => {
      await refuse('audit_logs', "NEW.type = 'login.succeeded'");
      const browser = new SessionClient(t.url);
      expect((await browser.call('POST', '/auth/signup', { ...OWNER, setup_token: t.setupToken })).status).toBe(500);
      expect(await users(OWNER.email)).toEqual([]);
      expect([await count('user.added'), await sessions()]).toEqual([0, 0]);
      await sql.raw(pg ? 'DROP TRIGGER refuse_in_test ON audit_logs' : 'DROP TRIGGER refuse_in_test').execute(db());
      refused = null;
      expect((await browser.call('POST', '/auth/signup', { ...OWNER, setup_token: t.setupToken })).status).toBe(200);
      expect([await count('user.added'), await count('login.succeeded'), await sessions()]).toEqual([1, 1, 1]);
    });

    it('a sign-in whose entry cannot be written opens no session and keeps the one it would have ended', async () => {
      const browser = new SessionClient(t.url);
      expect((await browser.call('POST', '/auth/login', { email: OWNER.email, password: OWNER.password })).status).toBe(200);
      const [entries, open] = [await count('login.succeeded'), await sessions()];
      await refuse('audit_logs', "NEW.type = 'login.succeeded'");
      expect((await browser.call('POST', '/auth/login', { email: OWNER.email, password: OWNER.password })).status).toBe(500);
      expect([await count('login.succeeded'), await sessions()]).toEqual([entries, open]);
      expect((await browser.call('GET', '/auth/me')).status).toBe(200);
    });

    it('a sign-in whose session cannot be stored writes no login.succeeded', async () => {
      const entries = await count('login.succeeded');
      await refuse('sessions', 'NEW.user_id IS NOT NULL');
      expect((await new SessionClient(t.url).call('POST', '/auth/login', { email: OWNER.email, password: OWNER.password })).status).toBe(500);
      expect(await count('login.succeeded')).toBe(entries);
    });

    it('a sign-out whose entry cannot be written leaves the session open', async () => {
      const browser = new SessionClient(t.url);
      expect((await browser.call('POST', '/auth/login', { email: OWNER.email, password: OWNER.password })).status).toBe(200);
      await refuse('audit_logs', "NEW.type = 'logout.succeeded'");
      expect((await browser.call('POST', '/auth/logout')).status).toBe(500);
      expect((await browser.call('GET', '/auth/me')).status).toBe(200);
    });

    it('an invited sign-up whose invite.accepted cannot be written makes no account, and the link still works', async () => {
      const owner = new SessionClient(t.url);
      await owner.call('POST', '/auth/login', { email: OWNER.email, password: OWNER.password });
      const inv = await owner.call('POST', '/v1/organization/invites', { email: 'ivy@example.com', role: 'reader', projects: [{ id: t.defaultProjectId, role: 'member' }] });
      const token = new URL(inv.body.accept_url.replace('/#/', '/')).searchParams.get('token');
      const body = { email: 'ivy@example.com', password: 'ivy long password 1', invite_token: token };
      await refuse('audit_logs', "NEW.type = 'invite.accepted'");
      expect((await new SessionClient(t.url).call('POST', '/auth/signup', body)).status).toBe(500);
      expect(await users('ivy@example.com')).toEqual([]);
      expect(await count('project.user.added')).toBe(0);
      await sql.raw(pg ? 'DROP TRIGGER refuse_in_test ON audit_logs' : 'DROP TRIGGER refuse_in_test').execute(db());
      refused = null;
      expect((await new SessionClient(t.url).call('POST', '/auth/signup', body)).status).toBe(200);
      expect([await count('invite.accepted'), await count('project.user.added')]).toEqual([1, 1]);
    });
  });

  describe('one of several at once', () => {
    it('a session signed out three times at once is logged out once', async () => {
      const browser = new SessionClient(t.url);
      expect((await browser.call('POST', '/auth/login', { email: OWNER.email, password: OWNER.password })).status).toBe(200);
      const before = await count('logout.succeeded');
      const answers = await Promise.all([0, 1, 2].map(() => browser.call('POST', '/auth/logout')));
      for (const a of answers) expect(a.status).toBe(200);
      expect(await count('logout.succeeded')).toBe(before + 1);
    });
  });
});
