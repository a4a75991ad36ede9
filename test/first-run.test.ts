import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { PASSWORD_RULES } from '../src/services/passwords.js';
import { type Backend, databaseUrlFor, describeEachDatabase, freshSchema } from './harness/backends.js';
import { startChildServer } from './harness/child-server.js';
import { startTestServer, type TestServer } from './harness/server.js';

// First-run ownership (issue 16 §1): nobody can claim an instance without something only its operator has.

const OWNER = { email: 'owner@example.com', password: 'violet staple harbour' };
const PROXY = { TOLLGATE_TRUST_PROXY: '127.0.0.1' };

async function signUp(t: { url: string }, body: Record<string, unknown>, from = '198.51.100.7') {
  const res = await fetch(`${t.url}/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
    body: JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  return { status: res.status, body: (await res.json()) as any, headers: res.headers };
}

async function login(t: { url: string }, email: string, password: string, from = '198.51.100.7') {
  const res = await fetch(`${t.url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
    body: JSON.stringify({ email, password }),
  });
  return res.status;
}

async function auditOf(t: TestServer, type: string) {
  const rows = await t.server.runtime.database.db.selectFrom('audit_logs').selectAll().where('type', '=', type).orderBy('seq').execute();
  return rows.map((r) => ({ ...r, details: JSON.parse(r.details) }));
}

async function tokenDigestRow(t: TestServer) {
  return t.server.runtime.database.db.selectFrom('settings').selectAll().where('name', '=', 'setup.token_sha256').executeTakeFirst();
}

async function cli(env: Record<string, string | undefined>, stdin: string | null, ...args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(['node', 'tollgate', ...args], {
    env,
    out: (s) => (out += s),
    err: (s) => (err += s),
    readStdin: async () => stdin ?? '',
  });
  return { code, out, err };
}

function cliEnv(backend: Backend, t: TestServer): Record<string, string | undefined> {
  return { TOLLGATE_DATA_DIR: t.dataDir, LOG_LEVEL: 'silent', DATABASE_URL: databaseUrlFor(backend, t.schema) };
}

