import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Found by review: `expires_at: 4102444800000` (2100 in milliseconds) and 9007199254740991 were stored as given, so a
// key meant to expire in 2100 never would. Every expires_at the admin API takes is read as seconds since the epoch and
// refused past the year 9999. And `expires_in_seconds` beside `expires_at: null` dropped the null without a word.

const ORG = '/v1/organization';
const LAST = 253_402_300_799;

describeEachDatabase('expires_at beyond any time in seconds', (backend) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(backend);
  });
  afterAll(async () => t?.close());

  const keysPath = () => `${ORG}/projects/${t.defaultProjectId}/api_keys`;
  const keyCount = async () => Number((await t.server.runtime.database.db.selectFrom('api_keys').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  const refusedAsMilliseconds = (r: { status: number; body: { error: unknown } }) => {
    expect(r.status).toBe(400);
    expect(r.body.error).toEqual({
      message:
        "Invalid value for 'expires_at': must be in seconds since the epoch (unix seconds), at most 253402300799 (9999-12-31T23:59:59Z); in milliseconds that is 2100-01-01T00:00:00.000Z, which is 4102444800 in seconds",
      type: 'invalid_request_error',
      param: 'expires_at',
      code: 'invalid_value',
    });
  };

  it('a project key, an admin key: milliseconds and absurd values are refused, and no key is made', async () => {
    const before = await keyCount();
    refusedAsMilliseconds(await t.api('POST', keysPath(), { body: { name: 'ms', expires_at: 4_102_444_800_000 } }));
    refusedAsMilliseconds(await t.api('POST', `${ORG}/admin_api_keys`, { body: { name: 'ms', expires_at: 4_102_444_800_000 } }));
    for (const expires_at of [Number.MAX_SAFE_INTEGER, LAST + 1]) {
      for (const path of [keysPath(), `${ORG}/admin_api_keys`]) {
        const r = await t.api('POST', path, { body: { name: 'far', expires_at } });
        expect(r.status, `${path} ${expires_at}`).toBe(400);
        expect(r.body.error, `${path} ${expires_at}`).toMatchObject({
          code: 'invalid_value',
          param: 'expires_at',
          message: expect.stringContaining('must be in seconds since the epoch (unix seconds), at most 253402300799'),
        });
      }
    }
    expect(await keyCount()).toBe(before);
  });

  it("a project key's update is refused alike and keeps its expiry", async () => {
    const key = (await t.api('POST', keysPath(), { body: { name: 'dated', expires_at: 4_102_444_800 } })).body;
    refusedAsMilliseconds(await t.api('POST', `${keysPath()}/${key.id}`, { body: { expires_at: 4_102_444_800_000 } }));
    expect((await t.api('GET', `${keysPath()}/${key.id}`)).body.expires_at).toBe(4_102_444_800);
  });

  it('the last second of 9999 is taken', async () => {
    const r = await t.api('POST', keysPath(), { body: { name: 'last', expires_at: LAST } });
    expect(r.status, r.text).toBe(200);
    expect(r.body.expires_at).toBe(LAST);
    const a = await t.api('POST', `${ORG}/admin_api_keys`, { body: { name: 'last', expires_at: LAST } });
    expect(a.status, a.text).toBe(200);
  });

  it('an admin key given expires_in_seconds and expires_at, even null, is refused: neither is dropped', async () => {
    const before = await keyCount();
    for (const expires_at of [null, 4_102_444_800]) {
      const r = await t.api('POST', `${ORG}/admin_api_keys`, { body: { name: 'both', expires_in_seconds: 100, expires_at } });
      expect(r.status, String(expires_at)).toBe(400);
      expect(r.body.error, String(expires_at)).toMatchObject({
        code: 'invalid_value',
        param: 'expires_in_seconds',
        message: "Give either 'expires_in_seconds' or 'expires_at', not both (an 'expires_at' of null means no expiry).",
      });
    }
    expect(await keyCount()).toBe(before);
    const alone = await t.api('POST', `${ORG}/admin_api_keys`, { body: { name: 'null', expires_at: null } });
    expect(alone.status, alone.text).toBe(200);
  });
});
