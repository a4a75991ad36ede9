import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { createRuntime } from '../src/runtime.js';
import { freePort, startChildServer } from './harness/child-server.js';
import { entryArgs } from './harness/entry.js';
import { startFakeUpstream } from './harness/fake-upstream.js';
import { canRunPrivatePostgres, startPrivatePostgres, startPrivateRedis } from './harness/private-servers.js';
import { startTestServer } from './harness/server.js';

// Fault tests run where CI runs (TEST_DATABASE_URL set) against private PostgreSQL and Redis servers of their own.
const enabled = !!process.env.TEST_DATABASE_URL || process.env.CI === 'true';
const suite = enabled ? describe : describe.skip;
const ORG = '/v1/organization';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

suite('faults', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('PostgreSQL down for 10 s under load: cached keys keep working, usage queues then spills, nothing lost or doubled', async () => {
    /** Usage events held in memory before they spill to disk: few, so that a slow machine's load passes it too. */
    const MAX_IN_MEMORY = 20;
    expect(canRunPrivatePostgres()).toBe(true);
    const pg = await startPrivatePostgres();
    cleanups.push(() => pg.destroy());
    // The server's errors, kept to say why a request failed (a 500 says only internal_error).
    const logged: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void (logged.length < 3 && line.includes('request failed') && logged.push(line.slice(0, 2000))) });
    const t = await startTestServer(
      { name: 'postgres', url: pg.url },
      { env: { TOLLGATE_USAGE_MAX_IN_MEMORY: String(MAX_IN_MEMORY), TOLLGATE_USAGE_FLUSH_MS: '200', TOLLGATE_CHANGE_POLL_MS: '500' }, logger },
    );
    cleanups.push(() => t.close());
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'fault' } })).body;
    const call = () =>
      fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${k.value}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'still here' }] }),
      });
    expect((await call()).status).toBe(200); // key now cached
    let ok = 1;
    let failed = 0;
    /** The first few failures' statuses and bodies, to say what went wrong. */
    const failures: string[] = [];
    let running = true;
    const load = (async () => {
      while (running) {
        const batch = await Promise.all(Array.from({ length: 4 }, call));
        for (const r of batch) {
          if (r.status === 200) ok++;
          else {
            failed++;
            if (failures.length < 3) failures.push(`${r.status} ${(await r.text()).slice(0, 300)}`);
          }
          if (!r.bodyUsed) await r.arrayBuffer();
        }
        await sleep(10);
      }
    })();
    await sleep(500);
    const beforeOutage = ok;
    pg.stop();
    await sleep(1000);
    const notReady = await fetch(`${t.url}/readyz`);
    expect(notReady.status).toBe(503);
    await sleep(9000);
    const duringOutage = ok;
    pg.start();
    await sleep(1000);
    running = false;
    await load;
    expect(failed, [...failures, ...logged].join('\n')).toBe(0);
    // Served during the outage: more than memory holds, so some were spilled (a loaded CI machine served 173 in all).
    expect(duringOutage - beforeOutage).toBeGreaterThan(2 * MAX_IN_MEMORY);
    const g = t.server.gateway;
    expect(g.usage.stats.spilled).toBeGreaterThan(0);
    const deadline = Date.now() + 30_000;
    while ((g.usage.pending > 0 || g.usage.stats.replayed < g.usage.stats.spilled) && Date.now() < deadline) {
      await g.usage.flush().catch(() => {});
      await sleep(200);
    }
    const rows = await t.server.runtime.database.db.selectFrom('usage_events').select('id').where('api_key_id', '=', k.id).execute();
    console.log(`PostgreSQL outage: ${ok} requests served, ${g.usage.stats.spilled} events spilled to disk and replayed, ${rows.length} events stored`);
    expect(rows.length).toBe(ok);
    expect(new Set(rows.map((r) => r.id)).size).toBe(ok);
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
  }, 120_000);

  it('Redis down: rate limits fail open, budgets fail closed; recovery without restart', async () => {
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const t = await startTestServer({ name: 'sqlite' }, { env: { REDIS_URL: redis.url } });
    cleanups.push(() => t.close());
    const rl = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { rate_limits: { max_requests_per_1_minute: 1000 } } })).body;
    const budget = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { spend_limit: { threshold_amount: 1000 } } })).body;
    const call = (key: string) =>
      fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'x' }], max_tokens: 1 }),
      });
    expect((await call(rl.value)).status).toBe(200);
    expect((await call(budget.value)).status).toBe(200);
    await redis.stop();
    await sleep(300);
    expect((await call(rl.value)).status).toBe(200);
    expect((await call(budget.value)).status).toBe(503);
    expect((await fetch(`${t.url}/readyz`)).status).toBe(503);
    await redis.start();
    const deadline = Date.now() + 20_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await call(budget.value)).status;
      if (status === 200) break;
      await sleep(200);
    }
    expect(status).toBe(200);
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
  }, 60_000);

  it('Redis hung (answering nothing, its socket open): rate limits fail open, budgets fail closed, within a bound; recovery when it thaws', async () => {
    const redis = await startPrivateRedis();
    cleanups.push(async () => {
      redis.resume();
      await redis.stop();
    });
    const t = await startTestServer({ name: 'sqlite' }, { env: { REDIS_URL: redis.url } });
    cleanups.push(() => t.close());
    const rl = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { rate_limits: { max_requests_per_1_minute: 1000 } } })).body;
    const budget = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { spend_limit: { threshold_amount: 1000 } } })).body;
    // Bounded by the test, not the gateway: a request that hangs fails here instead of holding the suite.
    const call = (key: string) =>
      fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'x' }], max_tokens: 1 }),
        signal: AbortSignal.timeout(15_000),
      }).then(
        (r) => r.status,
        () => 'hung',
      );
    expect(await call(rl.value)).toBe(200);
    expect(await call(budget.value)).toBe(200);
    redis.pause();
    // Before, both waited for Redis without end (45 s and more, until it thawed).
    expect(await Promise.all([call(rl.value), call(budget.value)])).toEqual([200, 503]);
    redis.resume();
    const deadline = Date.now() + 20_000;
    let status: number | string = 0;
    while (Date.now() < deadline) {
      status = await call(budget.value);
      if (status === 200) break;
      await sleep(200);
    }
    expect(status).toBe(200);
  }, 90_000);

  it('an instance killed with SIGKILL mid-load: the write-ahead log recovers all but the events of its last few milliseconds', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-kill-'));
    const rt0 = await createRuntime(loadConfig({ TOLLGATE_DATA_DIR: dataDir }));
    const { createProjectKey } = await import('../src/services/api-keys.js');
    const project = await rt0.database.db.selectFrom('projects').select('id').executeTakeFirstOrThrow();
    const key = await createProjectKey(rt0.deps, rt0.org.id, project.id, { name: 'kill' }, { type: 'system', id: null });
    await rt0.close();
    const child = await startChildServer({ TOLLGATE_DATA_DIR: dataDir });
    const completions: number[] = [];
    let running = true;
    const load = (async () => {
      while (running) {
        await Promise.all(
          Array.from({ length: 4 }, async () => {
            try {
              const r = await fetch(`${child.url}/v1/models`, { headers: { authorization: `Bearer ${key.value}` } });
              if (r.status === 200) completions.push(Date.now());
              await r.arrayBuffer();
            } catch {
              // the instance is gone
            }
          }),
        );
      }
    })();
    await sleep(3000);
    const killedAt = Date.now();
    await child.stop('SIGKILL');
    running = false;
    await load;
    const count = async () => {
      const rt = await createRuntime(loadConfig({ TOLLGATE_DATA_DIR: dataDir }));
      try {
        return (await rt.database.db.selectFrom('usage_events').select('id').where('api_key_id', '=', key.id).execute()).length;
      } finally {
        await rt.close();
      }
    };
    const beforeRestart = await count();
    // The next start on the same data dir replays the write-ahead log.
    const again = await startChildServer({ TOLLGATE_DATA_DIR: dataDir });
    await sleep(2500);
    await again.stop();
    const stored = await count();
    console.log(
      `SIGKILL: ${completions.length} answered; ${beforeRestart} events in the database at the kill, ${stored} after the restart replayed the log; ${Math.max(0, completions.length - stored)} lost`,
    );
    // Answered requests whose event was still in the log's last group (5 ms, the default) may be lost, and a busy
    // machine runs the group's timer late: allow what was answered in the last 100 ms before the kill (and at least
    // 16). Three groups' worth of the load's average rate was too tight (24 lost of ~4,400 against 22 allowed, in a
    // fresh-clone CI run); every event answered earlier than that must have been kept.
    const allowed = Math.max(16, completions.filter((at) => at >= killedAt - 100).length);
    expect(stored).toBeGreaterThanOrEqual(completions.length - allowed);
    expect(stored).toBeLessThanOrEqual(completions.length + 8);
  }, 180_000);

  it('refuses, readably, a second server on a data dir a live one holds; the first goes on; a clean stop frees it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-twice-'));
    const first = await startChildServer({ TOLLGATE_DATA_DIR: dataDir });
    try {
      const second = spawnSync(process.execPath, entryArgs('src/main.ts'), {
        env: { ...process.env, LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(await freePort()), TOLLGATE_DATA_DIR: dataDir },
        encoding: 'utf8',
        timeout: 90_000,
      });
      expect(second.status).toBe(1);
      expect(second.stderr).toContain(`Another Tollgate server (process ${first.proc.pid}) is using the data dir ${dataDir}`);
      expect(second.stderr + second.stdout).not.toMatch(/\n\s+at /);
      expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    } finally {
      await first.stop();
    }
    const third = await startChildServer({ TOLLGATE_DATA_DIR: dataDir });
    await third.stop();
  }, 240_000);

  it('stays responsive for other requests while the upstream hangs, resets and returns garbage', async () => {
    const up = await startFakeUpstream();
    cleanups.push(() => up.close());
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-hang-')), 'c.json');
    // The breaker is off: this is about the event loop and the connection pool, and 20 failures in a row would
    // (rightly) open it, answering the good call 503 upstream_unavailable (test/provider-fallbacks.test.ts tests that).
    writeFileSync(
      file,
      JSON.stringify({ providers: [{ name: 'fake', base_url: up.url, timeouts: { first_byte_ms: 8000 }, circuit_breaker: false }] }),
    );
    const t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file } });
    cleanups.push(() => t.close());
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: {} })).body;
    const call = (model: string) =>
      fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${k.value}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [] }),
      });
    // When the first hanging call was given up (504 at its 8 s first-byte deadline).
    let firstTimeout = Number.POSITIVE_INFINITY;
    const hang = () =>
      call('hang').then((r) => {
        if (r.status === 504) firstTimeout = Math.min(firstTimeout, Date.now());
        return r;
      });
    const bad = Promise.all([...Array.from({ length: 30 }, hang), ...Array.from({ length: 10 }, () => call('reset')), ...Array.from({ length: 10 }, () => call('badjson'))]);
    await sleep(300);
    const good = await call('gpt-4o-mini');
    const answered = Date.now();
    expect(good.status).toBe(200);
    // Answered while the hanging calls still waited: it did not queue behind them (an order, not a speed bound).
    expect(answered).toBeLessThan(firstTimeout);
    const statuses = (await bad).map((r) => r.status);
    expect(statuses.filter((s) => s === 504)).toHaveLength(30);
    expect(statuses.filter((s) => s === 502)).toHaveLength(20);
  }, 60_000);
});
