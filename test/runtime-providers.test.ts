import { mkdtempSync, readdirSync, rmSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AesGcmCipher } from '../src/infra/aes-gcm-cipher.js';
import { providerCredentialContext } from '../src/services/sealed-secrets.js';
import { describeEachDatabase, describeWithRedis } from './harness/backends.js';
import { type KeyedUpstream, startKeyedUpstream } from './harness/keyed-upstream.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { waitFor } from './harness/wait.js';

// Providers and credentials managed at run time (issue 20 §3): the admin API, what it never shows (the secret), the
// gateway routing through them at once, and what a wrong TOLLGATE_SECRET does.

const ORG = '/v1/organization';
const SECRET_A = 'sk-runtime-credential-AAAA-0123456789abcdefA1b2';
const SECRET_B = 'sk-runtime-credential-BBBB-0123456789abcdefB3c4';
const SECRET_C = 'sk-runtime-credential-CCCC-0123456789abcdefC5d6';
const REFUSED = 'sk-runtime-credential-REFUSED-0123456789abcdefR7';
const ALL_SECRETS = [SECRET_A, SECRET_B, SECRET_C, REFUSED];

/** Every file under a directory, as text (the SQLite database and its WAL included). */
function filesText(dir: string): string {
  let out = '';
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out += statSync(p).isDirectory() ? filesText(p) : readFileSync(p).toString('latin1');
  }
  return out;
}

