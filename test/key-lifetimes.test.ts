import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness/server.js';

// A key's lifetime (expires_in_seconds) counts from the creation time the key records: one clock reading for both.
// The server's clock here moves 0.7 s at every reading, so two readings in one creation land in different seconds.
describe('key lifetimes', () => {
  let t: TestServer;
  let ms = Date.UTC(2026, 0, 1);
  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' }, { clock: () => (ms += 700) });
  });
  afterAll(() => t?.close());
  const ORG = '/v1/organization';

  it('an admin key and a service account key expire exactly expires_in_seconds after their created_at', async () => {
    for (let i = 0; i < 3; i++) {
      const admin = (await t.api('POST', `${ORG}/admin_api_keys`, { body: { name: `a${i}`, expires_in_seconds: 60 } })).body;
      const shown = (await t.api('GET', `${ORG}/admin_api_keys/${admin.id}`)).body;
      expect(shown.expires_at).toBe(shown.created_at + 60);
      const p = t.defaultProjectId;
      const acct = (await t.api('POST', `${ORG}/projects/${p}/service_accounts`, { body: { name: `s${i}`, create_service_account_only: true } })).body;
      const key = (await t.api('POST', `${ORG}/projects/${p}/service_accounts/${acct.id}/api_keys`, { body: { expires_in_seconds: 60 } })).body;
      const stored = (await t.api('GET', `${ORG}/projects/${p}/api_keys/${key.id}`)).body;
      expect(stored.created_at).toBe(key.created_at);
      expect(stored.expires_at).toBe(key.created_at + 60);
    }
  });
});
