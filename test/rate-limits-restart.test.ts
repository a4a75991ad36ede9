import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { databaseUrlFor, describeEachDatabase, describeWithRedis } from './harness/backends.js';
import { startChildServer } from './harness/child-server.js';
import { startTestServer, type TestServer } from './harness/server.js';

// A key's requests per day (RPD) survive a restart of the in-process limit store, and a Redis that lost them: the
// bucket is rebuilt from the last day's stored usage the first time it is needed (services/limit-seeding.ts).

const ORG = '/v1/organization';
const HOUR = 3_600_000;

const chat = (url: string, key: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
  });

const newKey = async (t: TestServer, body: Record<string, unknown>, project = t.defaultProjectId): Promise<{ id: string; value: string }> =>
  (await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'rpd', ...body } })).body;

/** The status and OpenAI's x-ratelimit-* headers of an answer about requests. */
const limitsOf = (r: Response) => ({
  status: r.status,
  limit: r.headers.get('x-ratelimit-limit-requests'),
  remaining: r.headers.get('x-ratelimit-remaining-requests'),
  reset: r.headers.get('x-ratelimit-reset-requests'),
  retryAfter: r.headers.get('retry-after'),
});

/** Every request in turn until one is refused: the statuses and remaining counts of what got through, then the refusal. */
async function untilRefused(url: string, key: string, most = 10): Promise<{ remaining: Array<string | null>; refused: Response }> {
  const remaining: Array<string | null> = [];
  for (let i = 0; i < most; i++) {
    const r = await chat(url, key);
    if (r.status !== 200) return { remaining, refused: r };
    remaining.push(r.headers.get('x-ratelimit-remaining-requests'));
    await r.arrayBuffer();
  }
  throw new Error(`no refusal in ${most} requests`);
}

