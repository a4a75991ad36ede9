import { type Kysely, Migrator, sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachDatabase, freshSchema } from '../../test/harness/backends.js';
import { closeBareDatabase, openBareDatabase } from '../../test/harness/bare-database.js';
import { insertAsOf, writeUsageAsOf } from '../../test/harness/usage-as-of.js';
import { usageRow } from '../../test/harness/usage-event.js';
import { costNanoUsd, DEFAULT_PRICES, type ModelPrice } from '../core/pricing.js';
import type { UsageRow } from '../core/usage-line.js';
import { migrations } from './migrations.js';
import { endpointKind, ROLLUP_KEY, ROLLUP_TABLES } from './schema-rollups.js';
import { aggregateRollups } from './usage-rollups.js';

const H = 3600;
const DAY = 86_400;
const D = 1_736_121_600; // 2025-01-06T00:00:00Z
/** Raw events before this instant were deleted by the retention before the upgrade: noon of the second day. */
const CUTOFF = D + DAY + 12 * H;
const CANCEL = '/responses/{response_id}/cancel';

/** Prices of the gateway that wrote the rollups, none of them built in. */
const PRICES: Readonly<Record<string, ModelPrice>> = {
  ...DEFAULT_PRICES,
  'gpt-custom': { input: 2, cached_input: 1, output: 9 },
  'embed-custom': { input: 0.5 },
};

/** The endpoint kinds before 103: a cancellation, and a billed request of a route no kind lists, under 'other'. */
const kindBefore103 = (method: string, endpoint: string) => (method === 'POST' && endpoint === CANCEL ? 'other' : endpointKind(method, endpoint));

let seq = 0;
function ev(at: number, o: Partial<UsageRow> = {}): UsageRow {
  const e = usageRow({
    id: `evt_${++seq}`,
    request_id: `req_${String(seq).padStart(32, '0')}`,
    created_at_ms: at * 1000,
    org_id: 'org-1',
    project_id: 'proj_a',
    api_key_id: 'key_1',
    model: 'gpt-custom',
    endpoint: CANCEL,
    input_tokens: 1000,
    cached_tokens: 200,
    output_tokens: 300,
    ...o,
  });
  if (o.cost_nanousd === undefined && e.billable && e.outcome !== 'refused' && e.model && PRICES[e.model]) {
    e.cost_nanousd = costNanoUsd(PRICES[e.model], { input: e.input_tokens, cached: e.cached_tokens, output: e.output_tokens });
  }
  return e;
}
const free = { billable: 0, cost_nanousd: 0, input_tokens: 0, cached_tokens: 0, output_tokens: 0 };

/** Three days: one whose raw events are all gone, one cut at noon, one whole. */
function history(): UsageRow[] {
  const out: UsageRow[] = [];
  for (const day of [D, D + DAY, D + 2 * DAY]) {
    for (const hour of [9, 15]) {
      const t = day + hour * H;
      out.push(
        // A cancelled background response, billed; one refused; one whose upstream failed (not billed).
        ev(t + 60),
        ev(t + 90, { status: 429, outcome: 'refused', ...free, error_code: 'rate_limit_exceeded' }),
        ev(t + 100, { status: 502, outcome: 'upstream_error', ...free, error_code: 'upstream_error' }),
        // The same key and model through chat completions, and a retrieval that billed another: completions already.
        ev(t + 120, { endpoint: '/chat/completions', input_tokens: 10, cached_tokens: 0, output_tokens: 10 }),
        ev(t + 130, { endpoint: '/responses/{response_id}', method: 'GET', output_tokens: 77 }),
        // A model call on a route the API does not list, billed by its answer's usage; one refused (stays 'other').
        ev(t + 150, { endpoint: '/fim/*', input_tokens: 40, cached_tokens: 0, output_tokens: 60, service_tier: 'default' }),
        ev(t + 160, { endpoint: '/fim/*', status: 403, outcome: 'refused', ...free, error_code: 'insufficient_permissions' }),
        // A PATCH of an image route naming the same model, billed: its row of 'other' moves to two kinds.
        ev(t + 170, { endpoint: '/images/generations', method: 'PATCH', input_tokens: 20, cached_tokens: 0, output_tokens: 20 }),
        // A PUT naming an embedding model, billed: an embedding from 103 on, beside a POST of the same model.
        ev(t + 180, { endpoint: '/embeddings', method: 'PUT', model: 'embed-custom', input_tokens: 9, cached_tokens: 0, output_tokens: 0 }),
        ev(t + 190, { endpoint: '/embeddings', model: 'embed-custom', input_tokens: 5, cached_tokens: 0, output_tokens: 0 }),
        // Free, and other for good: a file upload of the same key; a batch's cancellation.
        ev(t + 200, { endpoint: '/files', model: null, ...free }),
        ev(t + 210, { endpoint: '/batches/{batch_id}/cancel', model: null, ...free }),
        // An unpriced model, billed at 0.
        ev(t + 240, { model: 'gpt-unknown', unpriced: 1, cost_nanousd: 0 }),
        // Another project.
        ev(t + 300, { project_id: 'proj_b', api_key_id: 'key_3', output_tokens: 33 }),
      );
    }
  }
  return out;
}

