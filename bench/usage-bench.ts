import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import { costNanoUsd, DEFAULT_PRICES, priceFor } from '../src/core/pricing.js';
import { noopChanges, type ServiceDeps } from '../src/services/context.js';
import type { UsageEventsTable as UsageEvent } from '../src/storage/schema-usage.js';
import { getCosts } from '../src/services/costs-query.js';
import { JsonAnswer } from '../src/services/usage-params.js';
import { getUsage } from '../src/services/usage-query.js';
import { rollUpUsage } from '../src/storage/usage-rollup-writes.js';
import { type Database, openDatabase } from '../src/storage/database.js';
import { argon2Hasher } from '../src/infra/argon2-hasher.js';

// The usage API at scale: a month of usage events (1,000,000 over 10,000 keys in 100 projects) written as the
// recorder writes them (events and rollups in one transaction, here 20,000 events per transaction, in time order), then
// `usage/completions?start_time=<month ago>&bucket_width=1d&limit=31` grouped by project_id and by api_key_id, and
// `costs` by line item and by api_key_id, timed through the service function (median of 5 after one warm-up; the
// costs by key come back as the JSON answer itself, so their time includes what serialising objects costs the others).
// Each answer is checked first: costs by key must add up, day by day, to the day's total. SQLite always; PostgreSQL
// when TEST_DATABASE_URL is set. Run alone: node --import tsx bench/usage-bench.ts (USAGE_BENCH_EVENTS to resize).

const DAY = 86_400;
const KEYS = 10_000;
const PROJECTS = 100;
const EVENTS_PER_TRANSACTION = 20_000;
const MODELS = ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini', 'text-embedding-3-small'];
export const BENCH_ORG = 'org-bench';

export interface UsageBenchResult {
  events: number;
  keys: number;
  /** group_by=project_id, 31 daily buckets. */
  monthQueryMs: { sqlite: number; postgres?: number };
  /** group_by=api_key_id, 31 daily buckets (about 10,000 results per bucket). */
  monthQueryByKeyMs: { sqlite: number; postgres?: number };
  /** costs grouped by line_item, 31 daily buckets. */
  monthCostsMs: { sqlite: number; postgres?: number };
  /** costs grouped by api_key_id, 31 daily buckets (one result per key and day), the JSON answer ready to send. */
  monthCostsByKeyMs: { sqlite: number; postgres?: number };
  /** Results and bytes of that answer. */
  monthCostsByKey: { results: number; bytes: number };
  /** costs of one key (api_key_ids), 31 daily buckets. */
  monthCostsOneKeyMs: { sqlite: number; postgres?: number };
  loadSeconds: { sqlite: number; postgres?: number };
  /** The machine's 1-minute load average while the queries were timed (mean of before and after), and its CPUs. */
  loadAverage: { sqlite: number; postgres?: number; cpus: number };
  rollupRows: { sqlite: { hourly: number; daily: number }; postgres?: { hourly: number; daily: number } };
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** A small seeded PRNG (mulberry32): the same month every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Events `from`..`from + n` of `total`, in time order as a gateway writes them, spread evenly over 30 days.
 * Any key may call at any time; each key has a main model (80 %) and a second one; 3 % refused, 1 % failed.
 */
function makeEvents(rand: () => number, from: number, n: number, total: number, monthStartMs: number): UsageEvent[] {
  const spanMs = 30 * DAY * 1000;
  const out: UsageEvent[] = [];
  for (let i = from; i < from + n; i++) {
    const key = Math.floor(rand() * KEYS);
    const model = MODELS[(key + (rand() < 0.8 ? 0 : 1)) % MODELS.length];
    const embedding = model.startsWith('text-embedding');
    const roll = rand();
    const outcome = roll < 0.03 ? 'refused' : roll < 0.04 ? 'upstream_error' : 'ok';
    const billable = outcome === 'ok' ? 1 : 0;
    const input = billable ? 50 + Math.floor(rand() * 2000) : 0;
    const cached = billable && !embedding ? Math.floor(input * rand() * 0.5) : 0;
    const output = billable && !embedding ? Math.floor(rand() * 800) : 0;
    out.push({
      id: `evt_bench_${i}`,
      created_at_ms: monthStartMs + Math.floor(((i + rand()) / total) * spanMs),
      org_id: BENCH_ORG,
      project_id: `proj_bench_${key % PROJECTS}`,
      api_key_id: `key_bench_${key}`,
      model,
      provider: 'openai',
      credential: null,
      endpoint: embedding ? '/embeddings' : rand() < 0.2 ? '/responses' : '/chat/completions',
      method: 'POST',
      status: outcome === 'refused' ? 429 : outcome === 'ok' ? 200 : 502,
      outcome,
      billable,
      input_tokens: input,
      cached_tokens: cached,
      output_tokens: output,
      latency_ms: 200,
      upstream_latency_ms: billable ? 180 : null,
      cost_nanousd: billable ? costNanoUsd(priceFor(DEFAULT_PRICES, model), { input, cached, output }) : 0,
      streamed: 0,
      error_code: outcome === 'ok' ? null : outcome,
      units: 0,
      unpriced: 0,
      request_id: `req_bench_${i}`,
      upstream_request_id: billable ? `req_upstream_${i}` : null,
      service_tier: billable ? 'default' : null,
      cache_write_tokens: 0,
      cache_write_1h_tokens: 0,
      audio_input_tokens: 0,
      audio_output_tokens: 0,
      image_input_tokens: 0,
      image_output_tokens: 0,
      web_search_requests: 0,
    });
  }
  return out;
}

/** Writes the month like the recorder does: each transaction inserts its events and folds them into the rollups. */
export async function loadMonth(database: Database, total: number, monthStartMs: number): Promise<number> {
  const rand = prng(20_250_106);
  // Rows per INSERT under each database's parameter limit (SQLite 32,766, PostgreSQL 65,535), whatever the columns.
  const columns = Object.keys(makeEvents(prng(1), 0, 1, 1, monthStartMs)[0]).length;
  const rowsPerInsert = Math.floor((database.dialect === 'sqlite' ? 32_766 : 65_535) / columns);
  const t0 = performance.now();
  for (let done = 0; done < total; done += EVENTS_PER_TRANSACTION) {
    const events = makeEvents(rand, done, Math.min(EVENTS_PER_TRANSACTION, total - done), total, monthStartMs);
    await database.db.transaction().execute(async (trx) => {
      for (let i = 0; i < events.length; i += rowsPerInsert) {
        await trx.insertInto('usage_events').values(events.slice(i, i + rowsPerInsert)).execute();
      }
      await rollUpUsage(trx, events);
    });
    if ((done / EVENTS_PER_TRANSACTION) % 10 === 9) log(`  ${database.dialect}: ${done + events.length} events`);
  }
  // Fresh tables have no planner statistics yet; a running server gets them from (auto)analyze.
  await sql`analyze`.execute(database.db);
  return (performance.now() - t0) / 1000;
}

async function median(runs: number, fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(times.length / 2)] * 10) / 10;
}

