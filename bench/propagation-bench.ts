import pg from 'pg';
import { loadConfig } from '../src/config/config.js';
import { createRuntime } from '../src/runtime.js';
import { createAdminKey } from '../src/services/admin-keys.js';
import { type ChildServer, startChildServer } from '../test/harness/child-server.js';

// Revocation propagation: three instances on one PostgreSQL and Redis, plus one without Redis (database feed only).
// A key is revoked on one instance; each instance is polled until it refuses the key. Repeated to get a spread.

export interface PropagationResult {
  rounds: number;
  /** Milliseconds until each Redis-connected instance refused the key, per round. */
  redisMs: number[];
  /** Milliseconds until the database-feed-only instance refused the key, per round. */
  databaseFeedMs: number[];
}

const log = (line: string) => process.stderr.write(`${line}\n`);

export async function benchPropagation(rounds = 10): Promise<PropagationResult | null> {
  const pgUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const redisUrl = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const schema = `bench_${Date.now()}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  try {
    await admin.connect();
  } catch (err) {
    log(`propagation bench: PostgreSQL not reachable (${(err as Error).message}); skipped`);
    return null;
  }
  await admin.query(`CREATE SCHEMA "${schema}"`);
  const u = new URL(pgUrl);
  u.searchParams.set('options', `-c search_path=${schema}`);
  const dbUrl = u.toString();
  const secret = 'bench-propagation-secret-0123456789abcdef';
  const instances: ChildServer[] = [];
  try {
    log('propagation bench: starting 3 instances with Redis and 1 without…');
    instances.push(...(await Promise.all([0, 1, 2].map(() => startChildServer({ DATABASE_URL: dbUrl, REDIS_URL: redisUrl, TOLLGATE_SECRET: secret })))));
    instances.push(await startChildServer({ DATABASE_URL: dbUrl, TOLLGATE_SECRET: secret }));
    const rt = await createRuntime(loadConfig({ DATABASE_URL: dbUrl, TOLLGATE_SECRET: secret, TOLLGATE_DATA_DIR: instances[0].dataDir }));
    const adminKey = (await createAdminKey(rt.deps, rt.org.id, { name: 'bench' }, { type: 'system', id: null })).value;
    const project = (await rt.database.db.selectFrom('projects').select('id').executeTakeFirstOrThrow()).id;
    await rt.close();
    const auth = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
    const redisMs: number[] = [];
    const databaseFeedMs: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const key = (await (await fetch(`${instances[0].url}/v1/organization/projects/${project}/api_keys`, { method: 'POST', headers: auth, body: '{}' })).json()) as { id: string; value: string };
      const probe = (i: ChildServer) => fetch(`${i.url}/v1/models`, { headers: { authorization: `Bearer ${key.value}` } }).then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      });
      for (const i of instances) await probe(i);
      const t0 = performance.now();
      await fetch(`${instances[round % 3].url}/v1/organization/projects/${project}/api_keys/${key.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminKey}` } });
      const seen = await Promise.all(
        instances.map(async (i) => {
          for (;;) {
            if ((await probe(i)) === 401) return performance.now() - t0;
            if (performance.now() - t0 > 10_000) return Number.POSITIVE_INFINITY;
          }
        }),
      );
      redisMs.push(...seen.slice(0, 3).map((ms) => Math.round(ms * 10) / 10));
      databaseFeedMs.push(Math.round(seen[3]));
    }
    return { rounds, redisMs, databaseFeedMs };
  } finally {
    await Promise.all(instances.map((i) => i.stop()));
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await admin.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchPropagation(), null, 2));
  process.exit(0);
}
