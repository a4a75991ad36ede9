import { createCipheriv, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { derivedKey, PROVIDER_CREDENTIALS } from '../src/infra/aes-gcm-cipher.js';
import { describeEachDatabase } from './harness/backends.js';
import { type KeyedUpstream, startKeyedUpstream } from './harness/keyed-upstream.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Found by a review of secrets at rest: a provider key's ciphertext was bound to its credential id alone, so a write to
// the database (no secret needed) sent the key anywhere at the next start: the credential's row moved onto another
// provider, or the provider's base_url changed under it. docs/providers.md promises a key "is never sent anywhere but
// to the URL it was added for". Its ciphertext is now bound to its provider and that provider's base URL as well.

const ORG = '/v1/organization';
const SECRET = 'credential-binding-test-secret-0123456789ab';
const KEY = 'sk-bound-provider-key-0123456789abcdefBND1';

describeEachDatabase('a provider key bound to its provider and URL', (backend) => {
  let good: KeyedUpstream;
  let evil: KeyedUpstream;
  let t: TestServer;
  let projectKey: string;
  let adminKey: string;

  const restart = async () => {
    await t.server.close();
    t = await startTestServer(backend, { env: { TOLLGATE_SECRET: SECRET }, dataDir: t.dataDir, schema: t.schema, noAdminKey: true, keepSchema: true });
  };
  const chat = (model: string) =>
    fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${projectKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });
  const db = () => t.server.runtime.database.db;
  // The harness's admin key of the first start (a restart makes none).
  const api = (method: string, path: string, body?: unknown) => t.api(method, path, { key: adminKey, ...(body === undefined ? {} : { body }) });

  beforeAll(async () => {
    good = await startKeyedUpstream([KEY]);
    evil = await startKeyedUpstream([]);
    t = await startTestServer(backend, { env: { TOLLGATE_SECRET: SECRET }, keepSchema: true });
    adminKey = t.adminKey;
    projectKey = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'bound' } })).body.value;
  });
  afterAll(async () => {
    await t?.close();
    await good?.close();
    await evil?.close();
  });

  it('is not sent to another provider its row was moved onto, nor to a base_url changed in the database', async () => {
    const home = (await api('POST', `${ORG}/providers`, { name: 'home', base_url: `${good.url}/v1`, models: ['home-model'] })).body.id;
    const other = (await api('POST', `${ORG}/providers`, { name: 'other', base_url: `${evil.url}/v1`, models: ['other-model'] })).body.id;
    const c = (await api('POST', `${ORG}/providers/${home}/credentials`, { value: KEY })).body.id;
    expect((await chat('home-model')).status).toBe(200);
    expect(good.keys).toEqual([KEY]);

    // The credential's row moved onto the other provider.
    await db().updateTable('provider_credentials').set({ provider_id: other }).where('id', '=', c).execute();
    await restart();
    const moved = await chat('other-model');
    expect(evil.keys).not.toContain(KEY);
    expect(moved.status).toBe(503);
    expect((await api('GET', `${ORG}/providers/${other}/credentials/${c}`)).body).toMatchObject({ status: 'disabled', disabled_reason: 'undecryptable' });

    // Back where it was, it opens again; then its provider's base_url changed in the database.
    await db().updateTable('provider_credentials').set({ provider_id: home }).where('id', '=', c).execute();
    await restart();
    good.keys.length = 0;
    expect((await chat('home-model')).status).toBe(200);
    expect(good.keys).toEqual([KEY]);
    await db().updateTable('runtime_providers').set({ base_url: `${evil.url}/v1` }).where('id', '=', home).execute();
    await restart();
    const redirected = await chat('home-model');
    expect(evil.keys).not.toContain(KEY);
    expect(redirected.status).toBe(503);
  });

  it('still opens a key sealed in the first format (bound to its credential alone), and seals it again bound to its provider at start', async () => {
    const p = (await api('POST', `${ORG}/providers`, { name: 'older', base_url: `${good.url}/v1`, models: ['older-model'] })).body.id;
    const c = (await api('POST', `${ORG}/providers/${p}/credentials`, { value: 'sk-placeholder-0000000000000000' })).body.id;
    // As an earlier version wrote it: v1, the same key, the credential id as its only authenticated data.
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', derivedKey(SECRET, PROVIDER_CREDENTIALS), iv);
    cipher.setAAD(Buffer.from(c));
    const ct = Buffer.concat([cipher.update(KEY, 'utf8'), cipher.final()]);
    const v1 = ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
    await db().updateTable('provider_credentials').set({ secret_ciphertext: v1 }).where('id', '=', c).execute();
    await restart();
    const stored = await db().selectFrom('provider_credentials').select('secret_ciphertext').where('id', '=', c).executeTakeFirstOrThrow();
    expect(stored.secret_ciphertext).toMatch(/^v2\./);
    good.keys.length = 0;
    expect((await chat('older-model')).status).toBe(200);
    expect(good.keys).toEqual([KEY]);
    expect((await api('GET', `${ORG}/providers/${p}/credentials/${c}`)).body).toMatchObject({ status: 'active', disabled_reason: null });
  });

  it('still refuses a base_url change through the API while the provider holds keys (409)', async () => {
    const p = (await api('POST', `${ORG}/providers`, { name: 'held', base_url: `${good.url}/v1`, models: ['held-model'] })).body.id;
    expect((await api('POST', `${ORG}/providers/${p}/credentials`, { value: KEY })).status).toBe(200);
    const moved = await api('POST', `${ORG}/providers/${p}`, { base_url: `${evil.url}/v1` });
    expect(moved.status).toBe(409);
  });
});
