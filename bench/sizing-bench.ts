import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config/config.js';
import { createRuntime } from '../src/runtime.js';
import { createProjectKey } from '../src/services/api-keys.js';
import { CHAT_BODIES, CHAT_PATH } from './chat-load.js';
import { type Child, childEnv, freePort, makeTempDir, spawnNode, stopChild, waitForHttp, waitForOutput } from './processes.js';
import { ensureWrk, runWrk, type WrkResult, writeWrkScript } from './wrk.js';

// Sizing: one instance, then two instances sharing PostgreSQL and Redis, under the same total load (32 connections:
// one wrk on one instance, then two wrk processes with 16 each). On this 2-core machine the two instances, the load
// generators and the upstream share the same cores, so this shows the cost of scaling out here, not its ceiling.

export interface SizingResult {
  connections: number;
  one: { rps: number; p50Us: number; p99Us: number };
  two: { rps: number; p50Us: number; p99Us: number };
}

const log = (line: string) => process.stderr.write(`${line}\n`);

export async function benchSizing(durationS: number): Promise<SizingResult | null> {
  const pgUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const redisUrl = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const admin = new pg.Client({ connectionString: pgUrl });
  try {
    await admin.connect();
  } catch (err) {
    log(`sizing bench: PostgreSQL not reachable (${(err as Error).message}); skipped`);
    return null;
  }
  await ensureWrk(log);
  const schema = `bench_sizing_${Date.now()}`;
  await admin.query(`CREATE SCHEMA "${schema}"`);
  const u = new URL(pgUrl);
  u.searchParams.set('options', `-c search_path=${schema}`);
  const dir = makeTempDir('tollgate-sizing-');
  const children: Child[] = [];
  try {
    const upstream = spawnNode('fake-upstream', [], ['bench/fake-upstream.ts'], childEnv({}));
    children.push(upstream);
    const upstreamPort = (await waitForOutput(upstream, /LISTENING (\d+)/, 30_000))[1];
    const configFile = join(dir, 'tollgate.config.json');
    writeFileSync(configFile, JSON.stringify({ providers: [{ name: 'fake', base_url: `http://127.0.0.1:${upstreamPort}/v1`, api_key_env: 'BENCH_UPSTREAM_KEY' }] }));
    const env = {
      DATABASE_URL: u.toString(),
      REDIS_URL: redisUrl,
      TOLLGATE_SECRET: 'bench-sizing-secret-0123456789abcdefgh',
      TOLLGATE_CONFIG: configFile,
      BENCH_UPSTREAM_KEY: 'sk-bench-upstream',
      LOG_LEVEL: 'warn',
    };
    const rt = await createRuntime(loadConfig({ ...env, TOLLGATE_DATA_DIR: join(dir, 'seed') }));
    const project = (await rt.database.db.selectFrom('projects').select('id').executeTakeFirstOrThrow()).id;
    const key = (await createProjectKey(rt.deps, rt.org.id, project, { name: 'sizing' }, { type: 'system', id: null })).value;
    await rt.close();
    const urls: string[] = [];
    for (const i of [1, 2]) {
      const port = await freePort();
      const child = spawnNode(`tollgate-${i}`, [], ['src/main.ts'], childEnv({ ...env, PORT: String(port), TOLLGATE_DATA_DIR: join(dir, `data-${i}`) }));
      children.push(child);
      urls.push(`http://127.0.0.1:${port}`);
      await waitForHttp(child, `${urls[i - 1]}/healthz`, 60_000);
    }
    const script = writeWrkScript(dir, 'sizing', CHAT_BODIES['non-stream'], [key]);
    const run = (url: string, connections: number, d: number) => runWrk({ url: url + CHAT_PATH, script, connections, durationS: d });
    log('sizing bench: warming up both instances…');
    await Promise.all(urls.map((url) => run(url, 8, 3)));
    log('sizing bench: one instance, 32 connections…');
    const one = await run(urls[0], 32, durationS);
    log('sizing bench: two instances, 16 connections each…');
    const two: WrkResult[] = await Promise.all(urls.map((url) => run(url, 16, durationS)));
    const pick = (r: WrkResult) => ({ rps: Math.round(r.rps), p50Us: Math.round(r.p50Us), p99Us: Math.round(r.p99Us) });
    return {
      connections: 32,
      one: pick(one),
      two: {
        rps: Math.round(two[0].rps + two[1].rps),
        p50Us: Math.round((two[0].p50Us + two[1].p50Us) / 2),
        p99Us: Math.round(Math.max(two[0].p99Us, two[1].p99Us)),
      },
    };
  } finally {
    for (const c of children) await stopChild(c, 5000);
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await admin.end();
  }
}
