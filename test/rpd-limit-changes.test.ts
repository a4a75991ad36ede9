import { afterAll, expect, it } from 'vitest';
import { describeEachDatabase, describeWithRedis } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { waitFor } from './harness/wait.js';
import { admitted } from './harness/admitted.js';

// A changed requests-per-day (RPD) limit starts from the day's requests (docs/deployment.md, "What a restart keeps"):
// its bucket is rebuilt from stored usage. Set back to a value it had earlier that day, a limit used to find that
// value's old bucket (kept a day after its last use, under a store key naming the limit) and go on from it: a bucket
// that knew only the requests made under it (29 requests in a day under RPD 10, found by a review). A key's limit and
// a project's alike, on Redis and in the in-process store. No flush before a change: the seeding writes this instance's
// recorded usage first (test/limit-change-unwritten-usage.test.ts).

const ORG = '/v1/organization';

const newKey = async (t: TestServer, project: string, body: Record<string, unknown> = {}): Promise<{ id: string; value: string }> => {
  const r = await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'rpd', ...body } });
  expect(r.status).toBe(200);
  return r.body;
};

/**
 * Runs `change` (on any instance) and waits until `server` has heard of it (its key cache emptied of what the change
 * touched); the instance that made a change hears of it before it answers.
 */
async function changed(server: TestServer, change: () => Promise<{ status: number }>): Promise<void> {
  const before = server.server.runtime.keyCache.changes;
  expect((await change()).status).toBe(200);
  await waitFor(() => server.server.runtime.keyCache.changes > before, 10_000);
}

/** A key's RPD set to `n` (null: removed), by `writer`, heard of by `server`. */
const setKeyRpd = (writer: TestServer, server: TestServer, project: string, keyId: string, n: number | null) =>
  changed(server, () => writer.api('POST', `${ORG}/projects/${project}/api_keys/${keyId}`, { body: { rate_limits: n === null ? null : { max_requests_per_1_day: n } } }));

/** A project's RPD for every model set to `n`, by `writer`, heard of by `server`. */
const setProjectRpd = (writer: TestServer, server: TestServer, project: string, n: number) =>
  changed(server, () => writer.api('POST', `${ORG}/projects/${project}/rate_limits/rl-*`, { body: { max_requests_per_1_day: n } }));

/** 10, then 20, then 10 again, the requests of the first two settings made: none is left of the day's 10. */
async function setBack(
  serve: TestServer,
  key: string,
  set: (n: number) => Promise<void>,
): Promise<{ first: number; second: number; third: number }> {
  const first = await admitted(serve, key, 1);
  await set(20);
  const second = await admitted(serve, key, 25);
  await set(10);
  const third = await admitted(serve, key, 15);
  return { first, second, third };
}

describeWithRedis('an RPD limit set back to an earlier value, on two instances', (redisUrl) => {
  const url = process.env.TEST_DATABASE_URL;
  const backend = { name: 'postgres' as const, url: url as string };
  let a: TestServer | undefined;
  let b: TestServer | undefined;
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it.skipIf(!url)("starts from the day's requests, as the docs promise: a key's limit and a project's", async () => {
    a = await startTestServer(backend, { env: { REDIS_URL: redisUrl }, keepSchema: true });
    b = await startTestServer(backend, { env: { REDIS_URL: redisUrl }, schema: a.schema, noAdminKey: true });
    const [writer, serve] = [a, b];
    const project = writer.defaultProjectId;
    // A key's own limit, changed on one instance and used on the other.
    const k = await newKey(writer, project, { rate_limits: { max_requests_per_1_day: 10 } });
    expect(await setBack(serve, k.value, (n) => setKeyRpd(writer, serve, project, k.id, n))).toEqual({ first: 1, second: 19, third: 0 });

    // A project's limit for all its models.
    const p = (await writer.api('POST', `${ORG}/projects`, { body: { name: 'rpd' } })).body.id as string;
    expect((await writer.api('POST', `${ORG}/projects/${p}/rate_limits`, { body: { max_requests_per_1_day: 10 } })).status).toBe(200);
    const inProject = await newKey(writer, p);
    expect(await setBack(serve, inProject.value, (n) => setProjectRpd(writer, serve, p, n))).toEqual({ first: 1, second: 19, third: 0 });
  }, 120_000);
});

describeEachDatabase('an RPD limit set back to an earlier value, on one instance (in-process store)', (backend) => {
  let t: TestServer | undefined;
  afterAll(async () => {
    await t?.close();
  });
  const server = async () => {
    t ??= await startTestServer(backend);
    return t;
  };

  it("starts from the day's requests: a key's limit", async () => {
    const s = await server();
    const k = await newKey(s, s.defaultProjectId, { rate_limits: { max_requests_per_1_day: 10 } });
    expect(await setBack(s, k.value, (n) => setKeyRpd(s, s, s.defaultProjectId, k.id, n))).toEqual({ first: 1, second: 19, third: 0 });
  }, 60_000);

  it("counts the requests made while a key's limit was removed when it is set again", async () => {
    const s = await server();
    const k = await newKey(s, s.defaultProjectId, { rate_limits: { max_requests_per_1_day: 10 } });
    expect(await admitted(s, k.value, 1)).toBe(1);
    await setKeyRpd(s, s, s.defaultProjectId, k.id, null);
    expect(await admitted(s, k.value, 12)).toBe(12);
    await setKeyRpd(s, s, s.defaultProjectId, k.id, 10);
    expect(await admitted(s, k.value, 5)).toBe(0);
  }, 60_000);

  it("starts from the day's requests: a project's limit, set back, and deleted then added again", async () => {
    const s = await server();
    const p = (await s.api('POST', `${ORG}/projects`, { body: { name: 'rpd' } })).body.id as string;
    expect((await s.api('POST', `${ORG}/projects/${p}/rate_limits`, { body: { model: 'tollgate-echo', max_requests_per_1_day: 10 } })).status).toBe(200);
    const k = await newKey(s, p);
    const setModel = (n: number) => changed(s, () => s.api('POST', `${ORG}/projects/${p}/rate_limits/rl-tollgate-echo`, { body: { max_requests_per_1_day: n } }));
    expect(await setBack(s, k.value, setModel)).toEqual({ first: 1, second: 19, third: 0 });

    // Another project: its limit deleted (unlimited), then added again with the value it had.
    const q = (await s.api('POST', `${ORG}/projects`, { body: { name: 'rpd again' } })).body.id as string;
    expect((await s.api('POST', `${ORG}/projects/${q}/rate_limits`, { body: { max_requests_per_1_day: 10 } })).status).toBe(200);
    const inQ = await newKey(s, q);
    expect(await admitted(s, inQ.value, 1)).toBe(1);
    await changed(s, () => s.api('DELETE', `${ORG}/projects/${q}/rate_limits/rl-*`));
    expect(await admitted(s, inQ.value, 12)).toBe(12);
    await changed(s, () => s.api('POST', `${ORG}/projects/${q}/rate_limits`, { body: { max_requests_per_1_day: 10 } }));
    expect(await admitted(s, inQ.value, 5)).toBe(0);
  }, 60_000);
});