type CostsPage = { data: Array<{ results: Array<{ amount: { value: number }; api_key_id: string | null }> }> };

const pageOf = (answer: unknown): CostsPage => (answer instanceof JsonAnswer ? answer.parse<CostsPage>() : (answer as CostsPage));

/** The by-key answer must hold one result per key and day, adding up to each day's total. */
async function checkCostsByKey(byKey: unknown, totals: unknown): Promise<{ results: number; bytes: number }> {
  const keyed = pageOf(byKey);
  const total = pageOf(totals);
  const nano = (v: number) => Math.round(v * 1e9);
  let results = 0;
  for (const [i, bucket] of keyed.data.entries()) {
    const keys = bucket.results.map((r) => r.api_key_id);
    if (new Set(keys).size !== keys.length || keys.some((k) => !k)) throw new Error(`bucket ${i}: a key twice, or without an id`);
    const sum = bucket.results.reduce((s, r) => s + nano(r.amount.value), 0);
    const want = total.data[i].results.reduce((s, r) => s + nano(r.amount.value), 0);
    if (sum !== want) throw new Error(`bucket ${i}: keys add up to ${sum} nano-dollars, the day's total is ${want}`);
    results += bucket.results.length;
  }
  if (results < 10_000) throw new Error(`only ${results} results by key`);
  return { results, bytes: byKey instanceof JsonAnswer ? byKey.bytes().length : Buffer.byteLength(JSON.stringify(byKey)) };
}

