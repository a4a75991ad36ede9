import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { databaseUrlFor, describeEachDatabase } from './harness/backends.js';
import { type KeyedUpstream, startKeyedUpstream } from './harness/keyed-upstream.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Found by a review of secrets at rest: the local CLI run from another directory (docs/cli.md) on the server's
// PostgreSQL made a data dir and a random secret of its own, sealed a provider key under it and answered "Added key …"
// with exit 0; the server could not open it (503 "has no usable key") while the API showed it active. Any secret was
// taken: a SQLite CLI without the server's TOLLGATE_SECRET, two instances with different secrets on one PostgreSQL.
// Now the database keeps a verifier of the secret it was first started with, and every start (server or CLI) checks it.

const ORG = '/v1/organization';
const SECRET = 'server-secret-check-test-secret-0123456789';
const OTHER = 'another-secret-nobody-shares-0123456789abcd';
const KEY = 'sk-secret-check-provider-key-0123456789cdef';

describeEachDatabase('the server secret checked against the database', (backend) => {
  let t: TestServer;
  let up: KeyedUpstream;
  let providerId: string;
  const dirs: string[] = [];

  const cli = async (env: Record<string, string | undefined>, stdin: string | null, ...args: string[]) => {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'tollgate', ...args], {
      env: { LOG_LEVEL: 'silent', ...env },
      out: (s) => (out += s),
      err: (s) => (err += s),
      ...(stdin !== null ? { readStdin: async () => stdin } : {}),
    });
    return { code, out, err };
  };
  const credentials = async () => (await t.server.runtime.database.db.selectFrom('provider_credentials').select('id').execute()).length;

  beforeAll(async () => {
    up = await startKeyedUpstream([KEY]);
    t = await startTestServer(backend, { env: { TOLLGATE_SECRET: SECRET } });
    providerId = (await t.api('POST', `${ORG}/providers`, { body: { name: 'checked', base_url: `${up.url}/v1`, models: ['checked-model'] } })).body.id;
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('refuses a CLI run without the server secret (a new data dir and secret of its own), writing nothing', async () => {
    // PostgreSQL: run from another directory (its own ./data). SQLite: the server's data dir, without TOLLGATE_SECRET.
    const elsewhere = mkdtempSync(join(tmpdir(), 'tollgate-cli-elsewhere-'));
    dirs.push(elsewhere);
    const dataDir = backend.name === 'postgres' ? join(elsewhere, 'data') : t.dataDir;
    const env = { TOLLGATE_DATA_DIR: dataDir, DATABASE_URL: databaseUrlFor(backend, t.schema) };
    const r = await cli(env, `${KEY}\n`, 'providers', 'credentials', 'add', 'checked', '--value-stdin');
    expect(r.code, r.out).toBe(1);
    expect(r.out).not.toMatch(/Added key/);
    expect(r.err).toMatch(/TOLLGATE_SECRET/);
    expect(r.err).toContain(join(dataDir, 'secret'));
    // The secret it made is not kept (a later start there would be refused the same way), nor the data dir it made.
    expect(existsSync(join(dataDir, 'secret'))).toBe(false);
    expect(existsSync(join(elsewhere, 'data'))).toBe(false);
    expect(await credentials()).toBe(0);
    // Another TOLLGATE_SECRET is refused the same way; the server's own is taken.
    const wrong = await cli({ ...env, TOLLGATE_SECRET: OTHER }, `${KEY}\n`, 'providers', 'credentials', 'add', 'checked', '--value-stdin');
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/TOLLGATE_SECRET/);
    expect(wrong.err).not.toContain(OTHER);
    expect(await credentials()).toBe(0);
    const right = await cli({ ...env, TOLLGATE_SECRET: SECRET }, `${KEY}\n`, 'providers', 'credentials', 'add', 'checked', '--value-stdin');
    expect(right.code, right.err).toBe(0);
    expect(await credentials()).toBe(1);
  });

  it('refuses a second server started with another secret on the same database', async () => {
    // SQLite: the server's database file, from a data dir of its own.
    const env: Record<string, string> = backend.name === 'sqlite' ? { TOLLGATE_SECRET: OTHER, DATABASE_URL: `sqlite:${join(t.dataDir, 'tollgate.db')}` } : { TOLLGATE_SECRET: OTHER };
    const again = startTestServer(backend, { env, schema: t.schema, keepSchema: true });
    await expect(again).rejects.toThrow(/TOLLGATE_SECRET/);
  });

  it('shows a credential that cannot be decrypted as unusable (disabled_reason undecryptable), not active', async () => {
    const c = await t.api('POST', `${ORG}/providers/${providerId}/credentials`, { body: { value: KEY } });
    expect(c.body).toMatchObject({ status: 'active', disabled_reason: null });
    // What another secret sealed (or an altered row) is not this server's: its last characters changed.
    const row = await t.server.runtime.database.db.selectFrom('provider_credentials').select('secret_ciphertext').where('id', '=', c.body.id).executeTakeFirstOrThrow();
    const altered = `${row.secret_ciphertext.slice(0, -2)}${row.secret_ciphertext.endsWith('AA') ? 'BB' : 'AA'}`;
    await t.server.runtime.database.db.updateTable('provider_credentials').set({ secret_ciphertext: altered }).where('id', '=', c.body.id).execute();
    const read = await t.api('GET', `${ORG}/providers/${providerId}/credentials/${c.body.id}`);
    expect(read.body).toMatchObject({ id: c.body.id, status: 'disabled', disabled_reason: 'undecryptable' });
    const list = await t.api('GET', `${ORG}/providers/${providerId}/credentials`);
    expect(list.body.data.find((x: { id: string }) => x.id === c.body.id)).toMatchObject({ status: 'disabled', disabled_reason: 'undecryptable' });
    // Rotated under this server's secret, it is usable again.
    const rotated = await t.api('POST', `${ORG}/providers/${providerId}/credentials/${c.body.id}/rotate`, { body: { value: KEY } });
    expect(rotated.body).toMatchObject({ status: 'active', disabled_reason: null });
    expect((await t.api('GET', `${ORG}/providers/${providerId}/credentials/${c.body.id}`)).body).toMatchObject({ status: 'active', disabled_reason: null });
  });
});

