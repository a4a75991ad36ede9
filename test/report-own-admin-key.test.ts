import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { hashSecret } from '../src/core/key-format.js';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { waitFor } from './harness/wait.js';
import { startWebhookReceiver } from './harness/webhook-receiver.js';

// A report of exposed keys that names the caller's own admin key among others (a .env holding both
// TOLLGATE_ADMIN_KEY and a project key, scanned with --report): every reported key is disabled and answered for. The
// report was one transaction per key, each first checking the caller's key was still live: once the caller's own key
// was disabled, the next report was refused 401 and the keys after it stayed live, unanswered, their webhook unsent.

const ORG = '/v1/organization';

describeEachDatabase('a report naming the caller’s own admin key', (backend) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(backend);
  });
  afterAll(async () => t?.close());

  const newAdminKey = async () => (await t.api('POST', `${ORG}/admin_api_keys`, { body: { name: 'ops' } })).body;
  const newKey = async () => (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'leaky' } })).body;
  const keyStatus = async (id: string) => (await t.api('GET', `${ORG}/projects/${t.defaultProjectId}/api_keys/${id}`)).body.status;
  const adminStatus = async (id: string) => (await t.api('GET', `${ORG}/admin_api_keys/${id}`)).body.status;

  it('disables every reported key, the caller’s own first among them, and answers for each', async () => {
    const hook = await startWebhookReceiver(t, ['api_key.exposed']);
    try {
      const admin = await newAdminKey();
      const p = await newKey();
      const q = await newKey();
      const res = await t.api('POST', `${ORG}/api_keys/report_exposed`, {
        key: admin.value,
        body: { reports: [{ token: admin.value }, { token: p.value }, { token: q.value }] },
      });
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual([
        { token_hash: hashSecret(admin.value), label: 'true_positive', disabled_key_id: admin.id, status: 'exposed' },
        { token_hash: hashSecret(p.value), label: 'true_positive', disabled_key_id: p.id, status: 'exposed' },
        { token_hash: hashSecret(q.value), label: 'true_positive', disabled_key_id: q.id, status: 'exposed' },
      ]);
      expect(await adminStatus(admin.id)).toBe('exposed');
      expect(await keyStatus(p.id)).toBe('exposed');
      expect(await keyStatus(q.id)).toBe('exposed');
      // The request is over: the disabled admin key is refused from now on.
      expect((await t.api('GET', `${ORG}/projects`, { key: admin.value })).status).toBe(401);
      await waitFor(() => hook.received.length === 3);
      expect(new Set(hook.received.map((d) => d.data.api_key_id))).toEqual(new Set([admin.id, p.id, q.id]));
    } finally {
      hook.close();
    }
  });

  it('a key revoked before the request starts is still refused', async () => {
    const admin = await newAdminKey();
    const p = await newKey();
    expect((await t.api('DELETE', `${ORG}/admin_api_keys/${admin.id}`)).status).toBe(200);
    const res = await t.api('POST', `${ORG}/api_keys/report_exposed`, { key: admin.value, body: { reports: [{ token: p.value }] } });
    expect(res.status).toBe(401);
    expect(await keyStatus(p.id)).toBe('active');
  });

  it('tollgate scan --report over a .env holding the admin key it runs with and a project key disables both', async () => {
    const admin = await newAdminKey();
    const p = await newKey();
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-own-key-'));
    writeFileSync(join(dir, '.env'), `TOLLGATE_ADMIN_KEY=${admin.value}\nTOLLGATE_KEY=${p.value}\n`);
    let out = '';
    let err = '';
    const io = { env: { LOG_LEVEL: 'silent' }, out: (s: string) => (out += s), err: (s: string) => (err += s) };
    const code = await runCli(['node', 'tollgate', '--server', t.url, '--admin-key', admin.value, 'scan', dir, '--report', '--json'], io);
    expect(code).toBe(1); // live keys were found (and are disabled now)
    const parsed = JSON.parse(out);
    expect(parsed.reports).toHaveLength(2);
    for (const r of parsed.reports) expect(r).toMatchObject({ label: 'true_positive', disabled: true, status: 'exposed' });
    expect(err).not.toContain('not reported');
    expect(await adminStatus(admin.id)).toBe('exposed');
    expect(await keyStatus(p.id)).toBe('exposed');
  });

  it('tollgate scan --report over more keys than one request takes, its own admin key first, disables them all', async () => {
    const admin = await newAdminKey();
    const keys = [];
    for (let i = 0; i < 101; i++) keys.push(await newKey());
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-own-key-'));
    // The admin key is found first (a.env sorts before b.env): in the first request of two.
    writeFileSync(join(dir, 'a.env'), `TOLLGATE_ADMIN_KEY=${admin.value}\n`);
    writeFileSync(join(dir, 'b.env'), keys.map((k, i) => `KEY_${i}=${k.value}\n`).join(''));
    let out = '';
    const io = { env: { LOG_LEVEL: 'silent' }, out: (s: string) => (out += s), err: () => {} };
    const code = await runCli(['node', 'tollgate', '--server', t.url, '--admin-key', admin.value, 'scan', dir, '--report', '--json'], io);
    expect(code).toBe(1);
    const parsed = JSON.parse(out);
    expect(parsed.reports).toHaveLength(102);
    expect(parsed.reports.filter((r: { disabled: boolean | null }) => r.disabled !== true)).toEqual([]);
    expect(await adminStatus(admin.id)).toBe('exposed');
    for (const k of [keys[0], keys[100]]) expect(await keyStatus(k.id)).toBe('exposed');
  }, 60_000);
});
