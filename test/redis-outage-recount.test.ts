import { afterAll, describe, expect, it } from 'vitest';
import { boundTokens } from '../src/core/estimate.js';
import { maxInputTokens } from '../src/core/model-limits.js';
import type { LimitsGuard } from '../src/services/limits-guard.js';
import { startPrivateRedis } from './harness/private-servers.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';
import { waitFor } from './harness/wait.js';
import { admitted } from './harness/admitted.js';

// Found by a review: what the instances admitted on their own stores while Redis failed open was never added to what
// Redis counted, so a Redis that came back with its data (frozen, or behind a partition) handed the key that much
// again: an RPD of 10 and a quota of 10 each let 12 requests through. Run where the fault tests run, against a private
// redis-server (the two-instance case also needs PostgreSQL: instances share a database).
const enabled = !!process.env.TEST_DATABASE_URL || process.env.CI === 'true';
const suite = enabled ? describe : describe.skip;
const pg = process.env.TEST_DATABASE_URL ? it : it.skip;
const ORG = '/v1/organization';

const guardOf = (t: TestServer) => t.server.gateway.guard as LimitsGuard;

/** Ready again on every instance, and nothing of the outage waits to be settled or cancelled. */
async function recovered(...ts: TestServer[]): Promise<void> {
  await waitFor(async () => (await Promise.all(ts.map((t) => fetch(`${t.url}/readyz`)))).every((r) => r.status === 200), 30_000, 50);
  await waitFor(() => ts.every((t) => guardOf(t).pendingSettles === 0), 30_000, 50);
}

const pricing = () => gatewayConfigFile({ pricing: { 'tollgate-echo': { input: 1000, cached_input: 1000, output: 1000 } } });

suite('what the instances admitted on their own stores during a Redis outage that kept its data', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  pg('two instances: counted once Redis is back, the keys only the other instance used meanwhile too', async () => {
    const redis = await startPrivateRedis();
    cleanups.push(async () => {
      redis.resume();
      await redis.stop();
    });
    const backend = { name: 'postgres' as const, url: process.env.TEST_DATABASE_URL as string };
    const env = { REDIS_URL: redis.url, TOLLGATE_CONFIG: pricing(), TOLLGATE_BUDGET_FAILURE: 'open' };
    const a = await startTestServer(backend, { env, keepSchema: true });
    cleanups.push(() => a.close());
    const b = await startTestServer(backend, { env, schema: a.schema, noAdminKey: true });
    cleanups.push(() => b.close());
    const create = async (body: object) => (await a.api('POST', `${ORG}/projects/${a.defaultProjectId}/api_keys`, { body })).body as { id: string; value: string };
    const rpd = await create({ rate_limits: { max_requests_per_1_day: 10 } });
    const quota = await create({ request_quota: { max_requests: 10, interval: 'month' } });
    // Used through the other instance alone during the outage: that instance puts it right, however little it serves after.
    const other = await create({ request_quota: { max_requests: 10, interval: 'month' } });
    const flush = () => Promise.all([a.server.gateway.usage.flush(), b.server.gateway.usage.flush()]);

    expect(await admitted(a, rpd.value, 8)).toBe(8);
    expect(await admitted(a, quota.value, 8)).toBe(8);
    expect(await admitted(a, other.value, 8)).toBe(8);
    await flush();
    redis.pause();
    const during = {
      rpd: (await admitted(a, rpd.value, 5)) + (await admitted(b, rpd.value, 5)),
      quota: (await admitted(a, quota.value, 5)) + (await admitted(b, quota.value, 5)),
      other: await admitted(b, other.value, 5),
    };
    await flush();
    redis.resume();
    await recovered(a, b);
    // The instance that used `other` meanwhile, serving nothing since, puts it right on its own (within a second or two).
    await waitFor(() => guardOf(b).pendingRecounts === 0, 10_000, 50);
    const after = { rpd: await admitted(a, rpd.value, 10), quota: await admitted(a, quota.value, 10), other: await admitted(a, other.value, 10) };
    expect(8 + during.rpd + after.rpd).toBe(10);
    expect(8 + during.quota + after.quota).toBe(10);
    expect(8 + during.other + after.other).toBe(10);
  }, 180_000);

  it('one instance: its RPD, quota and spend limit count what it admitted on its own store meanwhile', async () => {
    const redis = await startPrivateRedis();
    cleanups.push(async () => {
      redis.resume();
      await redis.stop();
    });
    const t = await startTestServer({ name: 'sqlite' }, { env: { REDIS_URL: redis.url, TOLLGATE_CONFIG: pricing(), TOLLGATE_BUDGET_FAILURE: 'open' } });
    cleanups.push(() => t.close());
    const create = async (body: object) => (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body })).body as { id: string; value: string };
    // A call reserves its bounded input and max_tokens and costs 9 tokens ($1,000 per 1M tokens: 0.1 cent each): 13
    // cents (130 tokens) admit 10 of them one after another, each while what is spent and its reservation fit.
    const reserved = (() => {
      const r = boundTokens({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }, '/chat/completions', 16_384, maxInputTokens('tollgate-echo'));
      return r.input + r.output;
    })();
    const fits = Math.floor((130 - reserved) / 9) + 1;
    expect(fits).toBe(10);
    const keys = [
      await create({ rate_limits: { max_requests_per_1_day: 10 } }),
      await create({ request_quota: { max_requests: 10, interval: 'month' } }),
      await create({ spend_limit: { threshold_amount: 13, interval: 'month' } }),
    ];
    const each = async (n: number) => Promise.all(keys.map((k) => admitted(t, k.value, n)));
    expect(await each(8)).toEqual([8, 8, 8]);
    await t.server.gateway.usage.flush();
    redis.pause();
    const during = await each(5);
    expect(during).toEqual([2, 2, 2]);
    await t.server.gateway.usage.flush();
    redis.resume();
    await recovered(t);
    // Before, Redis still counted 8 of each, and let 2 more through.
    expect(await each(10)).toEqual([0, 0, 0]);
  }, 120_000);

  it('default failure modes: an RPD admitted on the local store meanwhile (rate limits fail open) is counted once Redis is back', async () => {
    const redis = await startPrivateRedis();
    cleanups.push(async () => {
      redis.resume();
      await redis.stop();
    });
    const t = await startTestServer({ name: 'sqlite' }, { env: { REDIS_URL: redis.url } });
    cleanups.push(() => t.close());
    const rpd = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { rate_limits: { max_requests_per_1_day: 10 } } })).body as { value: string };
    expect(await admitted(t, rpd.value, 8)).toBe(8);
    redis.pause();
    // Not flushed by the test: the instance writes what it recorded before Redis counts it again.
    expect(await admitted(t, rpd.value, 2)).toBe(2);
    redis.resume();
    await recovered(t);
    expect(await admitted(t, rpd.value, 3)).toBe(0);
  }, 60_000);
});
