import pg from 'pg';
import { expect, it } from 'vitest';
import { openDatabase } from '../src/storage/database.js';
import { databaseUrlFor, describeEachDatabase, freshSchema } from './harness/backends.js';

// Several Tollgates (or tenants, or test processes) on one PostgreSQL server: another schema created and dropped
// while ours migrates must not fail our start (Kysely's stock introspection read every schema's catalogue).
describeEachDatabase('a shared PostgreSQL server', (backend) => {
  it.runIf(backend.name === 'postgres')('migrates while other schemas come and go', async () => {
    const admin = new pg.Client({ connectionString: backend.url });
    await admin.connect();
    let stop = false;
    const churn = (async () => {
      while (!stop) {
        const other = freshSchema();
        await admin.query(`CREATE SCHEMA "${other}"`);
        await admin.query(`CREATE TABLE "${other}".t (id serial primary key)`);
        await admin.query(`DROP SCHEMA "${other}" CASCADE`);
      }
    })();
    const failures: string[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const schema = freshSchema();
        try {
          const database = await openDatabase({ url: databaseUrlFor(backend, schema), dataDir: '/tmp', schema });
          await database.close();
        } catch (err) {
          failures.push(String(err));
        } finally {
          await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        }
      }
    } finally {
      stop = true;
      await churn;
      await admin.end();
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