async function benchOne(database: Database, total: number, nowSec: number) {
  const monthStart = Math.floor(nowSec / DAY) * DAY - 30 * DAY;
  const loadSeconds = await loadMonth(database, total, monthStart * 1000);
  const deps: ServiceDeps = { database, clock: () => nowSec * 1000, randomBytes: (n) => randomBytes(n), changes: noopChanges, passwords: argon2Hasher() };
  const month = { start_time: String(nowSec - 30 * DAY), bucket_width: '1d', limit: '31' };
  const byProject = () => getUsage(deps, BENCH_ORG, 'completions', { ...month, group_by: 'project_id' });
  const byKey = () => getUsage(deps, BENCH_ORG, 'completions', { ...month, group_by: 'api_key_id' });
  const costs = () => getCosts(deps, BENCH_ORG, { ...month, group_by: 'line_item' });
  const costsByKey = () => getCosts(deps, BENCH_ORG, { ...month, group_by: 'api_key_id' });
  const costsOneKey = () => getCosts(deps, BENCH_ORG, { ...month, api_key_ids: 'key_bench_42' });
  const byKeyAnswer = await checkCostsByKey(await costsByKey(), await getCosts(deps, BENCH_ORG, month));
  // The answer must hold the whole month: every billed completion of the load.
  const page = await byProject();
  const requests = page.data.flatMap((b) => b.results).reduce((s, r) => s + Number(r.num_model_requests), 0);
  if (requests === 0 || page.data.length < 30) throw new Error(`unexpected answer: ${page.data.length} buckets, ${requests} requests`);
  const loadBefore = loadavg()[0];
  const times = {
    byProjectMs: await median(5, byProject),
    byKeyMs: await median(5, byKey),
    costsMs: await median(5, costs),
    costsByKeyMs: await median(5, costsByKey),
    costsOneKeyMs: await median(5, costsOneKey),
  };
  const load = Math.round(((loadBefore + loadavg()[0]) / 2) * 10) / 10;
  const count = async (table: 'usage_rollups_1h' | 'usage_rollups_1d') =>
    Number((await database.db.selectFrom(table).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);
  return {
    loadSeconds: Math.round(loadSeconds * 10) / 10,
    ...times,
    load,
    costsByKey: byKeyAnswer,
    rows: { hourly: await count('usage_rollups_1h'), daily: await count('usage_rollups_1d') },
  };
}

/** Loads a month of usage into SQLite (and PostgreSQL with TEST_DATABASE_URL) and times month-long queries. */
export async function benchUsageQuery(): Promise<UsageBenchResult> {
  const total = Number(process.env.USAGE_BENCH_EVENTS ?? 1_000_000);
  const nowSec = Math.floor(Date.now() / 1000);
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-usage-bench-'));
  try {
    log(`usage bench: ${total} events over ${KEYS} keys, SQLite…`);
    const sqlite = await openDatabase({ dataDir: dir });
    const s = await benchOne(sqlite, total, nowSec).finally(() => sqlite.close());
    log(`  sqlite (load average ${s.load}): load ${s.loadSeconds} s; by project ${s.byProjectMs} ms, by key ${s.byKeyMs} ms, costs ${s.costsMs} ms, costs by key ${s.costsByKeyMs} ms, one key ${s.costsOneKeyMs} ms`);
    const result: UsageBenchResult = {
      events: total,
      keys: KEYS,
      monthQueryMs: { sqlite: s.byProjectMs },
      monthQueryByKeyMs: { sqlite: s.byKeyMs },
      monthCostsMs: { sqlite: s.costsMs },
      monthCostsByKeyMs: { sqlite: s.costsByKeyMs },
      monthCostsByKey: s.costsByKey,
      monthCostsOneKeyMs: { sqlite: s.costsOneKeyMs },
      loadSeconds: { sqlite: s.loadSeconds },
      loadAverage: { sqlite: s.load, cpus: availableParallelism() },
      rollupRows: { sqlite: s.rows },
    };
    const url = process.env.TEST_DATABASE_URL;
    if (url) {
      const schema = `bench_${randomBytes(4).toString('hex')}`;
      log('usage bench: PostgreSQL…');
      const postgres = await openDatabase({ url, dataDir: dir, schema });
      try {
        const p = await benchOne(postgres, total, nowSec);
        log(`  postgres (load average ${p.load}): load ${p.loadSeconds} s; by project ${p.byProjectMs} ms, by key ${p.byKeyMs} ms, costs ${p.costsMs} ms, costs by key ${p.costsByKeyMs} ms, one key ${p.costsOneKeyMs} ms`);
        result.monthQueryMs.postgres = p.byProjectMs;
        result.monthQueryByKeyMs.postgres = p.byKeyMs;
        result.monthCostsMs.postgres = p.costsMs;
        result.monthCostsByKeyMs.postgres = p.costsByKeyMs;
        result.monthCostsOneKeyMs.postgres = p.costsOneKeyMs;
        result.loadSeconds.postgres = p.loadSeconds;
        result.loadAverage.postgres = p.load;
        result.rollupRows.postgres = p.rows;
      } finally {
        await postgres.close();
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await c.end();
      }
    }
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchUsageQuery(), null, 2));
}
