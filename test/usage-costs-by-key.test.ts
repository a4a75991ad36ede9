import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { noopChanges, type ServiceDeps } from '../src/services/context.js';
import { getCosts, ODD_IDS } from '../src/services/costs-query.js';
import { JsonAnswer } from '../src/services/usage-params.js';
import { type Database, openDatabase } from '../src/storage/database.js';
import { rollUpUsage } from '../src/storage/usage-rollup-writes.js';
import { describeEachDatabase, freshSchema } from './harness/backends.js';
import { usageRow } from './harness/usage-event.js';
import { testPasswords } from './harness/server.js';

// Costs grouped by key, the answer the database writes as JSON (issue 17 §2): every day of a page, and ids of any
// spelling. On PostgreSQL plain ids are quoted as they are and the days are split across two connections: a range with
// an id JSON must escape, or with none (''), still answers well-formed JSON with the same values.

const DAY = 86_400;
const D = 1_767_225_600; // 2026-01-01, a day start
const ORG = 'org-costs';

type Result = { amount: { value: number }; project_id: string | null; api_key_id: string | null };
type CostsPage = { data: Array<{ start_time: number; results: Result[] }> };

describeEachDatabase('costs by key written by the database', (backend) => {
  let database: Database;
  let deps: ServiceDeps;
  const schema = freshSchema();

  /** Events of `key` in `project` costing `cost` nano-dollars each, one on each of `days` (day offsets from D). */
  const events = (key: string, project: string, cost: number, days: number[]) =>
    days.map((day, i) => usageRow({ id: `evt_${randomBytes(6).toString('hex')}_${i}`, created_at_ms: (D + day * DAY + 3600) * 1000, org_id: ORG, project_id: project, api_key_id: key, cost_nanousd: cost, input_tokens: 10 }));

  const costs = async (query: Record<string, string>): Promise<CostsPage> => {
    const answer = await getCosts(deps, ORG, { start_time: String(D), end_time: String(D + 4 * DAY), bucket_width: '1d', ...query });
    // Parsing is the check: a quote or backslash left unescaped breaks the JSON.
    return answer instanceof JsonAnswer ? answer.parse<CostsPage>() : (answer as unknown as CostsPage);
  };
  const byDay = (page: CostsPage) => page.data.map((b) => b.results.map((r) => [r.project_id, r.api_key_id, Math.round(r.amount.value * 1e9)]).sort());

  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-costs-by-key-'));
    database = await openDatabase(backend.url ? { url: backend.url, dataDir, schema } : { dataDir });
    deps = { database, clock: () => (D + 10 * DAY) * 1000, randomBytes: (n) => randomBytes(n), changes: noopChanges, passwords: testPasswords };
    const rows = [...events('key_plain1', 'proj_a', 1_000, [0, 1, 2, 3]), ...events('key_plain2', 'proj_b', 250, [0, 3])];
    await database.db.transaction().execute((trx) => rollUpUsage(trx, rows));
  });
  afterAll(async () => {
    await database?.close();
    if (backend.url) {
      const c = new pg.Client({ connectionString: backend.url });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    }
  });

  it('answers every day of the page, each adding up to the day’s total', async () => {
    const page = await costs({ group_by: 'api_key_id' });
    expect(page.data.map((b) => b.start_time)).toEqual([D, D + DAY, D + 2 * DAY, D + 3 * DAY]);
    expect(byDay(page)).toEqual([
      [[null, 'key_plain1', 1_000], [null, 'key_plain2', 250]],
      [[null, 'key_plain1', 1_000]],
      [[null, 'key_plain1', 1_000]],
      [[null, 'key_plain1', 1_000], [null, 'key_plain2', 250]],
    ]);
    const both = await costs({ group_by: 'project_id,api_key_id' });
    expect(byDay(both)[3]).toEqual([['proj_a', 'key_plain1', 1_000], ['proj_b', 'key_plain2', 250]]);
  });

  it('escapes ids that are not plain words, and answers an empty key id as null, in the ranges that hold them', async () => {
    const odd = 'key_"odd"\\id\u0001é';
    const project = 'proj "x"';
    const rows = [...events(odd, project, 7, [1]), ...events('', 'proj_a', 5, [1])];
    await database.db.transaction().execute((trx) => rollUpUsage(trx, rows));
    const page = await costs({ group_by: 'project_id,api_key_id' });
    expect(byDay(page)[1]).toEqual([[project, odd, 7], ['proj_a', null, 5], ['proj_a', 'key_plain1', 1_000]].sort());
    expect(byDay(await costs({ group_by: 'api_key_id' }))[1]).toEqual([[null, odd, 7], [null, null, 5], [null, 'key_plain1', 1_000]].sort());
    // Days the page holds no odd id in answer as before.
    expect(byDay(await costs({ group_by: 'api_key_id', start_time: String(D + 2 * DAY) }))[1]).toEqual([[null, 'key_plain1', 1_000], [null, 'key_plain2', 250]]);
  });

  it.runIf(backend.name === 'postgres')('asks whether a range holds such ids of the partial index migration 098 made for it', async () => {
    // A table this small is read whole; with that ruled out, the planner shows what it can answer the question from.
    const plan = await database.db.transaction().execute(async (trx) => {
      await sql`set local enable_seqscan = off`.execute(trx);
      return sql<{ 'QUERY PLAN': string }>`
        explain select exists (select from usage_costs_key_1d o where o.org_id = ${ORG} and o.bucket_start >= ${D} and o.bucket_start < ${D + 4 * DAY} and (${ODD_IDS}))`.execute(trx);
    });
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('usage_costs_key_1d_odd_ids');
  });
});
