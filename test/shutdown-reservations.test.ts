import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { type Backend, databaseBackends, databaseUrlFor, describeWithRedis } from './harness/backends.js';
import { type ChildServer, startChildServer } from './harness/child-server.js';
import { startFakeUpstream } from './harness/fake-upstream.js';
import { gatewayConfigFile, startTestServer } from './harness/server.js';

// What a shutdown or a crash leaves, on Redis, of the reservations of requests that never settled. Found by a review: a
// $40 budget stayed charged $30.138 after a SIGKILL with three $10 streams in flight (their reservations, in the counter
// and its in-flight key, until the month ended: a $15 request refused 429), and a SIGTERM that gave up a request still
// waiting for its first byte kept its $1.04 reservation as well. Each instance records what it holds under a lease
// (infra/redis-limit-store.ts): a lapsed lease's reservations are given back by any instance, a clean stop gives back
// its own.

const ORG = '/v1/organization';
const GRACE_MS = 1000;
/** $1000 per million tokens in and out: max_tokens 10,000 reserves $10. */
const PRICE = { input: 1000, output: 1000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An instance's setup: a key with a $40 spend limit, created by an in-process server that is then stopped. */
async function setUp(backend: Backend, env: Record<string, string>) {
  const setup = await startTestServer(backend, { env, keepSchema: true });
  const key = (await setup.api('POST', `${ORG}/projects/${setup.defaultProjectId}/api_keys`, { body: { name: 'held', spend_limit: { threshold_amount: 4000 } } })).body as {
    id: string;
    value: string;
  };
  expect(key.value).toBeTruthy();
  await setup.server.close();
  const dbUrl = databaseUrlFor(backend, setup.schema);
  return { setup, key, childEnv: { ...env, TOLLGATE_DATA_DIR: setup.dataDir, LOG_LEVEL: 'warn', ...(dbUrl ? { DATABASE_URL: dbUrl } : {}) } };
}

/** The instance's log lines (its banner, which may hold a setup token, left out). */
function logOf(child: ChildServer): string {
  return child
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .join('\n');
}

function chat(child: ChildServer, key: string, model: string, maxTokens: number, stream: boolean): Promise<Response> {
  return fetch(`${child.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream, max_tokens: maxTokens, messages: [{ role: 'user', content: 'x' }] }),
  });
}

/** The key's budget counter in Redis (nano-dollars) and what it holds for requests in flight. */
async function budgetOf(redis: Redis, keyId: string): Promise<{ counter: number; inFlight: number }> {
  const keys = (await redis.keys(`tg:s:k:${keyId}:*`)).filter((k) => !k.endsWith(':e') && !k.endsWith(':r'));
  expect(keys).toHaveLength(1);
  return { counter: Number(await redis.get(keys[0])), inFlight: Number((await redis.get(`${keys[0]}:r`)) ?? 0) };
}

/** What the key's stored usage costs (nano-dollars), once the next start has written what the usage log held. */
async function storedCost(backend: Backend, setup: Awaited<ReturnType<typeof setUp>>['setup'], env: Record<string, string>): Promise<number> {
  const again = await startTestServer(backend, { env, dataDir: setup.dataDir, schema: setup.schema, noAdminKey: true });
  try {
    const rows = await again.server.runtime.database.db.selectFrom('usage_events').select(['cost_nanousd', 'billable']).execute();
    return rows.reduce((sum, r) => sum + (Number(r.billable) === 1 ? Number(r.cost_nanousd) : 0), 0);
  } finally {
    await again.close();
  }
}

describeWithRedis('reservations of requests that never settle', (redisUrl) => {
  for (const backend of databaseBackends()) {
    it(`SIGKILL with reserving streams in flight: their reservations are given back, the counter ends equal to stored usage (${backend.name})`, async () => {
      const up = await startFakeUpstream();
      const redis = new Redis(redisUrl);
      const file = gatewayConfigFile({
        providers: [{ name: 'fake', base_url: up.url, api_key_env: 'FAKE_UPSTREAM_KEY', circuit_breaker: false }],
        pricing: { 'gpt-4o-drip': PRICE, 'gpt-4o-mini': PRICE },
      });
      const env = { TOLLGATE_CONFIG: file, FAKE_UPSTREAM_KEY: 'sk-up-0000', REDIS_URL: redisUrl };
      const { setup, key, childEnv } = await setUp(backend, env);
      let child: ChildServer | null = null;
      try {
        child = await startChildServer(childEnv);
        const first = await chat(child, key.value, 'gpt-4o-mini', 10, false);
        expect(first.status).toBe(200);
        await first.text();
        // Three streams reserving $10 each, under way when the process is killed.
        const streams = await Promise.all([1, 2, 3].map(() => chat(child as ChildServer, key.value, 'gpt-4o-drip', 10_000, true)));
        expect(streams.map((s) => s.status)).toEqual([200, 200, 200]);
        for (const s of streams) s.body?.getReader().read().catch(() => {});
        await sleep(300);
        expect((await budgetOf(redis, key.id)).inFlight).toBeGreaterThan(30e9);
        await child.stop('SIGKILL');
        child = await startChildServer(childEnv);
        // The killed instance's lease lapses within seconds; an instance still running then gives back what it held.
        let held = await budgetOf(redis, key.id);
        for (let i = 0; i < 100 && held.inFlight > 0; i++) {
          await sleep(200);
          held = await budgetOf(redis, key.id);
        }
        expect(held.inFlight).toBe(0);
        const big = await chat(child, key.value, 'gpt-4o-mini', 15_000, false);
        expect(big.status, await big.text()).toBe(200);
        await child.stop('SIGTERM');
        child = null;
        const after = await budgetOf(redis, key.id);
        expect(after.inFlight).toBe(0);
        expect(after.counter).toBe(await storedCost(backend, setup, env));
      } finally {
        if (child) await child.stop('SIGKILL');
        redis.disconnect();
        await up.close();
      }
    }, 120_000);

    it(`SIGTERM that gives up a request waiting for its first byte: exits 0 soon after the grace, its reservation given back (${backend.name})`, async () => {
      const up = await startFakeUpstream();
      const redis = new Redis(redisUrl);
      const file = gatewayConfigFile({
        providers: [{ name: 'fake', base_url: up.url, api_key_env: 'FAKE_UPSTREAM_KEY', circuit_breaker: false }],
        pricing: { hang: PRICE, 'gpt-4o-mini': PRICE },
      });
      const env = { TOLLGATE_CONFIG: file, FAKE_UPSTREAM_KEY: 'sk-up-0000', REDIS_URL: redisUrl };
      const { setup, key, childEnv } = await setUp(backend, env);
      const child = await startChildServer({ ...childEnv, TOLLGATE_SHUTDOWN_GRACE_MS: String(GRACE_MS) });
      try {
        const first = await chat(child, key.value, 'gpt-4o-mini', 10, false);
        expect(first.status).toBe(200);
        await first.text();
        const hung = chat(child, key.value, 'hang', 1000, false).then(
          (r) => r.status,
          () => 0,
        );
        await sleep(500);
        expect((await budgetOf(redis, key.id)).inFlight).toBeGreaterThan(1e9);
        const started = performance.now();
        const code = await child.stop('SIGTERM');
        const took = performance.now() - started;
        await hung;
        expect({ code, lockLeft: existsSync(join(setup.dataDir, 'server.pid')) }, logOf(child)).toEqual({ code: 0, lockLeft: false });
        expect(took).toBeLessThan(GRACE_MS + 6000);
        expect(logOf(child)).toContain('abandoned');
        const after = await budgetOf(redis, key.id);
        expect(after.inFlight).toBe(0);
        expect(after.counter).toBe(await storedCost(backend, setup, env));
      } finally {
        if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
        redis.disconnect();
        await up.close();
      }
    }, 120_000);
  }
});
