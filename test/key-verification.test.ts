import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRuntime } from '../src/runtime.js';
import { loadConfig } from '../src/config/config.js';
import { revokeProjectKey } from '../src/services/api-keys.js';
import { checkSecret } from '../src/services/verify-secret.js';
import { databaseUrlFor, describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

const ORG = '/v1/organization';

describeEachDatabase('key verification', (backend) => {
  let t: TestServer;
  let now = Date.now();
  const clock = () => now;
  beforeAll(async () => {
    t = await startTestServer(backend, { clock });
  });
  afterAll(async () => t?.close());

  const check = async (secret: string, ip = '127.0.0.1') => {
    const r = await checkSecret(t.server.runtime.keyCache, secret, Math.floor(clock() / 1000), ip);
    return r.ok ? 'ok' : r.code;
  };
  const create = async (body: Record<string, unknown> = {}) =>
    (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'v', ...body } })).body;

  it('refuses a revoked key from the moment revoke returns, even when cached', async () => {
    const k = await create();
    expect(await check(k.value)).toBe('ok');
    expect(await check(k.value)).toBe('ok'); // now cached
    const res = await t.api('DELETE', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}`);
    expect(res.status).toBe(200);
    expect(await check(k.value)).toBe('revoked');
  });

  it('never re-caches a key as active when a revoke races a cache fill', async () => {
    const k = await create();
    const rt = t.server.runtime;
    const pending = checkSecret(rt.keyCache, k.value, Math.floor(clock() / 1000), '127.0.0.1'); // miss: load in flight
    await revokeProjectKey(rt.deps, rt.org.id, t.defaultProjectId, k.id, { type: 'system', id: null });
    await pending;
    expect(await check(k.value)).toBe('revoked');
  });

  it('keeps the old secret through the rotation grace period, then refuses it', async () => {
    const k = await create();
    expect(await check(k.value)).toBe('ok');
    const rot = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}/rotate`, { body: { grace_period_seconds: 60 } });
    expect(await check(rot.body.value)).toBe('ok');
    expect(await check(k.value)).toBe('ok');
    now += 61_000;
    expect(await check(k.value)).toBe('secret_rotated');
    expect(await check(rot.body.value)).toBe('ok');
  });

  it('refuses immediately with a zero grace period', async () => {
    const k = await create();
    await check(k.value);
    await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}/rotate`, { body: { grace_period_seconds: 0 } });
    expect(await check(k.value)).toBe('secret_rotated');
  });

  it('refuses after expiry', async () => {
    const k = await create({ expires_at: Math.floor(now / 1000) + 30 });
    expect(await check(k.value)).toBe('ok');
    now += 31_000;
    expect(await check(k.value)).toBe('expired');
    const got = await t.api('GET', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}`);
    expect(got.body.status).toBe('expired');
  });

  it('refuses keys of an archived project, and applies IP allowlists', async () => {
    const p = (await t.api('POST', `${ORG}/projects`, { body: { name: 'to-archive' } })).body.id;
    const k = (await t.api('POST', `${ORG}/projects/${p}/api_keys`, { body: { name: 'a', allowed_ips: ['10.0.0.0/8'] } })).body;
    expect(await check(k.value, '10.1.1.1')).toBe('ok');
    expect(await check(k.value, '127.0.0.1')).toBe('ip_not_allowed');
    await t.api('POST', `${ORG}/projects/${p}/archive`);
    expect(await check(k.value, '10.1.1.1')).toBe('project_archived');
  });

  it('refuses malformed, bad-checksum and unknown keys', async () => {
    const k = await create();
    const flipped = k.value.slice(0, -1) + (k.value.endsWith('A') ? 'B' : 'A');
    expect(await check(flipped)).toBe('malformed');
    expect(await check('sk-tg-short')).toBe('malformed');
    const rt = t.server.runtime;
    const { generateSecret } = await import('../src/core/key-format.js');
    expect(await check(generateSecret('project', rt.deps.randomBytes))).toBe('unknown');
  });

  it('sees a revoke made by another process (the CLI) through the change feed', async () => {
    const k = await create();
    expect(await check(k.value)).toBe('ok');
    const other = await createRuntime(
      loadConfig({ TOLLGATE_DATA_DIR: t.dataDir, LOG_LEVEL: 'silent', ...(backend.url ? { DATABASE_URL: databaseUrlFor(backend, t.schema) } : {}) }),
    );
    try {
      await revokeProjectKey(other.deps, other.org.id, t.defaultProjectId, k.id, { type: 'cli', id: 'test' });
    } finally {
      await other.close();
    }
    expect(other.org.id).toBe(t.orgId);
    // Polled until seen, within a bound: a poll already under way when the revoke committed (the feed's own timer's,
    // slow on a loaded machine) is the one an explicit poll() joins, and it cannot have seen it.
    await expect
      .poll(
        async () => {
          await t.server.runtime.changeFeed.poll();
          return check(k.value);
        },
        { timeout: 10_000, interval: 50 },
      )
      .toBe('revoked');
  });
});