describeEachDatabase('RPD after a restart', (backend) => {
  it("refuses a key that used its day's requests right after a graceful restart, leaves one that used half the other half, and a project's per-model RPD too", async () => {
    let now = Date.UTC(2026, 4, 4, 12, 30);
    const clock = () => now;
    const first = await startTestServer(backend, { clock, keepSchema: true });
    let full: { id: string; value: string };
    let half: { id: string; value: string };
    let inProject: { id: string; value: string };
    let project: string;
    let before: ReturnType<typeof limitsOf>;
    let beforeBody: { error: Record<string, unknown> };
    try {
      full = await newKey(first, { rate_limits: { max_requests_per_1_day: 3 } });
      half = await newKey(first, { rate_limits: { max_requests_per_1_day: 4 } });
      project = (await first.api('POST', `${ORG}/projects`, { body: { name: 'rpd' } })).body.id;
      expect((await first.api('POST', `${ORG}/projects/${project}/rate_limits`, { body: { model: 'tollgate-echo', max_requests_per_1_day: 2 } })).status).toBe(200);
      inProject = await newKey(first, {}, project);
      const other = await newKey(first, {}, project);
      const used = await untilRefused(first.url, full.value);
      expect(used.remaining).toEqual(['2', '1', '0']);
      before = limitsOf(used.refused);
      beforeBody = await used.refused.json();
      for (let i = 0; i < 2; i++) expect((await chat(first.url, half.value)).status).toBe(200);
      // The project's two requests a day for its model, one by each key.
      expect((await chat(first.url, inProject.value)).status).toBe(200);
      expect((await chat(first.url, other.value)).status).toBe(200);
      expect((await chat(first.url, inProject.value)).status).toBe(429);
    } finally {
      await first.server.close(); // flushes usage
    }
    now += 60_000; // back a minute later, on the same data dir and database
    const second = await startTestServer(backend, { clock, dataDir: first.dataDir, schema: first.schema });
    try {
      const refused = await chat(second.url, full.value);
      // Refused as before the restart: its requests are taken as made at the latest their hour allows (up to now), so
      // the day's three are still spent and the next comes back in 8 h.
      expect(limitsOf(refused)).toEqual(before);
      expect(before).toEqual({ status: 429, limit: '3', remaining: '0', reset: '24h0m0s', retryAfter: String(8 * 3600) });
      const body = await refused.json();
      expect(body).toEqual(beforeBody);
      expect(body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null });
      expect(body.error.message).toBe(`Rate limit reached for API key ${full.id} on requests per day (RPD): Limit 3, Used 3, Requested 1. Please try again in 8h0m0s.`);
      // Half used: the other half (two of four) are left.
      const rest = await untilRefused(second.url, half.value);
      expect(rest.remaining).toEqual(['1', '0']);
      expect(limitsOf(rest.refused)).toMatchObject({ status: 429, limit: '4', remaining: '0' });
      const byProject = await chat(second.url, inProject.value);
      expect(byProject.status).toBe(429);
      expect((await byProject.json()).error.message).toContain(`Rate limit reached for project ${project} for tollgate-echo on requests per day (RPD): Limit 2, Used 2`);
      // The rebuilt bucket refills as the lost one would have: one request every 8 h.
      now += 8 * HOUR;
      expect((await chat(second.url, full.value)).status).toBe(200);
      expect((await chat(second.url, full.value)).status).toBe(429);
    } finally {
      await second.close();
    }
  }, 60_000);

  it('lets the last request of the day through right after a restart, with the headers of the lost bucket, while the clock moves on', async () => {
    // A clock that moves on at every reading, as a real one does between a request's arrival and its seed's query.
    let now = Date.UTC(2026, 4, 4, 12, 30);
    const clock = () => (now += 1);
    const first = await startTestServer(backend, { clock, keepSchema: true });
    let key: { id: string; value: string };
    try {
      key = await newKey(first, { rate_limits: { max_requests_per_1_day: 3 } });
      for (let i = 0; i < 2; i++) expect((await chat(first.url, key.value)).status).toBe(200);
    } finally {
      await first.server.close();
    }
    const second = await startTestServer(backend, { clock, dataDir: first.dataDir, schema: first.schema });
    try {
      const last = await chat(second.url, key.value);
      expect(limitsOf(last)).toMatchObject({ status: 200, limit: '3', remaining: '0' });
      expect((await chat(second.url, key.value)).status).toBe(429);
    } finally {
      await second.close();
    }
  }, 60_000);

  it('leaves out the listings of models, which no rate limit or quota is charged for, when it counts a key again', async () => {
    const first = await startTestServer(backend, { keepSchema: true });
    let rpd: { id: string; value: string };
    let quota: { id: string; value: string };
    try {
      rpd = await newKey(first, { rate_limits: { max_requests_per_1_day: 3 } });
      quota = await newKey(first, { request_quota: { max_requests: 3, interval: 'day' } });
      for (const key of [rpd, quota]) {
        expect((await chat(first.url, key.value)).status).toBe(200);
        // As SDKs and tools do: list the models, and look one up, several times; not charged while the process runs.
        for (const path of ['/v1/models', '/v1/models', '/v1/models/tollgate-echo', '/v1/models']) {
          const r = await fetch(`${first.url}${path}`, { headers: { authorization: `Bearer ${key.value}` } });
          expect(r.status).toBe(200);
          await r.arrayBuffer();
        }
      }
    } finally {
      await first.server.close();
    }
    const second = await startTestServer(backend, { dataDir: first.dataDir, schema: first.schema });
    try {
      // One of three used before the restart: two left, as without it.
      expect((await untilRefused(second.url, rpd.value)).remaining).toEqual(['1', '0']);
      for (let i = 0; i < 2; i++) expect((await chat(second.url, quota.value)).status).toBe(200);
      const over = await chat(second.url, quota.value);
      expect(over.status).toBe(429);
      expect((await over.json()).error.code).toBe('api_key_quota_exceeded');
    } finally {
      await second.close();
    }
  }, 60_000);

  it('counts the requests of a run killed with SIGKILL: its usage log is written before the next start serves', async () => {
    const setup = await startTestServer(backend, { keepSchema: true });
    const rpd = await newKey(setup, { rate_limits: { max_requests_per_1_day: 3 } });
    const quota = await newKey(setup, { request_quota: { max_requests: 3, interval: 'day' } });
    await setup.server.close();
    // Usage reaches the database only through the log: the killed run never flushes, nor (for a while) does the next.
    const slow = { TOLLGATE_USAGE_FLUSH_MS: '600000' };
    const dbUrl = databaseUrlFor(backend, setup.schema);
    const child = await startChildServer({ TOLLGATE_DATA_DIR: setup.dataDir, ...(dbUrl ? { DATABASE_URL: dbUrl } : {}), ...slow });
    try {
      for (const key of [rpd, quota]) for (let i = 0; i < 3; i++) expect((await chat(child.url, key.value)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 300)); // the last group of events reaches the log (5 ms groups)
    } finally {
      await child.stop('SIGKILL');
    }
    const again = await startTestServer(backend, { dataDir: setup.dataDir, schema: setup.schema, env: slow });
    try {
      const refused = await chat(again.url, rpd.value);
      expect(limitsOf(refused)).toMatchObject({ status: 429, limit: '3', remaining: '0' });
      expect((await refused.json()).error.code).toBe('rate_limit_exceeded');
      const over = await chat(again.url, quota.value);
      expect(over.status).toBe(429);
      expect((await over.json()).error.code).toBe('api_key_quota_exceeded');
    } finally {
      await again.close();
    }
  }, 180_000);
});

describeWithRedis('RPD when Redis lost it', (redisUrl) => {
  it('rebuilds a bucket Redis no longer holds from stored usage, and keeps it a day after its last use', async () => {
    const t = await startTestServer({ name: 'sqlite' }, { env: { REDIS_URL: redisUrl } });
    const redis = new Redis(redisUrl);
    try {
      const key = await newKey(t, { rate_limits: { max_requests_per_1_day: 3 } });
      for (let i = 0; i < 3; i++) expect((await chat(t.url, key.value)).status).toBe(200);
      const stored = `tg:rl:k:${key.id}:rpd:3`;
      // Kept a day after its last use (not only until it refills), so that it is rebuilt once, not at each refill.
      expect(await redis.pttl(stored)).toBeGreaterThan(86_400_000);
      await t.server.gateway.usage.flush();
      expect(await redis.del(stored)).toBe(1); // Redis lost it (a restart without persistence, an eviction)
      const refused = await chat(t.url, key.value);
      expect(limitsOf(refused)).toMatchObject({ status: 429, limit: '3', remaining: '0' });
      expect(await redis.pttl(stored)).toBeGreaterThan(86_400_000);
    } finally {
      redis.disconnect();
      await t.close();
    }
  }, 60_000);
});
