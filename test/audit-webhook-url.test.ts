import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Found by review: a `webhook.created` entry kept the endpoint's whole URL, and so, after the endpoint was deleted, the
// credential many such URLs are (a chat service's secret path, a `?token=`), though no entry is to hold a secret. The
// entry records the URL's origin (docs/audit-log.md).

const ORG = '/v1/organization';

describeEachDatabase('audit log: a webhook URL', (backend) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(backend);
  });
  afterAll(async () => t?.close());

  it('is recorded by its origin alone, created and deleted', async () => {
    const secretPath = '/services/T0AAAAAAA/B0BBBBBBB/s3cr3tPathPart';
    for (const [url, origin] of [
      [`https://hooks.example.com${secretPath}`, 'https://hooks.example.com'],
      ['https://example.com:8443/in?token=s3cr3tQueryPart', 'https://example.com:8443'],
      ['http://[2001:db8::1]:8080/h/s3cr3tIpv6Part', 'http://[2001:db8::1]:8080'],
      ['HTTPS://Example.COM:443/s3cr3tCasePart', 'https://example.com'],
    ] as const) {
      const created = await t.api('POST', `${ORG}/webhooks`, { body: { url } });
      expect(created.status, url).toBe(200);
      // The endpoint itself keeps the URL it is sent to.
      expect(created.body.url, url).toBe(url);
      const entry = (await t.api('GET', `${ORG}/audit_logs?event_types[]=webhook.created&resource_ids[]=${created.body.id}`)).body.data[0];
      expect(entry['webhook.created'], url).toEqual({ id: created.body.id, data: { url: origin, event_types: ['*'] } });
      expect((await t.api('DELETE', `${ORG}/webhooks/${created.body.id}`)).status).toBe(200);
    }
    const log = JSON.stringify((await t.api('GET', `${ORG}/audit_logs?limit=100`)).body.data);
    expect(log).toContain('webhook.deleted');
    expect(log).not.toMatch(/s3cr3t/);
    // Nor does the deleted endpoints' row keep it (found by review: soft-deleted, it held the whole URL).
    const rows = await t.server.runtime.database.db.selectFrom('webhooks').select(['url', 'deleted_at']).execute();
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.deleted_at !== null)).toBe(true);
    expect(JSON.stringify(rows)).not.toMatch(/s3cr3t/);
  });

  it('is shown by its origin alone when an earlier version wrote the whole URL (a rolling upgrade, after migration 109)', async () => {
    // As an instance of the version before wrote it, into the database a new one had already migrated.
    const id = `audit_log-old${backend.name}`;
    await t.server.runtime.database.db
      .insertInto('audit_logs')
      .values({
        id,
        org_id: t.orgId,
        type: 'webhook.created',
        effective_at: Math.floor(Date.now() / 1000),
        actor_type: 'session',
        actor_id: 'user-old',
        actor: JSON.stringify({ type: 'session', session: { user: { id: 'user-old', email: 'old@example.com' }, ip_address: null, user_agent: null } }),
        project_id: null,
        object_id: 'whep_old',
        ip: null,
        user_agent: null,
        details: JSON.stringify({ id: 'whep_old', data: { url: 'https://hooks.example.com/services/T0/B0/s3cr3tOldPart?token=s3cr3tOldQuery', event_types: ['*'] } }),
      })
      .execute();
    const entry = (await t.api('GET', `${ORG}/audit_logs?event_types[]=webhook.created&resource_ids[]=whep_old`)).body.data[0];
    expect(entry.id).toBe(id);
    expect(entry['webhook.created']).toEqual({ id: 'whep_old', data: { url: 'https://hooks.example.com', event_types: ['*'] } });
    expect(JSON.stringify((await t.api('GET', `${ORG}/audit_logs?limit=100`)).body.data)).not.toMatch(/s3cr3t/);
  });
});
