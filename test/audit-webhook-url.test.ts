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
  });
});