type Row = Record<string, string | number>;

async function rowsOf(db: Kysely<unknown>, table: string): Promise<Row[]> {
  const cols = [...ROLLUP_KEY, ...SUMS];
  const r = await sql<Row>`select ${sql.join(cols.map((c) => sql.ref(c)))} from ${sql.table(table)}`.execute(db);
  return sortedLike(r.rows.map((row): Row => Object.fromEntries(cols.map((c) => [c, c === 'bucket_start' || (SUMS as readonly string[]).includes(c) ? Number(row[c]) : row[c]]))));
}

/** The summed columns 103 moves (as the rollups had them then: 104 adds more). */
const SUMS = [
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

/** Rows in key order, with the key and the sums only. */
function sortedLike(rows: Row[]): Row[] {
  return rows
    .map((r) => Object.fromEntries([...ROLLUP_KEY, ...SUMS].map((c) => [c, r[c]])))
    .sort((a, b) => JSON.stringify(ROLLUP_KEY.map((c) => a[c])).localeCompare(JSON.stringify(ROLLUP_KEY.map((c) => b[c]))));
}

/** Rows with their three cost parts as one total. */
function withTotals(rows: Row[]): Row[] {
  return rows.map(({ input_cost_nanousd, cached_cost_nanousd, output_cost_nanousd, ...r }) => ({ ...r, cost: Number(input_cost_nanousd) + Number(cached_cost_nanousd) + Number(output_cost_nanousd) }));
}

/** Sums of every column per identity across endpoint kinds. */
function acrossKinds(rows: Row[]): Map<string, Row> {
  const out = new Map<string, Row>();
  for (const r of rows) {
    const id = JSON.stringify([r.org_id, r.bucket_start, r.project_id, r.api_key_id, r.model, r.service_tier]);
    const acc = out.get(id) ?? Object.fromEntries(SUMS.map((c) => [c, 0]));
    for (const c of SUMS) acc[c] = Number(acc[c]) + Number(r[c]);
    out.set(id, acc);
  }
  return out;
}

const plain = (rows: Array<Record<string, unknown>>) => rows.map((r) => Object.fromEntries(Object.entries(r)));

describeEachDatabase('migration 103 (billed routes under a usage kind) on a database written before it', (backend) => {
  const schema = freshSchema();

  it("moves each kept cancellation and billed request of an unlisted route or method out of 'other', leaves what it cannot tell apart, and adds up", async () => {
    const all = migrations(backend.name);
    const before = Object.fromEntries(Object.entries(all).filter(([name]) => name < '103'));
    const through103 = Object.fromEntries(Object.entries(all).filter(([name]) => name < '104'));
    const db = await openBareDatabase(backend, schema);
    try {
      expect((await new Migrator({ db, provider: { getMigrations: async () => before } }).migrateToLatest()).error).toBeUndefined();
      const events = history();
      await writeUsageAsOf(db, events, PRICES, kindBefore103);
      await sql`delete from usage_events where created_at_ms < ${CUTOFF * 1000}`.execute(db);
      const kept = events.filter((e) => e.created_at_ms >= CUTOFF * 1000);
      const old: Record<string, Row[]> = {};
      for (const { table } of ROLLUP_TABLES) old[table] = await rowsOf(db, table);
      const costsBefore = plain((await sql`select * from usage_costs_key_1d order by bucket_start, api_key_id`.execute(db)).rows as Array<Record<string, unknown>>);
      expect(old.usage_rollups_1h.some((r) => r.endpoint_kind === 'other' && r.model === 'gpt-custom' && Number(r.num_model_requests) > 0)).toBe(true);

      expect((await new Migrator({ db, provider: { getMigrations: async () => through103 } }).migrateToLatest()).error).toBeUndefined();

      const fresh = aggregateRollups(kept, PRICES);
      for (const { table, width } of ROLLUP_TABLES) {
        const now = await rowsOf(db, table);
        // Nothing made or lost across kinds; no row negative or empty.
        expect(acrossKinds(now), table).toEqual(acrossKinds(old[table]));
        for (const r of now) {
          expect(SUMS.every((c) => Number(r[c]) >= 0), `${table} ${JSON.stringify(r)}`).toBe(true);
          expect(SUMS.some((c) => Number(r[c]) !== 0), `${table} ${JSON.stringify(r)}`).toBe(true);
        }
        // Buckets whose raw events were all deleted: as they were.
        expect(now.filter((r) => Number(r.bucket_start) + width <= CUTOFF), table).toEqual(old[table].filter((r) => Number(r.bucket_start) + width <= CUTOFF));
        // Buckets whose raw events are all kept: what today's gateway writes. The cost line items exactly where a row
        // of 'other' moved to one kind (key_3's cancellations); where it moved to two (key_1's cancellations and image
        // PATCHes of one model and hour) each kind's total exactly, and its parts in the row's proportions.
        const whole = (r: Row) => Number(r.bucket_start) >= CUTOFF;
        const expected = sortedLike((fresh[table] as unknown as Row[]).filter(whole));
        expect(withTotals(now.filter(whole)), table).toEqual(withTotals(expected));
        const oneKind = (r: Row) => whole(r) && r.project_id === 'proj_b';
        expect(now.filter(oneKind), table).toEqual(expected.filter(oneKind));
        expect(expected.filter(oneKind).length, table).toBeGreaterThan(0);
      }
      // The day cut at noon: its kept cancellations moved (all outcomes), its kept billed PUT to embeddings; the
      // morning's, the refused route and the free ones stay under 'other'.
      const day = (await rowsOf(db, 'usage_rollups_1d')).filter((r) => r.bucket_start === D + DAY && r.api_key_id === 'key_1');
      const row = (kind: string, model: string, tier = '') => day.find((r) => r.endpoint_kind === kind && r.model === model && r.service_tier === tier);
      const cancel = kept.find((e) => e.endpoint === CANCEL && e.billable === 1 && e.model === 'gpt-custom') as UsageRow;
      const chat = kept.find((e) => e.endpoint === '/chat/completions') as UsageRow;
      const retrieval = kept.find((e) => e.method === 'GET') as UsageRow;
      const cost = (r: Row | undefined) => Number(r?.input_cost_nanousd) + Number(r?.cached_cost_nanousd) + Number(r?.output_cost_nanousd);
      // Chat completions and retrievals of the whole day (two each), and the afternoon's three cancellations.
      expect(row('completions', 'gpt-custom')).toMatchObject({ num_requests: 4 + 3, num_model_requests: 4 + 1, num_refused_requests: 1, num_failed_requests: 1 });
      expect(cost(row('completions', 'gpt-custom'))).toBe(2 * chat.cost_nanousd + 2 * retrieval.cost_nanousd + cancel.cost_nanousd);
      expect(row('other', 'gpt-custom')).toMatchObject({ num_requests: 3 + 2 + 1, num_model_requests: 2, num_refused_requests: 1 + 2, num_failed_requests: 1 });
      expect(row('images', 'gpt-custom')).toMatchObject({ num_requests: 1, num_model_requests: 1, input_tokens: 20, output_tokens: 20 });
      expect(row('completions', 'gpt-custom', 'default')).toMatchObject({ num_requests: 1, num_model_requests: 1, input_tokens: 40, output_tokens: 60 });
      expect(row('other', 'gpt-custom', 'default')).toMatchObject({ num_requests: 1, num_model_requests: 1, input_tokens: 40 });
      expect(row('embeddings', 'embed-custom')).toMatchObject({ num_requests: 2 + 1, num_model_requests: 3, input_tokens: 2 * 5 + 9 });
      expect(row('other', 'embed-custom')).toMatchObject({ num_requests: 1, input_tokens: 9 });
      expect(row('completions', 'gpt-unknown')).toMatchObject({ num_requests: 1, num_unpriced_requests: 1 });
      expect(costsBefore).toEqual(plain((await sql`select * from usage_costs_key_1d order by bucket_start, api_key_id`.execute(db)).rows as Array<Record<string, unknown>>));

      // Recorded as run: migrating again moves nothing; a crash between its commit and the record of it (SQLite) runs
      // it again, which moves nothing twice.
      const snapshot: Record<string, Row[]> = {};
      for (const { table } of ROLLUP_TABLES) snapshot[table] = await rowsOf(db, table);
      expect((await new Migrator({ db, provider: { getMigrations: async () => through103 } }).migrateToLatest()).results).toEqual([]);
      await sql`delete from kysely_migration where name = '103_usage_billed_routes_kinds'`.execute(db);
      const rerun = await new Migrator({ db, provider: { getMigrations: async () => through103 } }).migrateToLatest();
      expect(rerun.error).toBeUndefined();
      expect(rerun.results?.map((r) => r.migrationName)).toEqual(['103_usage_billed_routes_kinds']);
      for (const { table } of ROLLUP_TABLES) expect(await rowsOf(db, table)).toEqual(snapshot[table]);
      expect((await new Migrator({ db, provider: { getMigrations: async () => all } }).migrateToLatest()).error).toBeUndefined();
    } finally {
      await closeBareDatabase(db, backend, schema);
    }
  });

  it('105 counts the moderations every rollup held as answered (neither refused nor failed) as model requests, all history long', async () => {
    const all = migrations(backend.name);
    const db = await openBareDatabase(backend, `${schema}_105`);
    try {
      expect((await new Migrator({ db, provider: { getMigrations: async () => Object.fromEntries(Object.entries(all).filter(([n]) => n < '105')) } }).migrateToLatest()).error).toBeUndefined();
      const row = (kind: string, model: string, sums: Record<string, number>) => ({
        org_id: 'org-1',
        bucket_start: D,
        project_id: 'proj_a',
        api_key_id: 'key_1',
        model,
        endpoint_kind: kind,
        service_tier: '',
        num_requests: 0,
        num_model_requests: 0,
        num_refused_requests: 0,
        num_failed_requests: 0,
        ...sums,
      });
      const rows = [
        // Five moderations: one refused, one failed, three answered (never billed: 0 model requests until 105).
        row('moderations', 'omni-moderation-latest', { num_requests: 5, num_refused_requests: 1, num_failed_requests: 1 }),
        // Billed requests of the route by another method (103): counted already, never lowered.
        row('moderations', 'mistral-moderation-latest', { num_requests: 3, num_model_requests: 3, num_failed_requests: 1 }),
        // Another kind: as it is.
        row('completions', 'gpt-4o', { num_requests: 4, num_model_requests: 2, num_failed_requests: 1 }),
      ];
      for (const { table, perKey } of ROLLUP_TABLES) {
        await insertAsOf(db, table, rows.map((r) => ({ ...r, api_key_id: perKey ? r.api_key_id : '' })));
      }
      expect((await new Migrator({ db, provider: { getMigrations: async () => all } }).migrateToLatest()).error).toBeUndefined();
      for (const { table } of ROLLUP_TABLES) {
        const now = await sql<{ model: string; n: unknown }>`select model, num_model_requests as n from ${sql.table(table)} order by model`.execute(db);
        expect(now.rows.map((r) => [r.model, Number(r.n)]), table).toEqual([
          ['gpt-4o', 2],
          ['mistral-moderation-latest', 3],
          ['omni-moderation-latest', 3],
        ]);
      }
    } finally {
      await closeBareDatabase(db, backend, `${schema}_105`);
    }
  });
});