describeEachDatabase('runtime providers', (backend) => {
  let t: TestServer;
  let up: KeyedUpstream;
  let projectKey: string;
  const logs: string[] = [];
  const answers: string[] = [];

  /** An admin call whose answer text is kept (to check that no secret is ever in one). */
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await t.api(method, path, body === undefined ? {} : { body });
    answers.push(res.text);
    return res;
  };
  const chat = (model = 'rt-model') =>
    fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${projectKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });

  beforeAll(async () => {
    up = await startKeyedUpstream([SECRET_A, SECRET_B, SECRET_C]);
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-rtp-'));
    const file = join(dir, 'tollgate.config.json');
    // A provider from the file, to clash with; it serves nothing the tests ask for.
    writeFileSync(file, JSON.stringify({ providers: [{ name: 'fromfile', base_url: `${up.url}/v1`, api_key_env: 'FILE_KEY' }], routes: { 'file-*': 'fromfile' } }));
    t = await startTestServer(backend, {
      env: { TOLLGATE_CONFIG: file, FILE_KEY: SECRET_A, TOLLGATE_SECRET: 'runtime-providers-test-secret-0123456789' },
      logger: pino({ level: 'trace' }, { write: (line: string) => logs.push(line) }),
    });
    projectKey = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'rt' } })).body.value;
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  it('creates, lists, reads, updates and deletes providers and credentials, showing each secret only redacted', async () => {
    const p = await api('POST', `${ORG}/providers`, { name: 'crud', kind: 'anthropic', base_url: 'https://api.anthropic.example/v1/', model_prefixes: ['claude-'] });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ object: 'organization.provider', name: 'crud', kind: 'anthropic', base_url: 'https://api.anthropic.example/v1', models: [], model_prefixes: ['claude-'], api_version: null, deployments: null });
    expect(p.body.id).toMatch(/^prov_[A-Za-z0-9]+$/);
    const c1 = await api('POST', `${ORG}/providers/${p.body.id}/credentials`, { value: SECRET_A, weight: 3 });
    expect(c1.status).toBe(200);
    expect(c1.body).toMatchObject({ object: 'organization.provider.credential', provider_id: p.body.id, redacted_value: 'sk-runtime-…A1b2', weight: 3, status: 'active', disabled_reason: null });
    expect(c1.body.id).toMatch(/^pcred_[A-Za-z0-9]+$/);
    const c2 = await api('POST', `${ORG}/providers/${p.body.id}/credentials`, { value: SECRET_B });
    expect(c2.body.weight).toBe(1);

    const list = await api('GET', `${ORG}/providers/${p.body.id}/credentials?limit=1`);
    expect(list.body).toMatchObject({ object: 'list', first_id: c1.body.id, last_id: c1.body.id, has_more: true });
    const rest = await api('GET', `${ORG}/providers/${p.body.id}/credentials?limit=1&after=${c1.body.id}`);
    expect(rest.body).toMatchObject({ data: [{ id: c2.body.id }], has_more: false });
    expect((await api('GET', `${ORG}/providers/${p.body.id}/credentials/${c2.body.id}`)).body.redacted_value).toBe('sk-runtime-…B3c4');
    expect((await api('GET', `${ORG}/providers`)).body.data.map((x: { name: string }) => x.name)).toContain('crud');

    const rotated = await api('POST', `${ORG}/providers/${p.body.id}/credentials/${c2.body.id}/rotate`, { value: SECRET_C });
    expect(rotated.body).toMatchObject({ redacted_value: 'sk-runtime-…C5d6', status: 'active' });
    expect(rotated.body.rotated_at).toEqual(expect.any(Number));
    expect((await api('POST', `${ORG}/providers/${p.body.id}/credentials/${c2.body.id}/disable`)).body).toMatchObject({ status: 'disabled', disabled_reason: 'manual' });
    expect((await api('POST', `${ORG}/providers/${p.body.id}/credentials/${c2.body.id}/enable`)).body).toMatchObject({ status: 'active', disabled_reason: null });
    const updated = await api('POST', `${ORG}/providers/${p.body.id}`, { models: ['claude-x'], api_version: '2023-06-01' });
    expect(updated.body).toMatchObject({ models: ['claude-x'], model_prefixes: ['claude-'], api_version: '2023-06-01' });
    expect((await api('DELETE', `${ORG}/providers/${p.body.id}/credentials/${c1.body.id}`)).body).toEqual({ object: 'organization.provider.credential.deleted', id: c1.body.id, deleted: true });
    expect((await api('GET', `${ORG}/providers/${p.body.id}/credentials/${c1.body.id}`)).status).toBe(404);
    expect((await api('DELETE', `${ORG}/providers/${p.body.id}`)).body).toEqual({ object: 'organization.provider.deleted', id: p.body.id, deleted: true });
    expect((await api('GET', `${ORG}/providers/${p.body.id}`)).status).toBe(404);

    const audit = await api('GET', `${ORG}/audit_logs?limit=100`);
    const types = audit.body.data.map((e: { type: string }) => e.type);
    for (const type of [
      'provider.created',
      'provider.updated',
      'provider.deleted',
      'provider_credential.created',
      'provider_credential.rotated',
      'provider_credential.disabled',
      'provider_credential.enabled',
      'provider_credential.deleted',
    ]) {
      expect(types, type).toContain(type);
    }
  });

  it('keeps names unique whatever their case under concurrent creates: one is made, the others get 409', async () => {
    const names = ['Racer', 'racer', 'RACER', 'rAcEr', 'racer'];
    const answers = await Promise.all(names.map((name) => api('POST', `${ORG}/providers`, { name, base_url: 'https://race.example' })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409, 409, 409]);
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body.error).toMatchObject({ param: 'name', message: expect.stringMatching(/already exists/) });
    // The database itself refuses a second spelling (what holds when two writes pass the service's check at once).
    const db = t.server.runtime.database.db;
    const row = await db.selectFrom('runtime_providers').selectAll().where('name', 'in', names).executeTakeFirstOrThrow();
    await expect(db.insertInto('runtime_providers').values({ ...row, seq: undefined, id: 'prov_other', name: row.name.toUpperCase() === row.name ? row.name.toLowerCase() : row.name.toUpperCase() } as never).execute()).rejects.toThrow();
  });

  it('refuses a name the config file or another runtime provider has (409), unknown parameters (400) and bad values', async () => {
    const clash = await api('POST', `${ORG}/providers`, { name: 'fromfile', base_url: 'https://x.example' });
    expect(clash.status).toBe(409);
    expect(clash.body.error).toMatchObject({ type: 'invalid_request_error', param: 'name' });
    expect((await api('POST', `${ORG}/providers`, { name: 'echo', base_url: 'https://x.example' })).status).toBe(409);
    const first = await api('POST', `${ORG}/providers`, { name: 'twice', base_url: 'https://x.example' });
    expect(first.status).toBe(200);
    expect((await api('POST', `${ORG}/providers`, { name: 'TWICE', base_url: 'https://y.example' })).status).toBe(409);
    const other = await api('POST', `${ORG}/providers`, { name: 'other', base_url: 'https://y.example' });
    expect((await api('POST', `${ORG}/providers/${other.body.id}`, { name: 'twice' })).status).toBe(409);

    const unknown = await api('POST', `${ORG}/providers`, { name: 'u', base_url: 'https://x.example', colour: 'red' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: 'unknown_parameter', param: 'colour' });
    const credUnknown = await api('POST', `${ORG}/providers/${first.body.id}/credentials`, { value: SECRET_A, label: 'x' });
    expect(credUnknown.body.error).toMatchObject({ code: 'unknown_parameter', param: 'label' });
    expect((await api('GET', `${ORG}/providers?colour=red`)).body.error).toMatchObject({ code: 'unknown_parameter', param: 'colour' });
    expect((await api('POST', `${ORG}/providers/${first.body.id}/credentials/pcred_none/disable`, { why: 1 })).body.error).toMatchObject({ code: 'unknown_parameter' });
    expect((await api('POST', `${ORG}/providers`, { name: 'az', kind: 'azure-openai', base_url: 'https://x.example' })).body.error).toMatchObject({ code: 'invalid_value', param: 'api_version' });
    expect((await api('POST', `${ORG}/providers`, { name: 'bad name', base_url: 'https://x.example' })).body.error).toMatchObject({ param: 'name' });
    expect((await api('POST', `${ORG}/providers`, { name: 'k', kind: 'gemini', base_url: 'https://x.example' })).body.error).toMatchObject({ param: 'kind' });
    const spaced = await api('POST', `${ORG}/providers/${first.body.id}/credentials`, { value: 'has a space in it' });
    expect(spaced.body.error).toMatchObject({ code: 'invalid_value', param: 'value' });
    expect(spaced.text).not.toContain('has a space');
    expect((await api('GET', `${ORG}/providers/prov_none/credentials`)).status).toBe(404);
    await api('DELETE', `${ORG}/providers/${first.body.id}`);
    await api('DELETE', `${ORG}/providers/${other.body.id}`);
  });

  it('refuses a base_url whose user, password, query or fragment would be dropped when it is used, keeping what is already stored', async () => {
    const p = await api('POST', `${ORG}/providers`, { name: 'urls', base_url: 'https://urls.example/v1' });
    for (const base_url of [
      'https://user:sk-in-the-url-0123456789@urls.example/v1',
      'https://token@urls.example/v1',
      'https://urls.example/v1?key=sk-in-the-query-0123456789',
      'https://urls.example/v1#frag',
      'ftp://urls.example/v1',
      'file:///etc/passwd',
    ]) {
      const created = await api('POST', `${ORG}/providers`, { name: 'urls-new', base_url });
      expect(created.status, base_url).toBe(400);
      expect(created.body.error, base_url).toMatchObject({ code: 'invalid_value', param: 'base_url' });
      expect(created.text, base_url).not.toContain('sk-in-the');
      const updated = await api('POST', `${ORG}/providers/${p.body.id}`, { base_url });
      expect(updated.status, base_url).toBe(400);
      expect(updated.body.error, base_url).toMatchObject({ code: 'invalid_value', param: 'base_url' });
    }
    expect((await api('GET', `${ORG}/providers/${p.body.id}`)).body.base_url).toBe('https://urls.example/v1');
    // What a base URL may be: http(s), a host with a port, a path.
    expect((await api('POST', `${ORG}/providers/${p.body.id}`, { base_url: 'http://127.0.0.1:11434/v1/' })).body.base_url).toBe('http://127.0.0.1:11434/v1');
    await api('DELETE', `${ORG}/providers/${p.body.id}`);
  });

  it('will not move a provider that holds keys to another URL: its keys would be sent there', async () => {
    const p = await api('POST', `${ORG}/providers`, { name: 'moving', base_url: 'https://moving.example/v1' });
    // Without keys, a provider goes anywhere.
    expect((await api('POST', `${ORG}/providers/${p.body.id}`, { base_url: 'https://moved.example/openai/v1' })).status).toBe(200);
    const c = await api('POST', `${ORG}/providers/${p.body.id}/credentials`, { value: SECRET_A });
    // The same URL (a trailing slash is not another) and other settings may still change.
    expect((await api('POST', `${ORG}/providers/${p.body.id}`, { base_url: 'https://moved.example/openai/v1/', models: ['m'] })).body).toMatchObject({ base_url: 'https://moved.example/openai/v1', models: ['m'] });
    const auditBefore = (await api('GET', `${ORG}/audit_logs?event_types=provider.updated`)).body.data.length;
    // Another server, or another path on it (a shared host serves its tenants by path).
    for (const base_url of ['https://attacker.example/v1', 'http://moved.example/openai/v1', 'https://moved.example:8443/openai/v1', 'https://moved.example/attacker/v1']) {
      const moved = await api('POST', `${ORG}/providers/${p.body.id}`, { base_url, name: 'moving-too' });
      expect(moved.status, base_url).toBe(409);
      expect(moved.body.error, base_url).toMatchObject({ code: 'conflict', param: 'base_url', message: expect.stringMatching(/keys/) });
    }
    // Nothing of the refused changes was made.
    expect((await api('GET', `${ORG}/providers/${p.body.id}`)).body).toMatchObject({ name: 'moving', base_url: 'https://moved.example/openai/v1' });
    expect((await api('GET', `${ORG}/audit_logs?event_types=provider.updated`)).body.data.length).toBe(auditBefore);
    // With its keys deleted, it may move.
    await api('DELETE', `${ORG}/providers/${p.body.id}/credentials/${c.body.id}`);
    expect((await api('POST', `${ORG}/providers/${p.body.id}`, { base_url: 'https://elsewhere.example/v1' })).status).toBe(200);
    await api('DELETE', `${ORG}/providers/${p.body.id}`);
  });

  it('routes a request to a runtime provider at once, with its credential; a rotation and a disable take effect on the next request', async () => {
    const p = await api('POST', `${ORG}/providers`, { name: 'rt', base_url: `${up.url}/v1`, models: ['rt-model'], model_prefixes: ['rtp-'] });
    const a = await api('POST', `${ORG}/providers/${p.body.id}/credentials`, { value: SECRET_A });
    up.keys.length = 0;
    const res = await chat();
    expect(res.status).toBe(200);
    expect((await res.json()).choices[0].message.content).toBe('hi');
    expect((await chat('rtp-anything')).status).toBe(200);
    expect(up.keys).toEqual([SECRET_A, SECRET_A]);

    await api('POST', `${ORG}/providers/${p.body.id}/credentials/${a.body.id}/rotate`, { value: SECRET_B });
    up.keys.length = 0;
    expect((await chat()).status).toBe(200);
    expect(up.keys).toEqual([SECRET_B]);

    // Two credentials, one disabled: only the other is used.
    const c = await api('POST', `${ORG}/providers/${p.body.id}/credentials`, { value: SECRET_C, weight: 1000 });
    await api('POST', `${ORG}/providers/${p.body.id}/credentials/${c.body.id}/disable`);
    up.keys.length = 0;
    for (let i = 0; i < 5; i++) expect((await chat()).status).toBe(200);
    expect(up.keys).toEqual(Array(5).fill(SECRET_B));
    // Enabled, with the other one disabled: the next request uses it (the weighted pick between usable keys is
    // core/credential-pool.test.ts's; leaning on a weight of 1000 to 1 here failed one run in a thousand).
    await api('POST', `${ORG}/providers/${p.body.id}/credentials/${c.body.id}/enable`);
    await api('POST', `${ORG}/providers/${p.body.id}/credentials/${a.body.id}/disable`);
    up.keys.length = 0;
    for (let i = 0; i < 3; i++) expect((await chat()).status).toBe(200);
    expect(up.keys).toEqual(Array(3).fill(SECRET_C));

    // Every key disabled: refused with 503 and nothing sent, not sent without a key; enabled again, used again.
    await api('POST', `${ORG}/providers/${p.body.id}/credentials/${c.body.id}/disable`);
    up.keys.length = 0;
    const none = await chat();
    expect(none.status).toBe(503);
    expect((await none.json()).error.code).toBe('upstream_unavailable');
    expect(up.keys).toEqual([]);
    await api('POST', `${ORG}/providers/${p.body.id}/credentials/${a.body.id}/enable`);
    expect((await chat()).status).toBe(200);
    expect(up.keys).toEqual([SECRET_B]);

    // A provider with no key stored at all is a server that takes none (Ollama, vLLM): sent without one.
    const keyless = await api('POST', `${ORG}/providers`, { name: 'keyless', base_url: `${up.url}/v1`, models: ['keyless-model'] });
    expect(keyless.status).toBe(200);
    up.keys.length = 0;
    await chat('keyless-model');
    expect(up.keys).toEqual(['']);

    // Deleted: the model is no longer routed there, but to the default provider (the file's, with its own key).
    await api('DELETE', `${ORG}/providers/${p.body.id}`);
    up.keys.length = 0;
    await chat();
    expect(up.keys).toEqual([SECRET_A]);
  });

  it("never takes a model the config file routes, however exactly it names it (a leaked admin key cannot pull every project's prompts to its own server)", async () => {
    const p = await api('POST', `${ORG}/providers`, { name: 'taker', base_url: `${up.url}/v1`, models: ['file-model'], model_prefixes: ['file-m'] });
    expect(p.status).toBe(200);
    await api('POST', `${ORG}/providers/${p.body.id}/credentials`, { value: SECRET_C });
    up.keys.length = 0;
    expect((await chat('file-model')).status).toBe(200);
    expect((await chat('file-model-2')).status).toBe(200);
    // Sent with the file's provider's key (SECRET_A), never the runtime one's.
    expect(up.keys).toEqual([SECRET_A, SECRET_A]);
    await api('DELETE', `${ORG}/providers/${p.body.id}`);
  });

  it('shows a credential the provider refused (401) as disabled, and stops using it', async () => {
    const p = await api('POST', `${ORG}/providers`, { name: 'refusing', base_url: `${up.url}/v1`, models: ['ref-model'] });
    const bad = await api('POST', `${ORG}/providers/${p.body.id}/credentials`, { value: REFUSED, weight: 1000 });
    await api('POST', `${ORG}/providers/${p.body.id}/credentials`, { value: SECRET_A, weight: 1 });
    up.keys.length = 0;
    for (let i = 0; i < 3; i++) expect((await chat('ref-model')).status).toBe(200);
    expect(up.keys.filter((k) => k === REFUSED)).toHaveLength(1);
    await waitFor(async () => (await t.api('GET', `${ORG}/providers/${p.body.id}/credentials/${bad.body.id}`)).body.status === 'disabled');
    expect((await api('GET', `${ORG}/providers/${p.body.id}/credentials/${bad.body.id}`)).body).toMatchObject({ status: 'disabled', disabled_reason: 'upstream_refused' });
    const audit = await api('GET', `${ORG}/audit_logs?event_types=provider_credential.failed`);
    expect(audit.body.data[0]['provider_credential.failed']).toMatchObject({ provider: 'refusing', credential: bad.body.id, status: 401 });
    // Rotated to a key the provider takes: the refusal was of the old key, so the credential is active again and used
    // from the next request on (a key disabled by hand stays disabled when rotated).
    const rotated = await api('POST', `${ORG}/providers/${p.body.id}/credentials/${bad.body.id}/rotate`, { value: SECRET_B });
    expect(rotated.body).toMatchObject({ status: 'active', disabled_reason: null });
    up.keys.length = 0;
    for (let i = 0; i < 3; i++) expect((await chat('ref-model')).status).toBe(200);
    expect(up.keys).toContain(SECRET_B);
    await api('POST', `${ORG}/providers/${p.body.id}/credentials/${bad.body.id}/disable`);
    expect((await api('POST', `${ORG}/providers/${p.body.id}/credentials/${bad.body.id}/rotate`, { value: SECRET_C })).body).toMatchObject({ status: 'disabled', disabled_reason: 'manual' });
    await api('DELETE', `${ORG}/providers/${p.body.id}`);
  });

  it('disables and audits a refused key once, however many requests (or instances) report it at once', async () => {
    const p = await api('POST', `${ORG}/providers`, { name: 'refused-twice', base_url: `${up.url}/v1`, models: ['twice-model'] });
    const bad = await api('POST', `${ORG}/providers/${p.body.id}/credentials`, { value: REFUSED });
    const providers = t.server.gateway.app.providers;
    const failure = { provider: 'refused-twice', credential: bad.body.id as string, status: 401 };
    // Two reports racing: one disables and audits; the other finds it disabled (not a rotation) and writes nothing.
    const outcomes = await Promise.all([providers.markRefused(t.orgId, failure, REFUSED), providers.markRefused(t.orgId, failure, REFUSED)]);
    expect(outcomes.sort()).toEqual(['disabled', 'not_active']);
    // A later one, and one of a key the credential no longer holds, change nothing either.
    expect(await providers.markRefused(t.orgId, failure, REFUSED)).toBe('not_active');
    const audit = await api('GET', `${ORG}/audit_logs?event_types=provider_credential.failed&limit=100`);
    expect(audit.body.data.filter((e: Record<string, { credential?: string }>) => e['provider_credential.failed']?.credential === bad.body.id)).toHaveLength(1);
    await api('POST', `${ORG}/providers/${p.body.id}/credentials/${bad.body.id}/rotate`, { value: SECRET_C });
    expect(await providers.markRefused(t.orgId, failure, REFUSED)).toBe('rotated');
    await api('DELETE', `${ORG}/providers/${p.body.id}`);
  });

  it('never shows a secret: not in any answer, audit entry, log line or the database', async () => {
    const texts = answers.join('\n');
    const audit = (await t.api('GET', `${ORG}/audit_logs?limit=100`)).text;
    const rows = JSON.stringify(await t.server.runtime.database.db.selectFrom('provider_credentials').selectAll().execute());
    const auditRows = JSON.stringify(await t.server.runtime.database.db.selectFrom('audit_logs').selectAll().execute());
    const files = backend.name === 'sqlite' ? filesText(t.dataDir) : '';
    for (const s of ALL_SECRETS) {
      for (const [where, text] of Object.entries({ answers: texts, audit, rows, auditRows, logs: logs.join('\n'), files })) {
        expect(text.includes(s), `${where} has ${s.slice(-4)}`).toBe(false);
        // Nor a long piece of it (a secret cut short is still a secret).
        expect(text.includes(s.slice(0, 30)), `${where} has part of ${s.slice(-4)}`).toBe(false);
      }
    }
    expect(texts.length).toBeGreaterThan(1000);
  });
});

