import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Backend, databaseBackends, describeEachDatabase, describeWithRedis } from './harness/backends.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';
import { O1_PRICING, o1Control, startO1Upstream } from './harness/o1-upstream.js';

// A request that nothing of reached a provider (its circuit breaker open, no usable key, no connection made) was never
// forwarded, and is not counted (docs/metering.md: only forwarded requests count; errors.md: upstream_unavailable,
// "nothing was sent"). It used to keep its place in the key's request quota and its RPM/RPD (found by a review): a
// quota of 10 was used up by 2 requests that reached a failing provider and 8 its open breaker refused, and the key got
// 429 api_key_quota_exceeded once the provider recovered.

const ORG = '/v1/organization';
const clock = { now: Date.UTC(2026, 4, 4, 10, 0, 0) };
/** Answers of one output token; failing (502) while `fail`. */
const ctl = o1Control({ fail: true, out: 1 });

function suite(backend: Backend, redisUrl?: string) {
  let upstream: Awaited<ReturnType<typeof startO1Upstream>> | undefined;
  let t: TestServer;
  beforeAll(async () => {
    upstream = await startO1Upstream(ctl);
    const url = upstream.url;
    const file = gatewayConfigFile({
      providers: [
        { name: 'up', base_url: url, circuit_breaker: { failures: 2, cool_off_ms: 60_000 } },
        // Nothing listens on port 9 (discard): the connection is refused.
        { name: 'gone', base_url: 'http://127.0.0.1:9/v1', circuit_breaker: false },
      ],
      default_provider: 'up',
      routes: { 'gone-model': 'gone' },
      pricing: { ...O1_PRICING, 'gone-model': { input: 1, output: 4 } },
    });
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, ...(redisUrl ? { REDIS_URL: redisUrl } : {}) }, clock: () => clock.now });
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });
  const chat = async (key: string, model = 'o1') => {
    const r = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
    });
    const body = (await r.json()) as { error?: { code?: string } };
    return { status: r.status, code: body.error?.code ?? null };
  };

  it('requests an open breaker refused keep no place in the quota or the day', async () => {
    ctl.fail = true;
    ctl.reached = 0;
    const k = (
      await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, {
        body: { name: 'q', request_quota: { max_requests: 10, interval: 'month' }, rate_limits: { max_requests_per_1_day: 10 } },
      })
    ).body;
    const seen = [];
    for (let i = 0; i < 10; i++) seen.push(await chat(k.value));
    expect(ctl.reached).toBe(2);
    expect(seen.map((s) => s.status)).toEqual([502, 502, 503, 503, 503, 503, 503, 503, 503, 503]);
    expect(seen[9].code).toBe('upstream_unavailable');
    ctl.fail = false;
    clock.now += 61_000;
    const after = [];
    for (let i = 0; i < 9; i++) after.push(await chat(k.value));
    // Two of the ten reached the provider: eight more are let through.
    expect(after.map((s) => s.status)).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 429]);
    // The refusals are recorded as such: what stored usage counts (a seeding after a restart) agrees with the store.
    await t.server.gateway.usage.flush();
    const rows = await t.server.runtime.database.db.selectFrom('usage_events').select(['outcome', 'error_code']).where('api_key_id', '=', k.id).execute();
    expect(rows.filter((r) => r.outcome !== 'refused')).toHaveLength(10);
    expect(rows.filter((r) => r.error_code === 'upstream_unavailable').every((r) => r.outcome === 'refused')).toBe(true);
  });

  it('requests whose provider could not be connected to keep no place in the quota', async () => {
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'q2', request_quota: { max_requests: 2, interval: 'month' } } })).body;
    for (let i = 0; i < 4; i++) expect(await chat(k.value, 'gone-model')).toEqual({ status: 502, code: 'upstream_error' });
    expect((await chat(k.value)).status).toBe(200);
    expect((await chat(k.value)).status).toBe(200);
    expect(await chat(k.value)).toEqual({ status: 429, code: 'api_key_quota_exceeded' });
  });
}

describeEachDatabase('requests never sent upstream are not counted, in the in-process store', (backend) => suite(backend));
describeWithRedis('requests never sent upstream are not counted, on Redis', (redisUrl) => suite(databaseBackends().at(-1) as Backend, redisUrl));
