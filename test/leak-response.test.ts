import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { hashSecret } from '../src/core/key-format.js';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

const ORG = '/v1/organization';

describeEachDatabase('leak response', (backend) => {
  let t: TestServer;
  const trusted = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const forger = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-leak-'));
    const file = join(dir, 'tollgate.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        secret_scanning: { reporters: [{ name: 'codehost', key_id: 'kid-1', public_key: trusted.publicKey.export({ type: 'spki', format: 'pem' }) }] },
      }),
    );
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file } });
  });
  afterAll(async () => t?.close());

  const newKey = async () => (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'leaky' } })).body;
  const models = (k: string) => new OpenAI({ apiKey: k, baseURL: `${t.url}/v1`, maxRetries: 0 }).models.list();
  const auditCount = async (type: string) => (await t.api('GET', `${ORG}/audit_logs?event_types=${type}&limit=100`)).body.data.length;
  const postSigned = (body: string, keyId: string, privateKey: Parameters<typeof sign>[2] | null, contentType = 'application/json') =>
    fetch(`${t.url}/v1/secret-scanning/reports`, {
      method: 'POST',
      headers: {
        'content-type': contentType,
        ...(privateKey ? { 'github-public-key-identifier': keyId, 'github-public-key-signature': sign('sha256', Buffer.from(body), privateKey).toString('base64') } : {}),
      },
      body,
    });

  it('looks keys up by secret for scanners without echoing them', async () => {
    const k = await newKey();
    const res = await t.api('POST', `${ORG}/api_keys/lookup`, { body: { secrets: [k.value, 'sk-tg-nope'] } });
    expect(res.status).toBe(200);
    expect(res.body.data[0]).toMatchObject({ hash: hashSecret(k.value), found: true, id: k.id, kind: 'project', status: 'active' });
    expect(res.body.data[1]).toEqual({ hash: hashSecret('sk-tg-nope'), found: false });
    expect(res.text).not.toContain(k.value);
  });

  it('disables a reported live key at once; the gateway refuses it saying why; a replay is harmless', async () => {
    const k = await newKey();
    await expect(models(k.value)).resolves.toBeTruthy();
    const before = await auditCount('api_key.exposed');
    const res = await t.api('POST', `${ORG}/api_keys/report_exposed`, { body: { reports: [{ token: k.value, url: 'https://example.com/repo/blob/main/.env', source: 'test' }] } });
    expect(res.body.data).toEqual([{ token_hash: hashSecret(k.value), label: 'true_positive', disabled_key_id: k.id, status: 'exposed' }]);
    const err = await models(k.value).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.code).toBe('invalid_api_key');
    expect(err.message).toContain('exposed');
    expect(err.message).toContain('https://example.com/repo/blob/main/.env');
    expect((await t.api('GET', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}`)).body).toMatchObject({ status: 'exposed', exposed_url: 'https://example.com/repo/blob/main/.env' });
    expect(await auditCount('api_key.exposed')).toBe(before + 1);
    const again = await t.api('POST', `${ORG}/api_keys/report_exposed`, { body: { reports: [{ token: k.value }] } });
    expect(again.body.data[0].label).toBe('true_positive');
    expect(again.body.data[0].disabled_key_id).toBeUndefined();
    expect(await auditCount('api_key.exposed')).toBe(before + 1);
  });

  it('accepts a signed partner report, refuses forged and unsigned ones', async () => {
    const k = await newKey();
    const decoy = `${k.value.slice(0, -1)}${k.value.endsWith('A') ? 'B' : 'A'}`;
    const body = JSON.stringify([
      { token: k.value, type: 'tollgate_api_key', url: 'https://github.com/x/y/blob/1/a.env', source: 'content' },
      { token: decoy, type: 'tollgate_api_key', url: 'https://github.com/x/y', source: 'content' },
    ]);
    const forged = await postSigned(body, 'kid-1', forger.privateKey);
    expect(forged.status).toBe(401);
    expect((await forged.json()).error.code).toBe('invalid_signature');
    expect((await postSigned(body, 'kid-1', null)).status).toBe(401);
    expect((await postSigned(body, 'kid-unknown', trusted.privateKey)).status).toBe(401);
    await expect(models(k.value)).resolves.toBeTruthy();

    const ok = await postSigned(body, 'kid-1', trusted.privateKey);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual([
      { token_hash: hashSecret(k.value), token_type: 'tollgate_api_key', label: 'true_positive' },
      { token_hash: hashSecret(decoy), token_type: 'tollgate_api_key', label: 'false_positive' },
    ]);
    await expect(models(k.value)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const audit = (await t.api('GET', `${ORG}/audit_logs?event_types=api_key.exposed&resource_ids=${k.id}`)).body.data;
    expect(audit).toHaveLength(1);
    // No person or key reported it: OpenAI's actor null, and who did in Tollgate's tollgate_actor.
    expect(audit[0].actor).toBeNull();
    expect(audit[0].tollgate_actor).toMatchObject({ type: 'reporter', id: 'codehost' });
    const replay = await postSigned(body, 'kid-1', trusted.privateKey);
    expect(replay.status).toBe(200);
    expect((await t.api('GET', `${ORG}/audit_logs?event_types=api_key.exposed&resource_ids=${k.id}`)).body.data).toHaveLength(1);
  });

  it('tollgate scan --report finds a planted key and disables it through the server', async () => {
    const k = await newKey();
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-scan-'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'config.js'), `export const key = "${k.value}";\n`);
    let out = '';
    let err = '';
    const io = { env: { LOG_LEVEL: 'silent' }, out: (s: string) => (out += s), err: (s: string) => (err += s) };
    const code = await runCli(['node', 'tollgate', '--server', t.url, '--admin-key', t.adminKey, 'scan', dir, '--report', '--json'], io);
    expect(code).toBe(1);
    expect(out).not.toContain(k.value);
    const parsed = JSON.parse(out);
    expect(parsed.findings[0]).toMatchObject({ type: 'tollgate', line: 1, key_id: k.id, live: true });
    expect((await t.api('GET', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}`)).body.status).toBe('exposed');
    await expect(models(k.value)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    out = '';
    const second = await runCli(['node', 'tollgate', '--server', t.url, '--admin-key', t.adminKey, 'scan', dir, '--json'], io);
    expect(second).toBe(0);
    expect(JSON.parse(out).findings[0]).toMatchObject({ live: false, status: 'exposed' });
    expect(err).not.toContain(k.value); // the secret is never printed, not even in warnings
  });

  it('judges a rotated-out secret by itself: dead to lookup and scan, and a report of it leaves the key alone', async () => {
    const k = await newKey();
    const rotated = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}/rotate`, { body: { grace_period_seconds: 0 } })).body;
    await expect(models(k.value)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const looked = await t.api('POST', `${ORG}/api_keys/lookup`, { body: { secrets: [k.value, rotated.value] } });
    expect(looked.body.data.map((d: { status: string }) => d.status)).toEqual(['rotated_out', 'active']);

    const dir = mkdtempSync(join(tmpdir(), 'tollgate-scan-'));
    writeFileSync(join(dir, 'old.env'), `KEY=${k.value}\n`);
    let out = '';
    const io = { env: { LOG_LEVEL: 'silent' }, out: (s: string) => (out += s), err: () => {} };
    const code = await runCli(['node', 'tollgate', '--server', t.url, '--admin-key', t.adminKey, 'scan', dir, '--report'], io);
    expect(out).toContain('rotated_out: ');
    expect(out).not.toContain('LIVE');
    expect(out).toContain("as exposed: not disabled: the secret is no longer valid (rotated out; the key's current secret was left alone).");
    expect(code).toBe(0);
    // The key lives on under its new secret: the report of its dead one did not disable it.
    await expect(models(rotated.value)).resolves.toBeTruthy();
    expect((await t.api('GET', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}`)).body.status).toBe('active');
    const again = await t.api('POST', `${ORG}/api_keys/report_exposed`, { body: { reports: [{ token: k.value }] } });
    expect(again.body.data).toEqual([{ token_hash: hashSecret(k.value), label: 'true_positive', status: 'rotated_out' }]);
  });

  it('looks up a key of an archived project as dead', async () => {
    const project = (await t.api('POST', `${ORG}/projects`, { body: { name: 'to archive' } })).body;
    const k = (await t.api('POST', `${ORG}/projects/${project.id}/api_keys`, { body: { name: 'old' } })).body;
    await t.api('POST', `${ORG}/projects/${project.id}/archive`);
    const looked = await t.api('POST', `${ORG}/api_keys/lookup`, { body: { secrets: [k.value] } });
    expect(looked.body.data[0]).toMatchObject({ found: true, id: k.id, status: 'project_archived' });
  });

  it('judges each item of a partner report on its own: a malformed one does not cost the others their disabling', async () => {
    const [a, b, c] = [await newKey(), await newKey(), await newKey()];
    const longUrl = `https://github.com/x/y/blob/main/${'d/'.repeat(1084)}a.env`;
    expect(longUrl.length).toBeGreaterThan(2048);
    const body = JSON.stringify([
      { token: a.value, type: 'tollgate_api_key', url: 'https://github.com/x/y/blob/1/a.env', source: 'content' },
      { token: b.value, type: 'tollgate_api_key', url: longUrl, source: 'content' },
      { token: c.value, type: null, url: null, source: null },
      42,
      { url: 'https://github.com/x/y' },
    ]);
    const res = await postSigned(body, 'kid-1', trusted.privateKey);
    expect(res.status).toBe(200);
    const answers = await res.json();
    expect(answers.slice(0, 3)).toEqual([
      { token_hash: hashSecret(a.value), token_type: 'tollgate_api_key', label: 'true_positive' },
      {
        token_hash: hashSecret(b.value),
        token_type: 'tollgate_api_key',
        label: 'true_positive',
        error: "Invalid value for '1.url': must be at most 2048 characters; it was not recorded.",
      },
      { token_hash: hashSecret(c.value), token_type: 'tollgate_api_key', label: 'true_positive' },
    ]);
    expect(answers[3]).toMatchObject({ token_hash: null, label: 'invalid', error: "Invalid value for '3': must be an object with a 'token'." });
    expect(answers[4]).toMatchObject({ token_hash: null, label: 'invalid', error: "Missing required parameter: '4.token'." });
    for (const k of [a, b, c]) await expect(models(k.value)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const keyOf = async (id: string) => (await t.api('GET', `${ORG}/projects/${t.defaultProjectId}/api_keys/${id}`)).body;
    expect(await keyOf(b.id)).toMatchObject({ status: 'exposed', exposed_url: null });
    expect(await keyOf(c.id)).toMatchObject({ status: 'exposed', exposed_url: null });
  });

  it('refuses a signed report sent as another type than JSON for its type, not its signature', async () => {
    const k = await newKey();
    const body = JSON.stringify([{ token: k.value, type: 'tollgate_api_key', url: 'https://github.com/x/y', source: 'content' }]);
    const res = await postSigned(body, 'kid-1', trusted.privateKey, 'text/plain');
    expect(res.status).toBe(415);
    expect((await res.json()).error).toMatchObject({ code: 'unsupported_media_type', message: expect.stringContaining('application/json') });
    await expect(models(k.value)).resolves.toBeTruthy();
    const notArray = await postSigned('{"token": "x"}', 'kid-1', trusted.privateKey);
    expect(notArray.status).toBe(400);
  });

  it('takes null for the optional members of an admin report', async () => {
    const k = await newKey();
    const res = await t.api('POST', `${ORG}/api_keys/report_exposed`, { body: { reports: [{ token: k.value, url: null, source: null, type: null }] } });
    expect(res.status).toBe(200);
    expect(res.body.data[0]).toMatchObject({ label: 'true_positive', disabled_key_id: k.id });
  });
});