describeEachDatabase('a database from before the secret verifier', (backend) => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    for (const s of servers.reverse()) await s.close().catch(() => {});
  });
  const start = async (secret: string, from?: TestServer) => {
    const s = await startTestServer(backend, { env: { TOLLGATE_SECRET: secret }, keepSchema: true, ...(from ? { dataDir: from.dataDir, schema: from.schema, noAdminKey: true } : {}) });
    servers.push(s);
    return s;
  };
  const forgetVerifier = (s: TestServer) => s.server.runtime.database.db.deleteFrom('settings').where('name', '=', 'server_secret_verifier').execute();
  const verifier = async (s: TestServer) => (await s.server.runtime.database.db.selectFrom('settings').select('value').where('name', '=', 'server_secret_verifier').executeTakeFirst())?.value;

  it('takes the secret that opens what is sealed there, and writes its verifier; refuses one that opens none of it', async () => {
    const first = await start(SECRET);
    const stored = await verifier(first);
    expect(stored).toBeTruthy();
    expect(stored).not.toContain(SECRET);
    const p = await first.api('POST', `${ORG}/providers`, { body: { name: 'old', base_url: 'http://127.0.0.1:9/v1', models: ['old-model'] } });
    await first.api('POST', `${ORG}/providers/${p.body.id}/credentials`, { body: { value: KEY } });
    await forgetVerifier(first);
    await first.server.close();
    await expect(start(OTHER, first)).rejects.toThrow(/TOLLGATE_SECRET/);
    const second = await start(SECRET, first);
    expect(await verifier(second)).toBeTruthy();
    await second.server.close();
    await expect(start(OTHER, first)).rejects.toThrow(/TOLLGATE_SECRET/);
  });

  it('takes any secret when nothing is sealed there yet', async () => {
    const first = await start(SECRET);
    await forgetVerifier(first);
    await first.server.close();
    const second = await start(OTHER, first);
    expect(await verifier(second)).toBeTruthy();
    expect(existsSync(second.dataDir)).toBe(true);
  });
});
