import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD_RULES } from '../src/services/passwords.js';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Issue 16 §3: nobody elsewhere can lock the owner out, and no account gets a password from the top of every
// guessing list. Addresses are told apart through X-Forwarded-For from a trusted proxy (127.0.0.1).

const OWNER = { email: 'olive.owner@example.com', password: 'violet staple harbour' };
const PASSPHRASE = 'the quick brown owl reads twelve maps under a lamp '.repeat(6).trim(); // 305 characters
const OPERATOR = '192.0.2.1';
const ATTACKER = '203.0.113.9';
const ELSEWHERE = '198.51.100.20';

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  body: any;
  headers: Headers;
}

/** A client at one address that keeps its session cookie and CSRF token, as the dashboard does. */
class Client {
  cookie: string | null = null;
  csrf: string | null = null;
  constructor(
    private readonly t: TestServer,
    private readonly address: string,
  ) {}

  async call(method: string, path: string, body?: unknown): Promise<Reply> {
    const headers: Record<string, string> = { 'x-forwarded-for': this.address, 'content-type': 'application/json' };
    if (this.cookie) headers.cookie = this.cookie;
    if (this.csrf) headers['x-csrf-token'] = this.csrf;
    const res = await fetch(this.t.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    for (const c of res.headers.getSetCookie()) this.cookie = c.split(';')[0];
    const parsed = await res.json();
    if (parsed?.csrf_token) this.csrf = parsed.csrf_token;
    return { status: res.status, body: parsed, headers: res.headers };
  }
}

function expectPolicyRefusal(res: Reply, param: string, rule: RegExp) {
  expect(res.status).toBe(400);
  expect(res.body.error).toMatchObject({ code: 'invalid_value', param, type: 'invalid_request_error' });
  expect(res.body.error.message).toMatch(rule);
  expect(res.body.error.message).toContain(PASSWORD_RULES);
}

const COMMON = /one of the most common passwords/;
const IS_EMAIL = /it is your email address/;
const IS_NAME = /it is the name part of your email address/;
const SHORT = /shorter than 8 characters/;
const LONG = /longer than 1024 characters/;

/** Every rule, as a password breaking it for `email`, and the rule the refusal must name. */
function breaking(email: string): Array<[string, RegExp]> {
  return [
    ['Password1', COMMON],
    [email.toUpperCase(), IS_EMAIL],
    [email.slice(0, email.indexOf('@')), IS_NAME],
    ['Tr0ub4d', SHORT],
    ['x'.repeat(1025), LONG],
  ];
}

describeEachDatabase('account protection', (backend) => {
  let t: TestServer;
  const logLines: string[] = [];
  let owner: Client;

  beforeAll(async () => {
    const logger = pino({ level: 'warn' }, { write: (line: string) => logLines.push(line) });
    t = await startTestServer(backend, { env: { TOLLGATE_TRUST_PROXY: '127.0.0.1' }, logger });
  });
  afterAll(async () => t?.close());

  describe('password policy, at every place a password is set', () => {
    it('owner sign-up: refuses a password breaking any rule; takes a 305-character passphrase', async () => {
      owner = new Client(t, OPERATOR);
      const base = { email: OWNER.email, setup_token: t.setupToken };
      for (const [password, rule] of breaking(OWNER.email)) {
        expectPolicyRefusal(await owner.call('POST', '/auth/signup', { ...base, password }), 'password', rule);
      }
      const res = await owner.call('POST', '/auth/signup', { ...base, password: PASSPHRASE });
      expect(res.status).toBe(200);
      expect(res.body.role).toBe('owner');
    });

    it('password change: the same rules for new_password; a long passphrase is fine', async () => {
      for (const [password, rule] of [['qwertyuiop', COMMON] as [string, RegExp], ...breaking(OWNER.email)]) {
        expectPolicyRefusal(await owner.call('POST', '/auth/password', { current_password: PASSPHRASE, new_password: password }), 'new_password', rule);
      }
      expect((await owner.call('POST', '/auth/password', { current_password: PASSPHRASE, new_password: OWNER.password })).status).toBe(200);
    });

    it('accepting an invitation: the same rules against the invited email; a long passphrase is fine', async () => {
      const inv = await owner.call('POST', '/v1/organization/invites', { email: 'bernard.reader@example.com', role: 'reader' });
      expect(inv.status).toBe(200);
      const token = new URL(inv.body.accept_url.replace('/#/', '/')).searchParams.get('token');
      const invitee = new Client(t, ELSEWHERE);
      const base = { email: 'bernard.reader@example.com', invite_token: token };
      for (const [password, rule] of [['iloveyou', COMMON] as [string, RegExp], ...breaking(base.email)]) {
        expectPolicyRefusal(await invitee.call('POST', '/auth/signup', { ...base, password }), 'password', rule);
      }
      const ok = await invitee.call('POST', '/auth/signup', { ...base, password: PASSPHRASE });
      expect(ok.status).toBe(200);
      expect(ok.body.role).toBe('reader');
    });
  });

  describe('lock-out', () => {
    it("five wrong passwords for the owner's email from one address: that address is slowed, the owner elsewhere is not", async () => {
      const attacker = new Client(t, ATTACKER);
      for (let i = 0; i < 5; i++) {
        expect((await attacker.call('POST', '/auth/login', { email: OWNER.email, password: `guess number ${i}` })).status).toBe(401);
      }
      const slowed = await attacker.call('POST', '/auth/login', OWNER);
      expect(slowed.status).toBe(429);
      expect(slowed.body.error.code).toBe('too_many_attempts');
      expect(Number(slowed.headers.get('retry-after'))).toBe(60);

      expect((await new Client(t, ELSEWHERE).call('POST', '/auth/login', OWNER)).status).toBe(200);
      expect((await new Client(t, OPERATOR).call('POST', '/auth/login', OWNER)).status).toBe(200);
    });

    it('many more, spread over other emails, lock the guessing address for everyone it tries, and only it', async () => {
      const attacker = new Client(t, ATTACKER);
      for (let i = 0; i < 15; i++) {
        expect((await attacker.call('POST', '/auth/login', { email: `user${i}@example.com`, password: `guess number ${i}` })).status).toBe(401);
      }
      expect((await attacker.call('POST', '/auth/login', { email: 'anyone@example.com', password: 'guess again now' })).status).toBe(429);
      // An IPv4-mapped spelling of the same address is the same address.
      expect((await new Client(t, `::ffff:${ATTACKER}`).call('POST', '/auth/login', OWNER)).status).toBe(429);
      expect((await new Client(t, ELSEWHERE).call('POST', '/auth/login', OWNER)).status).toBe(200);
    });

    it('each lock is an audit entry and a log line, with the email tried and never a password', async () => {
      const rows = await t.server.runtime.database.db.selectFrom('audit_logs').selectAll().where('type', '=', 'login.locked').orderBy('seq').execute();
      const locks = rows.map((r) => ({ ip: r.ip, ...JSON.parse(r.details) }));
      expect(locks).toEqual([
        { id: expect.any(String), ip: ATTACKER, email: OWNER.email, reason: 'login', scope: 'account_address', retry_after_seconds: 60 },
        { id: null, ip: ATTACKER, email: 'user14@example.com', reason: 'login', scope: 'address', retry_after_seconds: 60 },
      ]);
      const logged = logLines.filter((l) => l.includes('"event":"login.locked"'));
      expect(logged).toHaveLength(2);
      const everything = JSON.stringify(rows) + logLines.join('\n');
      for (const secret of [OWNER.password, PASSPHRASE, 'guess number 3', t.setupToken as string]) expect(everything).not.toContain(secret);
    });
  });
});
