import { type Kysely, Migrator, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { describeEachDatabase, freshSchema } from '../../test/harness/backends.js';
import { closeBareDatabase, openBareDatabase } from '../../test/harness/bare-database.js';
import { insertAsOf, writeUsageAsOf } from '../../test/harness/usage-as-of.js';
import { usageRow } from '../../test/harness/usage-event.js';
import { costNanoUsd, DEFAULT_PRICES, type ModelPrice } from '../core/pricing.js';
import type { UsageRow } from '../core/usage-line.js';
import { migrations } from './migrations.js';
import { movedCost } from './migrations-kinds.js';
import { endpointKind, ROLLUP_KEY, ROLLUP_TABLES } from './schema-rollups.js';
import { aggregateRollups } from './usage-rollups.js';

const H = 3600;
const DAY = 86_400;
const D = 1_736_121_600; // 2025-01-06T00:00:00Z
/** Raw events before this instant were deleted by the retention before the upgrade: noon of the second day. */
const CUTOFF = D + DAY + 12 * H;

/** Prices of the gateway that wrote the rollups, none of them built in: the migration cannot reproduce their split. */
const PRICES: Readonly<Record<string, ModelPrice>> = {
  ...DEFAULT_PRICES,
  'claude-custom': { input: 7, cached_input: 0.5, output: 11 },
  'gpt-custom': { input: 2, cached_input: 1, output: 9 },
};

let seq = 0;
function ev(at: number, o: Partial<UsageRow> = {}): UsageRow {
  const e = usageRow({
    id: `evt_${++seq}`,
    request_id: `req_${String(seq).padStart(32, '0')}`,
    created_at_ms: at * 1000,
    project_id: 'proj_a',
    api_key_id: 'key_1',
    model: 'claude-custom',
    endpoint: '/messages',
    input_tokens: 100,
    cached_tokens: 40,
    output_tokens: 20,
    ...o,
  });
  if (o.cost_nanousd === undefined && e.billable && e.outcome !== 'refused' && e.model && PRICES[e.model]) {
    e.cost_nanousd = costNanoUsd(PRICES[e.model], { input: e.input_tokens, cached: e.cached_tokens, output: e.output_tokens });
  }
  return e;
}
const free = { billable: 0, cost_nanousd: 0, input_tokens: 0, cached_tokens: 0, output_tokens: 0 };

/** Three days: one whose raw events are all gone, one cut at noon, one whole; Messages beside chat, count_tokens, files. */
function history(): UsageRow[] {
  const out: UsageRow[] = [];
  for (const day of [D, D + DAY, D + 2 * DAY]) {
    for (const hour of [9, 15]) {
      const t = day + hour * H;
      out.push(
        ev(t + 60),
        ev(t + 120, { input_tokens: 3000, cached_tokens: 0, output_tokens: 900, service_tier: 'priority' }),
        ev(t + 180, { api_key_id: 'key_2', model: 'gpt-custom', input_tokens: 50, cached_tokens: 10, output_tokens: 5 }),
        // A Responses compaction (billed as tokens): a completion from this version on, under 'other' before.
        ev(t + 200, { endpoint: '/responses/compact', api_key_id: 'key_2', model: 'gpt-custom', input_tokens: 900, cached_tokens: 0, output_tokens: 60 }),
        // The same key and model through chat completions: rows in both kinds.
        ev(t + 240, { endpoint: '/chat/completions', input_tokens: 10, cached_tokens: 0, output_tokens: 10 }),
        // Free, and other for good: count_tokens of the same model and key, a file upload.
        ev(t + 300, { endpoint: '/messages/count_tokens', ...free }),
        ev(t + 330, { endpoint: '/files', model: null, ...free }),
        // A refusal and a failure of the Messages API.
        ev(t + 360, { status: 429, outcome: 'refused', ...free, error_code: 'rate_limit_exceeded' }),
        ev(t + 420, { status: 502, outcome: 'upstream_error', ...free, error_code: 'upstream_error' }),
        // An unpriced model, billed at 0.
        ev(t + 480, { model: 'claude-unknown', unpriced: 1, cost_nanousd: 0 }),
        // Another project.
        ev(t + 540, { project_id: 'proj_b', api_key_id: 'key_3', output_tokens: 77 }),
      );
    }
  }
  for (const e of out) e.org_id = 'org-1';
  return out;
}

type Row = Record<string, string | number>;

/** The summed columns as 099 found them (the tables gain more later: 103's token parts). */
const ROLLUP_SUMS = [
  'num_requests',
  'num_model_requests',
  'num_refused_requests',
  'num_failed_requests',
  'input_tokens',
  'cached_tokens',
  'output_tokens',
  'input_cost_nanousd',
  'cached_cost_nanousd',
  'output_cost_nanousd',
  'units',
  'num_unpriced_requests',
] as const;

async function rowsOf(db: Kysely<unknown>, table: string): Promise<Row[]> {
  const cols = [...ROLLUP_KEY, ...ROLLUP_SUMS];
  const r = await sql<Row>`select ${sql.join(cols.map((c) => sql.ref(c)))} from ${sql.table(table)}`.execute(db);
  return r.rows
    .map((row): Row => Object.fromEntries(cols.map((c) => [c, c === 'bucket_start' || (ROLLUP_SUMS as readonly string[]).includes(c) ? Number(row[c]) : row[c]])))
    .sort((a, b) => JSON.stringify(ROLLUP_KEY.map((c) => a[c])).localeCompare(JSON.stringify(ROLLUP_KEY.map((c) => b[c]))));
}

/** Sums of every column per identity across endpoint kinds. */
function acrossKinds(rows: Row[]): Map<string, Row> {
  const out = new Map<string, Row>();
  for (const r of rows) {
    const id = JSON.stringify([r.org_id, r.bucket_start, r.project_id, r.api_key_id, r.model, r.service_tier]);
    const acc = out.get(id) ?? Object.fromEntries(ROLLUP_SUMS.map((c) => [c, 0]));
    for (const c of ROLLUP_SUMS) acc[c] = Number(acc[c]) + Number(r[c]);
    out.set(id, acc);
  }
  return out;
}

const plain = (rows: Array<Record<string, unknown>>) => rows.map((r) => Object.fromEntries(Object.entries(r)));

describeEachDatabase('migration 099 (Messages API as completions) on a database written before it', (backend) => {
  const schema = freshSchema();

  const open = () => openBareDatabase(backend, schema);

  it("moves each kept Messages request from 'other' to 'completions' in every rollup, leaves what it cannot tell apart, and adds up", async () => {
    const all = migrations(backend.name);
    const before = Object.fromEntries(Object.entries(all).filter(([name]) => name < '099'));
    // Up to 099 and no further: the crash below (099 run, not recorded) happens before any later migration ran.
    const through099 = Object.fromEntries(Object.entries(all).filter(([name]) => name < '100'));
    const db = await open();
    try {
      expect((await new Migrator({ db, provider: { getMigrations: async () => before } }).migrateToLatest()).error).toBeUndefined();
      const events = history();
      // Written as the gateway before this version wrote them: the Messages API under 'other' (a route no kind lists).
      const asBefore = events.map((e) => (e.endpoint === '/messages' || e.endpoint === '/responses/compact' ? { ...e, endpoint: `${e.endpoint} (before 099)` } : e));
      // Kinds as 099 found them: no kind for a billed request of a route none lists (102 gave it one).
      await writeUsageAsOf(db, asBefore, PRICES, (method, endpoint) => endpointKind(method, endpoint), false);
      await insertAsOf(db, 'usage_events', events);
      // The retention had deleted the raw events before CUTOFF.
      await sql`delete from usage_events where created_at_ms < ${CUTOFF * 1000}`.execute(db);
      const kept = events.filter((e) => e.created_at_ms >= CUTOFF * 1000);
      const old: Record<string, Row[]> = {};
      for (const { table } of ROLLUP_TABLES) old[table] = await rowsOf(db, table);
      const costsBefore = plain((await sql`select * from usage_costs_key_1d order by bucket_start, api_key_id`.execute(db)).rows as Array<Record<string, unknown>>);
      expect(old.usage_rollups_1h.some((r) => r.endpoint_kind === 'other' && r.model === 'claude-custom' && Number(r.num_model_requests) > 0)).toBe(true);

      expect((await new Migrator({ db, provider: { getMigrations: async () => through099 } }).migrateToLatest()).error).toBeUndefined();

      // What today's gateway rolls up from the kept events: Messages under completions.
      const fresh = aggregateRollups(kept, PRICES);
      for (const { table, width } of ROLLUP_TABLES) {
        const now = await rowsOf(db, table);
        // Nothing made or lost: every (bucket, project, key, model, tier) sums the same across kinds; no row is negative or empty.
        expect(acrossKinds(now), table).toEqual(acrossKinds(old[table]));
        for (const r of now) {
          expect(ROLLUP_SUMS.every((c) => Number(r[c]) >= 0), `${table} ${JSON.stringify(r)}`).toBe(true);
          expect(ROLLUP_SUMS.some((c) => Number(r[c]) !== 0), `${table} ${JSON.stringify(r)}`).toBe(true);
        }
        // Buckets whose raw events were all deleted: as they were (Messages still under 'other').
        expect(now.filter((r) => Number(r.bucket_start) + width <= CUTOFF), table).toEqual(old[table].filter((r) => Number(r.bucket_start) + width <= CUTOFF));
        // Buckets whose raw events are all kept: exactly what today's gateway writes, cost line items included.
        const whole = (r: Row) => Number(r.bucket_start) >= CUTOFF;
        const expected = (fresh[table] as unknown as Row[]).filter(whole);
        expect(now.filter(whole), table).toEqual(sortedLike(expected));
      }
      // The day cut at noon: its kept Messages requests moved (tokens, requests and cost as the events sum them); the
      // deleted ones, count_tokens and the upload stay under 'other'.
      const day = (await rowsOf(db, 'usage_rollups_1d')).filter((r) => r.bucket_start === D + DAY);
      const claude = (kind: string) => day.find((r) => r.endpoint_kind === kind && r.api_key_id === 'key_1' && r.model === 'claude-custom' && r.service_tier === '')!;
      const keptClaude = kept.filter((e) => e.created_at_ms < (D + 2 * DAY) * 1000 && e.api_key_id === 'key_1' && e.model === 'claude-custom' && e.service_tier === null);
      const keptMessages = keptClaude.filter((e) => e.endpoint === '/messages');
      const billed = keptMessages.filter((e) => e.billable && e.outcome !== 'refused');
      const chat = keptClaude.filter((e) => e.endpoint === '/chat/completions');
      const completions = claude('completions');
      // Chat completions of the whole day (their hours all rolled up as completions) plus the kept Messages requests.
      expect(completions.num_requests).toBe(2 + keptMessages.length);
      expect(completions.num_refused_requests).toBe(1);
      expect(completions.input_tokens).toBe(20 + billed.reduce((s, e) => s + e.input_tokens, 0));
      const cost = (r: Row) => Number(r.input_cost_nanousd) + Number(r.cached_cost_nanousd) + Number(r.output_cost_nanousd);
      const chatCost = 2 * chat[0].cost_nanousd;
      expect(cost(completions)).toBe(chatCost + billed.reduce((s, e) => s + e.cost_nanousd, 0));
      // Left under 'other': the morning's Messages requests, deleted before the upgrade (ok, refused, failed), and the
      // day's two count_tokens.
      expect(claude('other')).toMatchObject({ num_requests: 3 + 2, num_model_requests: 1, num_refused_requests: 1, num_failed_requests: 1 });
      // The morning's billed Messages request cost what the afternoon's did (the same tokens).
      expect(cost(claude('other'))).toBe(billed[0].cost_nanousd);
      // Costs by key have no endpoint kind: untouched.
      expect(plain((await sql`select * from usage_costs_key_1d order by bucket_start, api_key_id`.execute(db)).rows as Array<Record<string, unknown>>)).toEqual(costsBefore);

      // Kysely records 099 as run: migrating again moves nothing twice.
      const snapshot: Record<string, Row[]> = {};
      for (const { table } of ROLLUP_TABLES) snapshot[table] = await rowsOf(db, table);
      const again = await new Migrator({ db, provider: { getMigrations: async () => through099 } }).migrateToLatest();
      expect(again.error).toBeUndefined();
      expect(again.results).toEqual([]);
      for (const { table } of ROLLUP_TABLES) expect(await rowsOf(db, table)).toEqual(snapshot[table]);
      // A crash after 099's transaction committed and before the migrator recorded it (two steps on SQLite): the next
      // start runs 099 again, which moves nothing twice.
      await sql`delete from kysely_migration where name = '099_usage_messages_completions'`.execute(db);
      const rerun = await new Migrator({ db, provider: { getMigrations: async () => through099 } }).migrateToLatest();
      expect(rerun.error).toBeUndefined();
      expect(rerun.results?.map((r) => r.migrationName)).toEqual(['099_usage_messages_completions']);
      for (const { table } of ROLLUP_TABLES) expect(await rowsOf(db, table)).toEqual(snapshot[table]);
      expect((await new Migrator({ db, provider: { getMigrations: async () => all } }).migrateToLatest()).error).toBeUndefined();
    } finally {
      await closeBareDatabase(db, backend, schema);
    }
  });

  /** Rows in rowsOf's order. */
  function sortedLike(rows: Row[]): Row[] {
    return rows
      .map((r) => Object.fromEntries([...ROLLUP_KEY, ...ROLLUP_SUMS].map((c) => [c, r[c]])))
      .sort((a, b) => JSON.stringify(ROLLUP_KEY.map((c) => a[c])).localeCompare(JSON.stringify(ROLLUP_KEY.map((c) => b[c]))));
  }
});

describe('movedCost', () => {
  it('moves every part when the events hold all of the cost, else their total in the parts’ proportions, never more than a part holds', () => {
    expect(movedCost([700, 20, 220], 940)).toEqual([700, 20, 220]);
    expect(movedCost([700, 20, 220], 0)).toEqual([0, 0, 0]);
    expect(movedCost([700, 20, 220], 470)).toEqual([350, 10, 110]);
    // More than the row holds moves the row (an event the rollups never counted takes nothing of another's).
    expect(movedCost([1, 0, 2], 10)).toEqual([1, 0, 2]);
    for (const [parts, total] of [
      [[1, 1, 1], 2],
      [[0, 5, 0], 3],
      [[333, 333, 334], 999],
      [[2 ** 40, 7, 2 ** 41], 2 ** 40 + 12345],
    ] as Array<[[number, number, number], number]>) {
      const moved = movedCost(parts, total);
      expect(moved[0] + moved[1] + moved[2]).toBe(total);
      expect(moved.every((m, i) => m >= 0 && m <= parts[i])).toBe(true);
    }
  });
});