describeEachDatabase('first-run ownership', (backend) => {
  describe('a fresh instance (no admin key, no account)', () => {
    let t: TestServer;
    const logLines: string[] = [];
    beforeAll(async () => {
      const logger = pino({ level: 'warn' }, { write: (line: string) => logLines.push(line) });
      t = await startTestServer(backend, { noAdminKey: true, env: PROXY, logger });
    });
    afterAll(async () => t?.close());

    it('generates a setup token into the data dir, readable by the owner only (0600)', async () => {
      expect(t.setupToken).toMatch(/^[0-9A-Za-z]{32}$/);
      const file = join(t.dataDir, 'setup-token');
      expect(readFileSync(file, 'utf8').trim()).toBe(t.setupToken);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      // The database holds its digest only.
      const row = await tokenDigestRow(t);
      expect(row?.value).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(row)).not.toContain(t.setupToken);
    });

    it('refuses a sign-up without the token: 401 setup_token_required, audited and logged', async () => {
      const res = await signUp(t, OWNER);
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ code: 'setup_token_required', param: 'setup_token', type: 'invalid_request_error' });
      expect(res.body.error.message).toMatch(/setup-token/);
      const [entry] = await auditOf(t, 'signup.failed');
      expect(entry.details).toMatchObject({ email: OWNER.email, error_code: 'setup_token_required' });
      expect(entry.ip).toBe('198.51.100.7');
      expect(logLines.join('\n')).toMatch(/"event":"signup.failed".*"error_code":"setup_token_required"/);
      expect((await (await fetch(`${t.url}/auth/status`)).json()).owner_signup_open).toBe(true);
    });

    it('accepts the right token once: the owner is created, the token is void and its file removed', async () => {
      const res = await signUp(t, { ...OWNER, setup_token: t.setupToken });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ role: 'owner', user: { email: OWNER.email } });
      expect(existsSync(join(t.dataDir, 'setup-token'))).toBe(false);
      expect(await tokenDigestRow(t)).toBeUndefined();
      const again = await signUp(t, { email: 'second@example.com', password: 'another fine passphrase', setup_token: t.setupToken });
      expect(again.status).toBe(403);
      expect(again.body.error.code).toBe('insufficient_permissions');
      const refusals = await auditOf(t, 'signup.failed');
      expect(refusals.at(-1)?.details).toMatchObject({ email: 'second@example.com', error_code: 'insufficient_permissions' });
    });

    it('never puts the token or a password in the audit log or the log', async () => {
      const audit = JSON.stringify(await t.server.runtime.database.db.selectFrom('audit_logs').selectAll().execute());
      for (const secret of [t.setupToken as string, OWNER.password, 'another fine passphrase']) {
        expect(audit).not.toContain(secret);
        expect(logLines.join('\n')).not.toContain(secret);
      }
    });
  });

  describe('an instance in use through admin keys, with no owner yet', () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer(backend, { env: PROXY });
      expect((await t.api('POST', '/v1/organization/projects', { body: { name: 'In use' } })).status).toBe(200);
    });
    afterAll(async () => t?.close());

    it('still requires the token', async () => {
      const res = await signUp(t, OWNER);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('setup_token_required');
    });

    it('refuses a wrong token (401) and, after five from one address, throttles it (429) even with the right token', async () => {
      const attacker = '203.0.113.66';
      for (let i = 0; i < 5; i++) {
        const res = await signUp(t, { ...OWNER, setup_token: `wrong-${i}-${'x'.repeat(26)}` }, attacker);
        expect(res.status).toBe(401);
        expect(res.body.error).toMatchObject({ code: 'invalid_setup_token', param: 'setup_token' });
      }
      const throttled = await signUp(t, { ...OWNER, setup_token: t.setupToken }, attacker);
      expect(throttled.status).toBe(429);
      expect(throttled.body.error.code).toBe('too_many_attempts');
      expect(Number(throttled.headers.get('retry-after'))).toBe(60);
      expect(await tokenDigestRow(t)).toBeDefined();

      const failures = await auditOf(t, 'signup.failed');
      expect(failures.filter((f) => f.details.error_code === 'invalid_setup_token')).toHaveLength(5);
      const [lock] = await auditOf(t, 'login.locked');
      expect(lock.details).toMatchObject({ reason: 'setup_token', scope: 'account_address', retry_after_seconds: 60 });
      expect(lock.ip).toBe(attacker);

      // The operator, elsewhere, is not locked out by it.
      const operator = await signUp(t, { ...OWNER, setup_token: t.setupToken }, '192.0.2.1');
      expect(operator.status).toBe(200);
      expect(operator.body.role).toBe('owner');
      expect((await signUp(t, { email: 'late@example.com', password: 'another fine passphrase', setup_token: t.setupToken }, '192.0.2.1')).status).toBe(403);
    });
  });

  it('TOLLGATE_SETUP_TOKEN sets the token: no file is written, and only that value is accepted', async () => {
    const token = 'automated-install-7Qm2rP9xLk4z';
    const t = await startTestServer(backend, { env: { ...PROXY, TOLLGATE_SETUP_TOKEN: token } });
    try {
      expect(t.server.setup).toEqual({ kind: 'here', token, source: 'environment' });
      expect(existsSync(join(t.dataDir, 'setup-token'))).toBe(false);
      expect((await signUp(t, { ...OWNER, setup_token: `${token}x` })).status).toBe(401);
      expect((await signUp(t, { ...OWNER, setup_token: token })).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('works whichever instance the sign-up reaches: one generates it, another on the same database checks it', async () => {
    // Two instances, each with its own data dir, on one database (PostgreSQL schema, or one SQLite file).
    const shared = mkdtempSync(join(tmpdir(), 'tollgate-shared-'));
    const schema = freshSchema();
    const env = { ...PROXY, ...(backend.name === 'sqlite' ? { DATABASE_URL: `sqlite:${join(shared, 'shared.db')}` } : {}) };
    const a = await startTestServer(backend, { env, schema, noAdminKey: true });
    const b = await startTestServer(backend, { env, schema, keepSchema: true, noAdminKey: true });
    try {
      expect(a.server.setup.kind).toBe('here');
      expect(b.server.setup).toEqual({ kind: 'elsewhere' });
      expect(existsSync(join(b.dataDir, 'setup-token'))).toBe(false);
      expect((await signUp(b, { ...OWNER, setup_token: 'not-the-token-at-all-00000000' })).status).toBe(401);
      expect((await signUp(b, { ...OWNER, setup_token: a.setupToken })).status).toBe(200);
      expect((await signUp(a, { email: 'x@example.com', password: 'another fine passphrase', setup_token: a.setupToken })).status).toBe(403);
      // A notices within its poll (5 × TOLLGATE_CHANGE_POLL_MS = 1 s here) and removes its copy.
      const file = join(a.dataDir, 'setup-token');
      for (let i = 0; i < 100 && existsSync(file); i++) await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(file)).toBe(false);
    } finally {
      await b.close();
      await a.close();
      rmSync(shared, { recursive: true, force: true });
    }
  });

  describe('tollgate users create-owner (local data dir)', () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer(backend, { env: PROXY });
    });
    afterAll(async () => t?.close());

    it('refuses a password breaking any rule (common, the email, its name part, too short, too long), creating nothing', async () => {
      for (const [password, rule] of [
        ['password1', /most common passwords/],
        ['Ops.Team@Example.com', /it is your email address/],
        ['ops.team', /the name part of your email address/],
        ['Tr0ub4d', /shorter than 8 characters/],
        ['x'.repeat(1025), /longer than 1024 characters/],
      ] as const) {
        const r = await cli(cliEnv(backend, t), `${password}\n`, 'users', 'create-owner', '--email', 'ops.team@example.com', '--password-stdin');
        expect(r.code).toBe(1);
        expect(r.err).toMatch(rule);
        expect(r.err).toContain(PASSWORD_RULES);
      }
      expect(await tokenDigestRow(t)).toBeDefined();
      expect(await t.server.runtime.database.db.selectFrom('users').select('id').executeTakeFirst()).toBeUndefined();
    });

    it('refuses --server (it is the local way in), and asks for the password rather than taking it as an argument', async () => {
      const remote = await cli(cliEnv(backend, t), 'x\n', '--server', t.url, '--admin-key', t.adminKey, 'users', 'create-owner', '--email', 'ops@example.com', '--password-stdin');
      expect(remote.code).toBe(1);
      expect(remote.err).toMatch(/local data dir/);
      const positional = await cli(cliEnv(backend, t), null, 'users', 'create-owner', '--email', 'ops@example.com', '--password', 'x');
      expect(positional.code).not.toBe(0);
      let asked = 0;
      let out = '';
      let err = '';
      const prompted = await runCli(['node', 'tollgate', 'users', 'create-owner', '--email', 'ops@example.com'], {
        env: cliEnv(backend, t),
        out: (s) => (out += s),
        err: (s) => (err += s),
        promptHidden: async () => (asked++ === 0 ? 'first passphrase typed' : 'second passphrase typed'),
      });
      expect(asked).toBe(2);
      expect(prompted).toBe(1);
      expect(err).toMatch(/do not match/);
      expect(out).toBe('');
    });

    it('creates the owner from stdin, voids the setup token (file and digest), and is refused a second time', async () => {
      const r = await cli(cliEnv(backend, t), `${OWNER.password}\n`, 'users', 'create-owner', '--email', OWNER.email, '--name', 'Olive', '--password-stdin', '--json');
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const created = JSON.parse(r.out);
      expect(created).toMatchObject({ object: 'organization.user', email: OWNER.email, role: 'owner' });
      expect(existsSync(join(t.dataDir, 'setup-token'))).toBe(false);
      expect(await tokenDigestRow(t)).toBeUndefined();
      expect(await login(t, OWNER.email, OWNER.password)).toBe(200);
      const [added] = (await auditOf(t, 'user.added')).filter((e) => e.object_id === created.id);
      expect(added.actor_type).toBe('cli');
      expect(added.details.data).toEqual({ email: OWNER.email, role: 'owner' });
      // The server's token is void now.
      expect((await signUp(t, { email: 'late@example.com', password: 'another fine passphrase', setup_token: t.setupToken })).status).toBe(403);
      const again = await cli(cliEnv(backend, t), 'yet another passphrase\n', 'users', 'create-owner', '--email', 'two@example.com', '--password-stdin');
      expect(again.code).toBe(1);
      expect(again.err).toMatch(/already has an account/);
    });
  });

  it('a fresh start of the real entry point prints the token in its banner (not in its log lines), and it works', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-banner-'));
    const schema = freshSchema();
    if (backend.url) {
      const c = new pg.Client({ connectionString: backend.url });
      await c.connect();
      await c.query(`CREATE SCHEMA "${schema}"`);
      await c.end();
    }
    const env: Record<string, string> = { TOLLGATE_DATA_DIR: dataDir, LOG_LEVEL: 'info' };
    const url = databaseUrlFor(backend, schema);
    if (url) env.DATABASE_URL = url;
    try {
      const child = await startChildServer(env, 60_000);
      try {
        await waitFor(() => /setup token:/.test(child.output()) && child.output().includes('the first sign-up needs the setup token'));
        const token = /setup token:\n\n {4}([0-9A-Za-z]{32})\n/.exec(child.output())?.[1] as string;
        expect(token).toMatch(/^[0-9A-Za-z]{32}$/);
        expect(child.output()).toContain(`It is also in ${join(dataDir, 'setup-token')}`);
        expect(child.output()).toContain('npx tollgate users create-owner --email');
        // The JSON log lines say an owner is missing, never the token.
        const logLines = child.output().split('\n').filter((l) => l.startsWith('{'));
        expect(logLines.some((l) => l.includes('the first sign-up needs the setup token'))).toBe(true);
        expect(logLines.join('\n')).not.toContain(token);
        expect(readFileSync(join(dataDir, 'setup-token'), 'utf8')).toBe(`${token}\n`);
        expect(statSync(join(dataDir, 'setup-token')).mode & 0o777).toBe(0o600);
        expect((await signUp(child, OWNER)).status).toBe(401);
        expect((await signUp(child, { ...OWNER, setup_token: token })).status).toBe(200);
        expect(existsSync(join(dataDir, 'setup-token'))).toBe(false);
      } finally {
        await child.stop();
      }
      // A later start, once claimed: no token, and where it serves in words.
      const again = await startChildServer(env, 60_000);
      try {
        await waitFor(() => again.output().includes('Tollgate is running at'));
        expect(again.output()).toContain(`Tollgate is running at ${again.url}`);
        expect(again.output()).not.toContain('setup token:');
      } finally {
        await again.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      if (backend.url) {
        const c = new pg.Client({ connectionString: backend.url });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await c.end();
      }
    }
  }, 120_000);
});

async function waitFor(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  for (let waited = 0; !check(); waited += 50) {
    if (waited > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
