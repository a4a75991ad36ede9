import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { createRuntime } from '../src/runtime.js';
import { createAdminKey } from '../src/services/admin-keys.js';
import { databaseUrlFor, describeWithRedis, freshSchema } from './harness/backends.js';
import { type ChildServer, startChildServer } from './harness/child-server.js';

const SECRET = 'scale-out-test-secret-0123456789abcdef';

describeWithRedis('scale-out', (redisUrl) => {
  const pgUrl = process.env.TEST_DATABASE_URL;
  const schema = freshSchema();
  let instances: ChildServer[] = [];
  let noRedis: ChildServer | null = null;
  let admin = '';

  beforeAll(async () => {
    if (!pgUrl) throw new Error('the scale-out suite needs TEST_DATABASE_URL as well');
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(`CREATE SCHEMA "${schema}"`);
    await c.end();
    const dbUrl = databaseUrlFor({ name: 'postgres', url: pgUrl }, schema) as string;
    // Three instances start at once on an empty database: migrations and the first organization must happen once.
    instances = await Promise.all([0, 1, 2].map(() => startChildServer({ DATABASE_URL: dbUrl, REDIS_URL: redisUrl, TOLLGATE_SECRET: SECRET })));
    noRedis = await startChildServer({ DATABASE_URL: dbUrl, TOLLGATE_SECRET: SECRET });
    const rt = await createRuntime(loadConfig({ DATABASE_URL: dbUrl, TOLLGATE_SECRET: SECRET, TOLLGATE_DATA_DIR: instances[0].dataDir }));
    try {
      admin = (await createAdminKey(rt.deps, rt.org.id, { name: 'scale' }, { type: 'system', id: null })).value;
      const orgs = await rt.database.db.selectFrom('organizations').select('id').execute();
      expect(orgs).toHaveLength(1);
    } finally {
      await rt.close();
    }
  }, 200_000);

  afterAll(async () => {
    await Promise.all([...instances, ...(noRedis ? [noRedis] : [])].map((i) => i.stop()));
    if (pgUrl) {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    }
  });

  it('shares one organization, and a revoke on one instance is refused by every other within seconds', async () => {
    const api = (base: string, method: string, path: string, body?: unknown) =>
      fetch(base + path, { method, headers: { authorization: `Bearer ${admin}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const projects = await Promise.all(instances.map(async (i) => (await (await api(i.url, 'GET', '/v1/organization/projects')).json()).data[0].id));
    expect(new Set(projects).size).toBe(1);
    const project = projects[0];
    const key = await (await api(instances[0].url, 'POST', `/v1/organization/projects/${project}/api_keys`, { name: 'shared' })).json();
    const all = [...instances, noRedis as ChildServer];
    const models = (i: ChildServer) => fetch(`${i.url}/v1/models`, { headers: { authorization: `Bearer ${key.value}` } });
    for (const i of all) expect((await models(i)).status).toBe(200); // every cache now holds the key

    const revoked = await api(instances[1].url, 'DELETE', `/v1/organization/projects/${project}/api_keys/${key.id}`);
    expect(revoked.status).toBe(200);
    expect((await models(instances[1])).status).toBe(401); // the instance that revoked refuses at once
    const t0 = Date.now();
    const seen = await Promise.all(
      all.map(async (i) => {
        for (;;) {
          if ((await models(i)).status === 401) return Date.now() - t0;
          if (Date.now() - t0 > 5000) return Number.POSITIVE_INFINITY;
          await new Promise((r) => setTimeout(r, 10));
        }
      }),
    );
    console.log(`revocation seen after (ms): redis instances ${seen.slice(0, 3).join(', ')}; database feed only ${seen[3]}`);
    for (const ms of seen) expect(ms).toBeLessThan(5000);
  }, 60_000);
});
