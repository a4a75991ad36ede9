import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { setupTokenFile } from '../src/infra/setup-token-file.js';
import { noopChanges, type ServiceDeps } from '../src/services/context.js';
import type { TollgateError } from '../src/core/errors.js';
import { ensureInitialized } from '../src/services/bootstrap.js';
import { isOwnerSignupOpen, isSetupTokenValid, provisionSetupToken, type SetupTokenFile } from '../src/services/setup-token.js';
import { createOwner } from '../src/services/sign-up.js';
import { type Database, openDatabase } from '../src/storage/database.js';
import { describeEachDatabase, freshSchema } from './harness/backends.js';
import { testPasswords } from './harness/server.js';

// provisionSetupToken at each start, as one instance after another (or several at once) would see it.

describeEachDatabase('setup token provisioning', (backend) => {
  let database: Database;
  let deps: ServiceDeps;
  const schema = freshSchema();
  const dirs: string[] = [];
  const dataDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'tollgate-setup-'));
    dirs.push(d);
    return d;
  };
  beforeAll(async () => {
    database = await openDatabase({ url: backend.url, dataDir: dataDir(), schema: backend.url ? schema : undefined });
    deps = { database, clock: () => Date.UTC(2026, 0, 1), randomBytes: (n) => randomBytes(n), changes: noopChanges, passwords: testPasswords };
  });
  afterAll(async () => {
    await database?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (backend.url) {
      const c = new pg.Client({ connectionString: backend.url });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    }
  });

  let first: SetupTokenFile;
  let token: string;

  it('generates a token into the data dir (0600) on the first start, and gives the same one at the next', async () => {
    first = setupTokenFile(dataDir());
    const state = await provisionSetupToken(deps, first, undefined);
    expect(state).toMatchObject({ kind: 'here', source: 'generated' });
    token = (state as { token: string }).token;
    expect(first.read()).toBe(token);
    expect(statSync(first.path).mode & 0o777).toBe(0o600);
    expect(await provisionSetupToken(deps, first, undefined)).toEqual({ kind: 'here', token, source: 'generated' });
    expect(await isSetupTokenValid(deps, token)).toBe(true);
    // The last character changed (to another one: a random token may end in any of them).
    expect(await isSetupTokenValid(deps, `${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}`)).toBe(false);
  });

  it('another instance (own data dir) does not make its own: the token is elsewhere', async () => {
    const other = setupTokenFile(dataDir());
    expect(await provisionSetupToken(deps, other, undefined)).toEqual({ kind: 'elsewhere' });
    expect(other.read()).toBeNull();
  });

  it('instances starting together keep one token; the others remove the copies they wrote', async () => {
    await database.db.deleteFrom('settings').where('name', '=', 'setup.token_sha256').execute();
    const files = [setupTokenFile(dataDir()), setupTokenFile(dataDir()), setupTokenFile(dataDir())];
    const states = await Promise.all(files.map((f) => provisionSetupToken(deps, f, undefined)));
    const here = states.filter((s) => s.kind === 'here');
    expect(here).toHaveLength(1);
    expect(files.filter((f) => f.read() !== null)).toHaveLength(1);
    token = (here[0] as { token: string }).token;
    expect(await isSetupTokenValid(deps, token)).toBe(true);
    first.remove();
  });

  it('TOLLGATE_SETUP_TOKEN replaces a generated token and removes the generated copy', async () => {
    const file = setupTokenFile(dataDir());
    file.write('a'.repeat(32));
    const configured = 'configured-token-for-automation-01';
    expect(await provisionSetupToken(deps, file, configured)).toEqual({ kind: 'here', token: configured, source: 'environment' });
    expect(file.read()).toBeNull();
    expect(await isSetupTokenValid(deps, configured)).toBe(true);
    expect(await isSetupTokenValid(deps, token)).toBe(false);
  });

  it('a claim left by a crash before its account committed does not close owner sign-up, nor void the token at the next start', async () => {
    // What a process killed between claiming the slot and committing the account left (found by review): the claim
    // row and no account. create-owner said "already has an account" and every later start voided the token.
    await database.db.insertInto('settings').values({ name: 'dashboard.owner_claimed', value: 'crashed@example.com' }).execute();
    expect(await isOwnerSignupOpen(deps)).toBe(true);
    const file = setupTokenFile(dataDir());
    const state = await provisionSetupToken(deps, file, 'configured-token-for-automation-01');
    expect(state.kind).toBe('here');
    expect(await isSetupTokenValid(deps, 'configured-token-for-automation-01')).toBe(true);
  });

  it('owner sign-ups at once make exactly one owner; then the token is void: digest deleted, file removed, nothing generated', async () => {
    const { org } = await ensureInitialized(deps);
    const actor = { type: 'cli', id: 'test', ip: null, userAgent: 'test' } as const;
    const emails = Array.from({ length: 6 }, (_, i) => `owner${i}@example.com`);
    const results = await Promise.allSettled(emails.map((email) => createOwner(deps, org.id, null, { email, password: 'Tollgate-owner-9x7q' }, actor)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as TollgateError).code).toBe('conflict');
    const withPassword = await database.db.selectFrom('users').select(['email', 'role']).where('password_hash', 'is not', null).execute();
    expect(withPassword).toHaveLength(1);
    expect(withPassword[0].role).toBe('owner');
    expect(await isOwnerSignupOpen(deps)).toBe(false);
    const file = setupTokenFile(dataDir());
    file.write('b'.repeat(32));
    expect(await provisionSetupToken(deps, file, undefined)).toEqual({ kind: 'claimed' });
    expect(file.read()).toBeNull();
    expect(await database.db.selectFrom('settings').selectAll().where('name', '=', 'setup.token_sha256').executeTakeFirst()).toBeUndefined();
    expect(await isSetupTokenValid(deps, 'configured-token-for-automation-01')).toBe(false);
    expect(await provisionSetupToken(deps, file, 'configured-token-for-automation-01')).toEqual({ kind: 'claimed' });
  });
});
