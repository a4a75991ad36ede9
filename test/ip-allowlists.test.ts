import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Issue 16 §3: `010.0.0.1` was stored as 8.0.0.1 (octal), `10.1` as 10.0.0.1, `2130706433` as 127.0.0.1, and
// `10.0.0.1/8` was accepted with host bits set. Every place that takes an allowlist now refuses them, naming the entry.

const ORG = '/v1/organization';

const AMBIGUOUS = ['010.0.0.1', '10.1', '127.1', '2130706433', '0x7f.1', '0x7f000001', '1.2.3.04', 'fe80::1%eth0', '::ffff:010.0.0.1'];

describeEachDatabase('IP allowlist entries', (backend) => {
  let t: TestServer;
  let project: string;
  let keyId: string;
  beforeAll(async () => {
    t = await startTestServer(backend);
    project = t.defaultProjectId;
    keyId = (await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'k' } })).body.id;
  });
  afterAll(async () => t?.close());

  /** Every route that takes `allowed_ips`, with a body carrying `list`. */
  const routes = (): Array<[string, string, (list: string[]) => unknown]> => [
    ['create a project', `${ORG}/projects`, (list) => ({ name: 'p', allowed_ips: list })],
    ['change a project', `${ORG}/projects/${project}`, (list) => ({ allowed_ips: list })],
    ['create a key', `${ORG}/projects/${project}/api_keys`, (list) => ({ name: 'k', allowed_ips: list })],
    ['change a key', `${ORG}/projects/${project}/api_keys/${keyId}`, (list) => ({ allowed_ips: list })],
    ['create an admin key', `${ORG}/admin_api_keys`, (list) => ({ name: 'a', allowed_ips: list })],
  ];

  it('refuses the legacy forms that read as another address, naming the entry', async () => {
    for (const [what, path, body] of routes()) {
      for (const entry of AMBIGUOUS) {
        const res = await t.api('POST', path, { body: body(['192.168.0.0/16', entry]) });
        expect(res.status, `${what}: ${entry} → ${res.text}`).toBe(400);
        expect(res.body.error).toMatchObject({ code: 'invalid_value', type: 'invalid_request_error', param: 'allowed_ips.1' });
        expect(res.body.error.message).toContain(`"${entry}" is not an IP address`);
      }
    }
  });

  it('refuses a range with host bits set, naming the network', async () => {
    for (const [what, path, body] of routes()) {
      const res = await t.api('POST', path, { body: body(['10.0.0.1/8']) });
      expect(res.status, what).toBe(400);
      expect(res.body.error).toMatchObject({ param: 'allowed_ips.0' });
      expect(res.body.error.message).toContain('"10.0.0.1/8" has host bits set: the range is 10.0.0.0/8');
    }
    // Nothing was stored by any refusal.
    expect((await t.api('GET', `${ORG}/projects/${project}`)).body.allowed_ips).toBeNull();
    expect((await t.api('GET', `${ORG}/projects/${project}/api_keys/${keyId}`)).body.allowed_ips).toBeNull();
  });

  it('stores the standard forms canonically and enforces them', async () => {
    const res = await t.api('POST', `${ORG}/projects/${project}/api_keys`, {
      body: { name: 'local', allowed_ips: ['127.0.0.1/32', '2001:DB8:0:0::/64', '::ffff:10.0.0.0/104'] },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.allowed_ips).toEqual(['127.0.0.1/32', '2001:db8::/64', '10.0.0.0/8']);
    const ok = await fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${res.body.value}` } });
    expect(ok.status).toBe(200);
    const other = await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'elsewhere', allowed_ips: ['10.0.0.0/8'] } });
    const refused = await fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${other.body.value}` } });
    expect(refused.status).toBe(403);
  });
});
