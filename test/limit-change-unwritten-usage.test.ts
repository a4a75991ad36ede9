import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Backend, describeEachDatabase, describeWithRedis } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { O1_PRICING, o1Control, startO1Upstream } from './harness/o1-upstream.js';

// A changed RPD limit, or a quota's or spend limit's changed interval, gets a bucket or counter of its own, counted from
// stored usage (test/rpd-limit-changes.test.ts, test/limit-interval-changes.test.ts). Usage is written in batches
// (TOLLGATE_USAGE_FLUSH_MS): on the in-process store, the usage recorded but not yet written was left out of that count,
// so a key used up its RPD of 5, had it raised to 6, and was let through 6 more (found by a review; on Redis, 1). No
// flush here between the requests and the change: the flush interval is set far beyond the test, so that only the
// seeding can have written the usage.

const ORG = '/v1/organization';
/** Every answer of the upstream: 12,500 output tokens of a $60/M model, $0.75 (a $3 limit lets 3 through: each reserves a little more). */
const ANSWER_TOKENS = 12_500;

const ctl = o1Control();

function suite(backend: Backend, redisUrl?: string) {
  let upstream: Awaited<ReturnType<typeof startO1Upstream>> | undefined;
  let t: TestServer;

  beforeAll(async () => {
    upstream = await startO1Upstream(ctl);
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-unwritten-')), 'tollgate.config.json');
    const url = upstream.url;
    writeFileSync(file, JSON.stringify({ providers: [{ name: 'up', base_url: url }], pricing: O1_PRICING }));
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, TOLLGATE_USAGE_FLUSH_MS: '600000', ...(redisUrl ? { REDIS_URL: redisUrl } : {}) } });
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  /** How many of `n` requests in turn were let through (`model` o1: $0.75 each; the echo model: free). No flush. */
  async function admitted(key: string, n: number, model = 'tollgate-echo'): Promise<number> {
    let ok = 0;
    for (let i = 0; i < n; i++) {
      const r = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: model === 'o1' ? ANSWER_TOKENS : 1 }),
      });
      await r.arrayBuffer();
      if (r.status === 200) ok++;
    }
    return ok;
  }

  /** A change made on the one instance, which has heard of it once it answers. */
  const ok = async (r: Promise<{ status: number; text: string }>) => {
    const answer = await r;
    expect(answer.status, answer.text).toBe(200);
  };
  const newKey = async (project: string, body: Record<string, unknown> = {}) => {
    const r = await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'k', ...body } });
    expect(r.status, r.text).toBe(200);
    return r.body as { id: string; value: string };
  };
  const setKey = (keyId: string, body: Record<string, unknown>) => ok(t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys/${keyId}`, { body }));
  const newProject = async () => (await t.api('POST', `${ORG}/projects`, { body: { name: 'p' } })).body.id as string;

  // First: the organization's limit binds every key of the suite (removed at the end), and nothing is spent before it.
  it("the organization's spend limit of $3 a month, used up, then $3 a week: none left", async () => {
    const k = await newKey(await newProject());
    const limit = (interval: string) => ok(t.api('POST', `${ORG}/spend_limit`, { body: { threshold_amount: 300, currency: 'USD', interval } }));
    try {
      await limit('month');
      expect(await admitted(k.value, 5, 'o1')).toBe(3);
      await limit('week');
      expect(await admitted(k.value, 5, 'o1')).toBe(0);
    } finally {
      await ok(t.api('DELETE', `${ORG}/spend_limit`));
    }
  }, 60_000);

  it("a key's RPD raised from 5 to 6 lets 1 more through", async () => {
    const k = await newKey(t.defaultProjectId, { rate_limits: { max_requests_per_1_day: 5 } });
    expect(await admitted(k.value, 5)).toBe(5);
    await setKey(k.id, { rate_limits: { max_requests_per_1_day: 6 } });
    expect(await admitted(k.value, 10)).toBe(1);
  }, 60_000);

  it("a project's RPD raised from 5 to 6 lets 1 more through", async () => {
    const p = await newProject();
    await ok(t.api('POST', `${ORG}/projects/${p}/rate_limits`, { body: { max_requests_per_1_day: 5 } }));
    const k = await newKey(p);
    expect(await admitted(k.value, 5)).toBe(5);
    await ok(t.api('POST', `${ORG}/projects/${p}/rate_limits/rl-*`, { body: { max_requests_per_1_day: 6 } }));
    expect(await admitted(k.value, 10)).toBe(1);
  }, 60_000);

  it("a key's request quota of 5 a day, used up, then 5 a month: none left", async () => {
    const k = await newKey(t.defaultProjectId, { request_quota: { max_requests: 5, interval: 'day' } });
    expect(await admitted(k.value, 5)).toBe(5);
    await setKey(k.id, { request_quota: { max_requests: 5, interval: 'month' } });
    expect(await admitted(k.value, 10)).toBe(0);
  }, 60_000);

  it("a key's spend limit of $3 a month, used up, then $3 a day: none left", async () => {
    const k = await newKey(t.defaultProjectId, { spend_limit: { threshold_amount: 300, interval: 'month' } });
    expect(await admitted(k.value, 5, 'o1')).toBe(3);
    await setKey(k.id, { spend_limit: { threshold_amount: 300, interval: 'day' } });
    expect(await admitted(k.value, 5, 'o1')).toBe(0);
  }, 60_000);

  it("a project's spend limit of $3 a month, used up, then $3 a week: none left", async () => {
    const p = await newProject();
    const k = await newKey(p);
    const limit = (interval: string) => ok(t.api('POST', `${ORG}/projects/${p}/spend_limit`, { body: { threshold_amount: 300, currency: 'USD', interval } }));
    await limit('month');
    expect(await admitted(k.value, 5, 'o1')).toBe(3);
    await limit('week');
    expect(await admitted(k.value, 5, 'o1')).toBe(0);
  }, 60_000);

}

describeEachDatabase('a limit changed while its usage is not yet written, in the in-process store', (backend) => suite(backend));

describeWithRedis('a limit changed while its usage is not yet written, on Redis', (redisUrl) => suite({ name: 'sqlite' }, redisUrl));
