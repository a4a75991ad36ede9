import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Found by review: a webhook URL with a user and password, or a fragment, was a 200 and stored, and every delivery
// went without them (undici sends no Authorization from the URL, no request carries a fragment). Refused, as a
// runtime provider's base URL is, for the same reason (src/core/provider-url.ts).

const ORG = '/v1/organization';

describeEachDatabase('webhook URLs holding what a delivery would not send', (backend) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(backend);
  });
  afterAll(async () => t?.close());

  const endpoints = async () => (await t.api('GET', `${ORG}/webhooks`)).body.data;

  it('a user and password, or a fragment, is refused, naming url, and nothing is stored', async () => {
    for (const [url, why] of [
      ['https://u:p@example.com/h?x=1#f', 'must not hold a user or password (they would not be sent'],
      ['https://u@example.com/h', 'must not hold a user or password'],
      ['https://example.com/h?x=1#f', 'must not have a fragment (it would not be sent)'],
      ['https://example.com/h#', 'must not have a fragment'],
    ] as const) {
      const r = await t.api('POST', `${ORG}/webhooks`, { body: { url } });
      expect(r.status, url).toBe(400);
      expect(r.body.error, url).toEqual({
        message: expect.stringContaining(`Invalid value for 'url': ${why}`),
        type: 'invalid_request_error',
        param: 'url',
        code: 'invalid_value',
      });
    }
    expect(await endpoints()).toEqual([]);
    expect((await t.api('GET', `${ORG}/audit_logs?event_types[]=webhook.created`)).body.data).toEqual([]);
  });

  it('a query string is sent with each delivery, so it is taken', async () => {
    const r = await t.api('POST', `${ORG}/webhooks`, { body: { url: 'https://example.com/h?x=1' } });
    expect(r.status, r.text).toBe(200);
    expect(r.body.url).toBe('https://example.com/h?x=1');
  });

  it('a scheme in capitals is a scheme (URL schemes are case-insensitive), taken as a provider base URL is; others are refused', async () => {
    const r = await t.api('POST', `${ORG}/webhooks`, { body: { url: 'HTTPS://example.com/caps' } });
    expect(r.status, r.text).toBe(200);
    const ftp = await t.api('POST', `${ORG}/webhooks`, { body: { url: 'FTP://example.com/caps' } });
    expect(ftp.status).toBe(400);
    expect(ftp.body.error).toMatchObject({ param: 'url', code: 'invalid_value' });
  });
});