describeEachDatabase('runtime providers under another TOLLGATE_SECRET', (backend) => {
  let up: KeyedUpstream;
  let second: TestServer | null = null;

  beforeAll(async () => {
    up = await startKeyedUpstream([SECRET_A, SECRET_B]);
  });
  afterAll(async () => {
    await second?.close();
    await up?.close();
  });

  it('is refused at start; a credential that cannot be decrypted is logged (without it), shown unusable and not used', async () => {
    const first = await startTestServer(backend, { env: { TOLLGATE_SECRET: 'the-first-server-secret-0123456789abcdef' }, keepSchema: true });
    const p = await first.api('POST', `${ORG}/providers`, { body: { name: 'sealed', base_url: `${up.url}/v1`, models: ['sealed-model'] } });
    const c = await first.api('POST', `${ORG}/providers/${p.body.id}/credentials`, { body: { value: SECRET_A } });
    // What another secret sealed, as a database from before the secret was checked at start may hold.
    const other = AesGcmCipher.forProviderCredentials('another-server-secret-0123456789abcdef0');
    await first.server.runtime.database.db
      .updateTable('provider_credentials')
      .set({ secret_ciphertext: other.seal(SECRET_A, providerCredentialContext(c.body.id, p.body.id, `${up.url}/v1`)) })
      .where('id', '=', c.body.id)
      .execute();
    await first.server.close();
    const restart = (env: Record<string, string>, logger?: Logger) =>
      startTestServer(backend, { env, dataDir: first.dataDir, schema: first.schema, noAdminKey: true, ...(logger ? { logger } : {}) });
    await expect(restart({ TOLLGATE_SECRET: 'another-server-secret-0123456789abcdef0' })).rejects.toThrow(/TOLLGATE_SECRET is not the server secret this database was set up with/);
    const logs: string[] = [];
    second = await restart({ TOLLGATE_SECRET: 'the-first-server-secret-0123456789abcdef' }, pino({ level: 'info' }, { write: (line: string) => logs.push(line) }));
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.credential === c.body.id);
    expect(line).toMatchObject({ level: 50, provider: 'sealed', provider_id: p.body.id });
    expect(line.msg).toMatch(/CANNOT BE DECRYPTED/);
    expect(logs.join('\n')).not.toContain(SECRET_A);
    const shown = await second.api('GET', `${ORG}/providers/${p.body.id}/credentials/${c.body.id}`, { key: first.adminKey });
    expect(shown.body).toMatchObject({ status: 'disabled', disabled_reason: 'undecryptable' });
    const key = (await second.api('POST', `${ORG}/projects/${second.defaultProjectId}/api_keys`, { body: { name: 'k' }, key: first.adminKey })).body.value;
    up.keys.length = 0;
    const refused = await fetch(`${second.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sealed-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    // Its only key cannot be opened: refused with 503, nothing sent (neither that key, nor anything made of it, nor
    // the request without a key, whose 401 the client would take for its own key refused).
    expect(refused.status).toBe(503);
    expect((await refused.json()).error).toMatchObject({ code: 'upstream_unavailable', message: expect.stringContaining("'sealed' has no usable key") });
    expect(up.keys).toEqual([]);
    // Rotated under the new secret, it is used again.
    await second.api('POST', `${ORG}/providers/${p.body.id}/credentials/${c.body.id}/rotate`, { body: { value: SECRET_B }, key: first.adminKey });
    up.keys.length = 0;
    await fetch(`${second.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sealed-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(up.keys).toEqual([SECRET_B]);
  });
});

describeWithRedis('runtime providers on two instances sharing PostgreSQL and Redis', (redisUrl) => {
  const pgUrl = process.env.TEST_DATABASE_URL;
  let a: TestServer | null = null;
  let b: TestServer | null = null;
  let up: KeyedUpstream;

  beforeAll(async () => {
    if (!pgUrl) throw new Error('this suite needs TEST_DATABASE_URL as well');
    up = await startKeyedUpstream([SECRET_A, SECRET_B]);
    const env = { REDIS_URL: redisUrl, TOLLGATE_SECRET: 'two-instances-share-this-secret-0123456789' };
    a = await startTestServer({ name: 'postgres', url: pgUrl }, { env, keepSchema: true });
    b = await startTestServer({ name: 'postgres', url: pgUrl }, { env, schema: a.schema });
  });
  afterAll(async () => {
    await a?.server.close();
    if (a) rmSync(a.dataDir, { recursive: true, force: true });
    await b?.close();
    await up?.close();
  });

  it('a provider added, rotated and disabled on one instance is used so by the other within seconds', async () => {
    const one = a as TestServer;
    const two = b as TestServer;
    const key = (await one.api('POST', `${ORG}/projects/${one.defaultProjectId}/api_keys`, { body: { name: 'both' } })).body.value;
    let lastStatus = 0;
    const viaB = async () => {
      up.keys.length = 0;
      const res = await fetch(`${two.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'shared-model', messages: [{ role: 'user', content: 'hi' }] }),
      });
      lastStatus = res.status;
      return up.keys[0] ?? null;
    };
    expect(await viaB()).toBe(null); // the echo model answers it: no provider serves it yet
    const p = await one.api('POST', `${ORG}/providers`, { body: { name: 'shared', base_url: `${up.url}/v1`, models: ['shared-model'] } });
    const c = await one.api('POST', `${ORG}/providers/${p.body.id}/credentials`, { body: { value: SECRET_A } });
    await waitFor(async () => (await viaB()) === SECRET_A);
    await one.api('POST', `${ORG}/providers/${p.body.id}/credentials/${c.body.id}/rotate`, { body: { value: SECRET_B } });
    await waitFor(async () => (await viaB()) === SECRET_B);
    await one.api('POST', `${ORG}/providers/${p.body.id}/credentials/${c.body.id}/disable`);
    // No usable credential left: refused (503) on the other instance too, nothing sent.
    await waitFor(async () => (await viaB()) === null && lastStatus === 503);
  });
});
