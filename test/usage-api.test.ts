import { Command } from 'commander';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUsageCommand } from '../src/cli/usage-command.js';
import { costNanoUsd, DEFAULT_PRICES, priceFor } from '../src/core/pricing.js';
import { aggregateRollups, splitCost } from '../src/storage/usage-rollups.js';
// The fixture's events are rows (as storage holds them), recorded through the gateway's recorder as events.
import type { UsageEventsTable as UsageEvent } from '../src/storage/schema-usage.js';
import { databaseUrlFor, describeEachDatabase } from './harness/backends.js';
import { eventOfRow, usageRow as usageEvent } from './harness/usage-event.js';
import { startTestServer, type TestServer } from './harness/server.js';

const ORG = '/v1/organization';
const H = 3600;
const DAY = 86_400;
const D = 1_736_121_600; // 2025-01-06T00:00:00Z, a Monday
const at = (sec: number) => sec * 1000;

let seq = 0;
function event(o: Partial<UsageEvent> & { at: number }): UsageEvent {
  const { at: when, ...rest } = o;
  const e = usageEvent({
    id: `evt_test_${++seq}`,
    created_at_ms: at(when),
    org_id: '',
    project_id: 'proj_a',
    api_key_id: 'key_a1',
    provider: 'fake',
    ...rest,
  });
  if (o.cost_nanousd === undefined && e.billable && e.model) {
    e.cost_nanousd = costNanoUsd(priceFor(DEFAULT_PRICES, e.model), { input: e.input_tokens, cached: e.cached_tokens, output: e.output_tokens });
  }
  return e;
}

const refused = (o: Partial<UsageEvent> & { at: number }) =>
  event({ status: 429, outcome: 'refused', billable: 0, upstream_latency_ms: null, error_code: 'rate_limit_exceeded', ...o });

/** The fixture: four days from D, two projects, three keys, chat + responses + embeddings, refusals and failures. */
function fixture(orgId: string): UsageEvent[] {
  const evs = [
    // The service tiers the requests ran at: default, flex and priority (the refusals' and failure's not known).
    event({ at: D + 10 * H + 15 * 60 + 5, input_tokens: 1000, cached_tokens: 200, output_tokens: 300, service_tier: 'default' }),
    event({ at: D + 10 * H + 45 * 60, endpoint: '/responses', input_tokens: 500, output_tokens: 100, service_tier: 'flex' }),
    event({ at: D + 11 * H + 5 * 60, api_key_id: 'key_a2', model: 'gpt-4o', input_tokens: 2000, cached_tokens: 1000, output_tokens: 50, service_tier: 'priority' }),
    refused({ at: D + 11 * H + 10 * 60, api_key_id: 'key_a2', model: 'gpt-4o' }),
    event({ at: D + 12 * H, project_id: 'proj_b', api_key_id: 'key_b1', model: 'text-embedding-3-small', endpoint: '/embeddings', input_tokens: 800 }),
    event({ at: D + 13 * H, status: 502, outcome: 'upstream_error', billable: 0, error_code: 'upstream_error' }),
    refused({ at: D + DAY + 9 * H, project_id: 'proj_b', api_key_id: 'key_b1', model: null, status: 403, error_code: 'insufficient_permissions' }),
    event({ at: D + DAY + 9 * H + 30, project_id: 'proj_b', api_key_id: 'key_b1', input_tokens: 100, output_tokens: 10 }),
    // A cost the current prices do not reproduce (price changed since): line items must still add up exactly.
    event({ at: D + 3 * DAY + 23 * H, model: 'gpt-4o', input_tokens: 10, cached_tokens: 4, output_tokens: 3, cost_nanousd: 12_345 }),
    // GET /models is metered but is no completion.
    event({ at: D + 10 * H, endpoint: '/models', method: 'GET', model: null, billable: 0 }),
    // A refused listing of a response's input items is no completion either (its retrieval, GET /responses/{id}, is).
    refused({ at: D + 14 * H, endpoint: '/responses/{response_id}/input_items', method: 'GET', model: null, status: 404, error_code: 'not_found' }),
  ];
  for (const e of evs) e.org_id = orgId;
  return evs;
}

const billedCost = (evs: UsageEvent[]) => evs.filter((e) => e.billable && e.outcome !== 'refused').reduce((s, e) => s + e.cost_nanousd, 0);
const nano = (usd: number) => Math.round(usd * 1e9);

describe('cost line items', () => {
  it('split a cost by price and add up exactly, even when the price no longer reproduces it', () => {
    const price = DEFAULT_PRICES['gpt-4o-mini'];
    expect(splitCost(price, { input: 1000, cached: 200, output: 300 }, 800 * 150 + 200 * 75 + 300 * 600)).toEqual([800 * 150, 200 * 75, 300 * 600, 0]);
    for (const total of [1, 7, 12_345, 999_999_999_999]) {
      const parts = splitCost(price, { input: 10, cached: 4, output: 3 }, total);
      expect(parts[0] + parts[1] + parts[2]).toBe(total);
      expect(parts.every((p) => p >= 0)).toBe(true);
    }
    expect(splitCost(null, { input: 5, cached: 0, output: 5 }, 42)).toEqual([42, 0, 0, 0]);
    expect(splitCost(price, { input: 0, cached: 0, output: 0 }, 0)).toEqual([0, 0, 0, 0]);
  });

  it('never bill a refused request, whatever it carries', () => {
    const [row] = aggregateRollups([refused({ at: D, billable: 1, input_tokens: 50, cost_nanousd: 999 })]).usage_rollups_1d;
    expect(row).toMatchObject({ num_requests: 1, num_refused_requests: 1, num_model_requests: 0, input_tokens: 0, input_cost_nanousd: 0 });
  });
});

describeEachDatabase('usage and costs API', (backend) => {
  let t: TestServer;
  let evs: UsageEvent[];
  const get = async (path: string) => {
    const r = await t.api('GET', path);
    expect(r.status, r.text).toBe(200);
    return r.body;
  };
  const completions = (q: string) => get(`${ORG}/usage/completions?${q}`);

  beforeAll(async () => {
    // The fixture is from January 2025: raw events kept for good (the retention has its own suite, usage-retention).
    t = await startTestServer(backend, { env: { TOLLGATE_USAGE_RETENTION_DAYS: 'forever' } });
    evs = fixture(t.orgId);
    for (const e of evs) t.server.gateway.usage.record(eventOfRow(e));
    await t.server.gateway.usage.flush();
  });
  afterAll(async () => t?.close());

  describe('happy path', () => {
    it('answers daily buckets in OpenAI shape, empty days included, refusals apart', async () => {
      const page = await completions(`start_time=${D}&end_time=${D + 4 * DAY}`);
      expect(page).toMatchObject({ object: 'page', has_more: false, next_page: null });
      expect(page.data.map((b: { start_time: number; end_time: number }) => [b.start_time, b.end_time])).toEqual(
        [0, 1, 2, 3].map((i) => [D + i * DAY, D + (i + 1) * DAY]),
      );
      const [day0, day1, day2, day3] = page.data;
      expect(day0.object).toBe('bucket');
      const day0Cost = billedCost(evs.slice(0, 3));
      expect(day0.results).toEqual([
        {
          object: 'organization.usage.completions.result',
          input_tokens: 3500,
          output_tokens: 450,
          input_cached_tokens: 1200,
          input_cache_write_tokens: 0,
          input_uncached_tokens: 2300,
          input_audio_tokens: 0,
          output_audio_tokens: 0,
          input_image_tokens: 0,
          output_image_tokens: 0,
          num_model_requests: 3,
          num_web_search_requests: 0,
          project_id: null,
          user_id: null,
          api_key_id: null,
          model: null,
          batch: null,
          service_tier: null,
          cost_usd: day0Cost / 1e9,
          num_refused_requests: 1,
          num_unpriced_requests: 0,
        },
      ]);
      expect(day1.results[0]).toMatchObject({ num_model_requests: 1, num_refused_requests: 1, input_tokens: 100 });
      expect(day2.results).toEqual([]);
      expect(day3.results[0]).toMatchObject({ num_model_requests: 1, cost_usd: 12_345 / 1e9 });
    });

    it('groups by project, key and model (comma list or group_by[]) and leaves the rest null', async () => {
      const a = await completions(`start_time=${D}&end_time=${D + DAY}&group_by=project_id,model`);
      const b = await completions(`start_time=${D}&end_time=${D + DAY}&group_by[]=project_id&group_by[]=model`);
      expect(b).toEqual(a);
      expect(a.data[0].results.map((r: Record<string, unknown>) => [r.project_id, r.model, r.api_key_id, r.num_model_requests, r.num_refused_requests])).toEqual([
        ['proj_a', 'gpt-4o', null, 1, 1],
        ['proj_a', 'gpt-4o-mini', null, 2, 0],
      ]);
      const byKey = await completions(`start_time=${D}&end_time=${D + 2 * DAY}&group_by=api_key_id`);
      expect(byKey.data[0].results.map((r: Record<string, unknown>) => [r.api_key_id, r.input_tokens])).toEqual([
        ['key_a1', 1500],
        ['key_a2', 2000],
      ]);
      // The refused request of day 1 had no model: grouped by model it shows as model null.
      const byModel = await completions(`start_time=${D + DAY}&end_time=${D + 2 * DAY}&group_by=model`);
      expect(byModel.data[0].results.map((r: Record<string, unknown>) => [r.model, r.num_model_requests, r.num_refused_requests])).toEqual([
        [null, 0, 1],
        ['gpt-4o-mini', 1, 0],
      ]);
      const batch = await completions(`start_time=${D}&end_time=${D + DAY}&group_by=batch,user_id`);
      expect(batch.data[0].results[0]).toMatchObject({ batch: false, user_id: null, num_model_requests: 3 });
    });

    it('groups completions by service tier, the same from the day and hour rollups as from the raw events (minutes)', async () => {
      type Row = { service_tier: string | null; model: string | null; num_model_requests: number; num_refused_requests: number; input_tokens: number };
      const tiers = (page: { data: Array<{ results: Row[] }> }) => {
        const sums = new Map<string | null, [number, number, number]>();
        for (const r of page.data.flatMap((b) => b.results)) {
          const acc = sums.get(r.service_tier) ?? [0, 0, 0];
          sums.set(r.service_tier, [acc[0] + r.num_model_requests, acc[1] + r.num_refused_requests, acc[2] + r.input_tokens]);
        }
        return [...sums.entries()].sort(([a], [b]) => String(a).localeCompare(String(b)));
      };
      const day = await completions(`start_time=${D}&end_time=${D + DAY}&group_by=service_tier`);
      expect(day.data[0].results.map((r: Row) => [r.service_tier, r.num_model_requests, r.num_refused_requests, r.input_tokens])).toEqual([
        [null, 0, 1, 0],
        ['default', 1, 0, 1000],
        ['flex', 1, 0, 500],
        ['priority', 1, 0, 2000],
      ]);
      const want = tiers(day);
      expect(tiers(await completions(`start_time=${D}&end_time=${D + DAY}&bucket_width=1h&group_by=service_tier`))).toEqual(want);
      expect(tiers(await completions(`start_time=${D}&end_time=${D + DAY}&bucket_width=1m&limit=1440&group_by=service_tier`))).toEqual(want);
      // With the other dimensions, and as a filter of none of them: tiers stay apart, null when not grouped by.
      const both = await completions(`start_time=${D}&end_time=${D + DAY}&group_by=model,service_tier`);
      expect(both.data[0].results.map((r: Row) => [r.model, r.service_tier])).toEqual([
        ['gpt-4o', null],
        ['gpt-4o', 'priority'],
        ['gpt-4o-mini', 'default'],
        ['gpt-4o-mini', 'flex'],
      ]);
      const plain = await completions(`start_time=${D}&end_time=${D + DAY}&group_by=model`);
      expect(plain.data[0].results.map((r: Row) => [r.model, r.service_tier, r.num_model_requests])).toEqual([
        ['gpt-4o', null, 1],
        ['gpt-4o-mini', null, 2],
      ]);
    });

    it('filters by project_ids, api_key_ids and models', async () => {
      const q = `start_time=${D}&end_time=${D + 2 * DAY}`;
      const byProject = await completions(`${q}&project_ids=proj_b`);
      expect(byProject.data[0].results).toEqual([]);
      expect(byProject.data[1].results[0]).toMatchObject({ num_model_requests: 1, input_tokens: 100 });
      const byKeys = await completions(`${q}&api_key_ids[]=key_a2&api_key_ids[]=key_b1`);
      expect(byKeys.data.map((b: { results: Array<{ num_model_requests: number }> }) => b.results[0]?.num_model_requests)).toEqual([1, 1]);
      const byModels = await completions(`${q}&models=gpt-4o&group_by=model`);
      expect(byModels.data[0].results.map((r: { model: string }) => r.model)).toEqual(['gpt-4o']);
      expect(byModels.data[1].results).toEqual([]);
      const batchOnly = await completions(`${q}&batch=true`);
      expect(batchOnly.data.every((b: { results: unknown[] }) => b.results.length === 0)).toBe(true);
    });

    it('counts the same refusals in minute buckets (raw events) as in hour and day buckets (rollups)', async () => {
      const refusedIn = async (width: string, limit: number) =>
        (await completions(`start_time=${D}&end_time=${D + DAY}&bucket_width=${width}&limit=${limit}`)).data
          .flatMap((b: { results: Array<{ num_refused_requests: number }> }) => b.results)
          .reduce((s: number, r: { num_refused_requests: number }) => s + r.num_refused_requests, 0);
      const day = await refusedIn('1d', 1);
      expect(day).toBe(1);
      expect(await refusedIn('1h', 24)).toBe(day);
      expect(await refusedIn('1m', 1440)).toBe(day);
    });

    it('answers hourly and minute buckets', async () => {
      const hours = await completions(`start_time=${D + 10 * H}&end_time=${D + 14 * H}&bucket_width=1h`);
      expect(hours.data.map((b: { start_time: number }) => b.start_time)).toEqual([10, 11, 12, 13].map((h) => D + h * H));
      expect(hours.data.map((b: { results: Array<{ num_model_requests: number; num_refused_requests: number }> }) => b.results.map((r) => [r.num_model_requests, r.num_refused_requests]))).toEqual([
        [[2, 0]],
        [[1, 1]],
        [],
        [], // an upstream failure only: nothing billed, nothing refused
      ]);
      const minutes = await completions(`start_time=${D + 10 * H + 14 * 60}&end_time=${D + 10 * H + 17 * 60}&bucket_width=1m&group_by=model`);
      expect(minutes.data).toHaveLength(3);
      expect(minutes.data[1]).toMatchObject({ start_time: D + 10 * H + 15 * 60, end_time: D + 10 * H + 16 * 60 });
      expect(minutes.data[1].results).toEqual([expect.objectContaining({ model: 'gpt-4o-mini', input_tokens: 1000, input_cached_tokens: 200, output_tokens: 300, num_model_requests: 1 })]);
      expect(minutes.data[0].results).toEqual([]);
      // Minute and daily answers agree over the same span.
      const dayMinutes = await completions(`start_time=${D + 10 * H}&end_time=${D + 11 * H + 60 * 60}&bucket_width=1m&limit=120`);
      const sum = dayMinutes.data.flatMap((b: { results: Array<{ input_tokens: number }> }) => b.results).reduce((s: number, r: { input_tokens: number }) => s + r.input_tokens, 0);
      expect(sum).toBe(3500);
    });

    it('pages with next_page until has_more is false, with OpenAI default limits', async () => {
      const first = await completions(`start_time=${D}&end_time=${D + 4 * DAY}&limit=3`);
      expect(first.data).toHaveLength(3);
      expect(first.has_more).toBe(true);
      expect(typeof first.next_page).toBe('string');
      const second = await completions(`start_time=${D}&end_time=${D + 4 * DAY}&limit=3&page=${encodeURIComponent(first.next_page)}`);
      expect(second.data.map((b: { start_time: number }) => b.start_time)).toEqual([D + 3 * DAY]);
      expect(second).toMatchObject({ has_more: false, next_page: null });
      const byDefault = await completions(`start_time=${D}&end_time=${D + 40 * DAY}`);
      expect(byDefault.data).toHaveLength(7);
      const hourly = await completions(`start_time=${D}&end_time=${D + 40 * DAY}&bucket_width=1h`);
      expect(hourly.data).toHaveLength(24);
      const minutely = await completions(`start_time=${D}&end_time=${D + DAY}&bucket_width=1m`);
      expect(minutely.data).toHaveLength(60);
      // Without end_time the range runs to now: a start in the future has no buckets.
      const future = await completions(`start_time=${Math.floor(Date.now() / 1000) + 10 * DAY}`);
      expect(future).toMatchObject({ data: [], has_more: false, next_page: null });
    });

    it('answers embeddings, and empty buckets for kinds Tollgate does not meter', async () => {
      const page = await get(`${ORG}/usage/embeddings?start_time=${D}&end_time=${D + DAY}&group_by=project_id`);
      expect(page.data[0].results).toEqual([
        {
          object: 'organization.usage.embeddings.result',
          input_tokens: 800,
          num_model_requests: 1,
          project_id: 'proj_b',
          user_id: null,
          api_key_id: null,
          model: null,
          cost_usd: evs[4].cost_nanousd / 1e9,
          num_refused_requests: 0,
          num_unpriced_requests: 0,
        },
      ]);
      // No moderation, image or audio request in the fixture; the others are not metered.
      for (const kind of ['moderations', 'images', 'audio_speeches', 'audio_transcriptions', 'vector_stores', 'code_interpreter_sessions']) {
        const p = await get(`${ORG}/usage/${kind}?start_time=${D}&end_time=${D + 2 * DAY}`);
        expect(p).toMatchObject({ object: 'page', has_more: false });
        expect(p.data.map((b: { results: unknown[] }) => b.results)).toEqual([[], []]);
      }
    });

    it('answers costs whose line items add up exactly to the total of the billed events', async () => {
      const q = `start_time=${D}&end_time=${D + 4 * DAY}`;
      const totals = await get(`${ORG}/costs?${q}`);
      expect(totals.data).toHaveLength(4);
      const perDay = totals.data.map((b: { results: Array<{ amount: { value: number } }> }) => b.results.reduce((s, r) => s + nano(r.amount.value), 0));
      const dayOf = (e: UsageEvent) => Math.floor(e.created_at_ms / 1000 / DAY) * DAY;
      expect(perDay).toEqual([0, 1, 2, 3].map((i) => billedCost(evs.filter((e) => dayOf(e) === D + i * DAY))));
      expect(totals.data[0].results).toEqual([
        { object: 'organization.costs.result', amount: { value: billedCost(evs.slice(0, 5)) / 1e9, currency: 'usd' }, line_item: null, project_id: null, api_key_id: null, quantity: null, quantity_unit: null },
      ]);
      expect(totals.data[2].results).toEqual([]);

      const items = await get(`${ORG}/costs?${q}&group_by=line_item,project_id`);
      // Each line item with its tokens as its quantity (OpenAI's CostsResult quantity and quantity_unit).
      const day0 = items.data[0].results.map((r: { line_item: string; project_id: string; amount: { value: number }; quantity: number; quantity_unit: string }) => [
        r.project_id,
        r.line_item,
        nano(r.amount.value),
        r.quantity,
        r.quantity_unit,
      ]);
      expect(day0).toEqual([
        ['proj_a', 'gpt-4o, input', 1000 * 2500, 1000, 'tokens'],
        ['proj_a', 'gpt-4o, cached input', 1000 * 1250, 1000, 'tokens'],
        ['proj_a', 'gpt-4o, output', 50 * 10_000, 50, 'tokens'],
        ['proj_a', 'gpt-4o-mini, input', 1300 * 150, 1300, 'tokens'],
        ['proj_a', 'gpt-4o-mini, cached input', 200 * 75, 200, 'tokens'],
        ['proj_a', 'gpt-4o-mini, output', 400 * 600, 400, 'tokens'],
        ['proj_b', 'text-embedding-3-small, input', 800 * 20, 800, 'tokens'],
      ]);
      const itemSum = items.data.map((b: { results: Array<{ amount: { value: number } }> }) => b.results.reduce((s, r) => s + nano(r.amount.value), 0));
      expect(itemSum).toEqual(perDay);
      expect(itemSum[3]).toBe(12_345);

      const onlyB = await get(`${ORG}/costs?${q}&project_ids=proj_b&group_by=project_id`);
      expect(onlyB.data[1].results).toEqual([expect.objectContaining({ project_id: 'proj_b', amount: { value: (100 * 150 + 10 * 600) / 1e9, currency: 'usd' } })]);
      const paged = await get(`${ORG}/costs?${q}&limit=2`);
      expect(paged.data).toHaveLength(2);
      expect(paged.has_more).toBe(true);
    });

    it('counts a replayed batch once (rollups follow only newly inserted events)', async () => {
      const before = await get(`${ORG}/costs?start_time=${D}&end_time=${D + 4 * DAY}&group_by=line_item`);
      const usageBefore = await completions(`start_time=${D}&end_time=${D + 4 * DAY}&group_by=api_key_id`);
      for (const e of evs) t.server.gateway.usage.record(eventOfRow(e));
      await t.server.gateway.usage.flush();
      expect(await get(`${ORG}/costs?start_time=${D}&end_time=${D + 4 * DAY}&group_by=line_item`)).toEqual(before);
      expect(await completions(`start_time=${D}&end_time=${D + 4 * DAY}&group_by=api_key_id`)).toEqual(usageBefore);
      for (const table of ['usage_rollups_1h', 'usage_rollups_1d', 'usage_rollups_project_1h', 'usage_rollups_project_1d'] as const) {
        const rows = await t.server.runtime.database.db.selectFrom(table).select(['num_requests', 'input_cost_nanousd', 'cached_cost_nanousd', 'output_cost_nanousd']).where('bucket_start', '<', D + 10 * DAY).execute();
        expect(rows.reduce((s, r) => s + Number(r.num_requests), 0), table).toBe(evs.length);
        expect(rows.reduce((s, r) => s + Number(r.input_cost_nanousd) + Number(r.cached_cost_nanousd) + Number(r.output_cost_nanousd), 0), table).toBe(billedCost(evs));
      }
    });
  });

  describe('errors', () => {
    const bad = async (path: string, param: string | null) => {
      const r = await t.api('GET', path);
      expect(r.status, r.text).toBe(400);
      expect(r.body.error).toMatchObject({ type: 'invalid_request_error', param });
      expect(typeof r.body.error.message).toBe('string');
      return r.body.error;
    };

    it('refuses bad parameters with OpenAI-shaped 400s', async () => {
      expect((await bad(`${ORG}/usage/completions`, 'start_time')).code).toBe('missing_required_parameter');
      expect((await bad(`${ORG}/usage/completions?start_time=yesterday`, 'start_time')).code).toBe('invalid_value');
      await bad(`${ORG}/usage/completions?start_time=${D}&bucket_width=1w`, 'bucket_width');
      await bad(`${ORG}/usage/completions?start_time=${D}&end_time=${D - 1}`, 'end_time');
      await bad(`${ORG}/usage/completions?start_time=${D}&end_time=${D}`, 'end_time');
      await bad(`${ORG}/usage/completions?start_time=${D}&limit=32`, 'limit');
      await bad(`${ORG}/usage/completions?start_time=${D}&bucket_width=1h&limit=169`, 'limit');
      await bad(`${ORG}/usage/completions?start_time=${D}&limit=0`, 'limit');
      await bad(`${ORG}/usage/completions?start_time=${D}&group_by=size`, 'group_by');
      await bad(`${ORG}/usage/completions?start_time=${D}&page=garbage`, 'page');
      // A parameter given empty is refused, as the list routes refuse it, never taken as absent.
      expect((await bad(`${ORG}/usage/completions?start_time=`, 'start_time')).code).toBe('invalid_value');
      for (const p of ['limit', 'end_time', 'bucket_width']) await bad(`${ORG}/usage/completions?start_time=${D}&${p}=`, p);
      await bad(`${ORG}/costs?start_time=${D}&limit=`, 'limit');
      await bad(`${ORG}/usage/embeddings?start_time=${D}&group_by=batch`, 'group_by');
      await bad(`${ORG}/costs?start_time=${D}&bucket_width=1h`, 'bucket_width');
      await bad(`${ORG}/costs?start_time=${D}&limit=181`, 'limit');
      await bad(`${ORG}/costs?start_time=${D}&group_by=model`, 'group_by');
      // A cursor from another range is refused rather than silently answering the wrong buckets.
      const first = await completions(`start_time=${D}&end_time=${D + 4 * DAY}&limit=1`);
      await bad(`${ORG}/usage/completions?start_time=${D + 2 * DAY}&end_time=${D + 4 * DAY}&page=${first.next_page}`, 'page');
    });

    it('needs an admin key', async () => {
      expect((await t.api('GET', `${ORG}/usage/completions?start_time=${D}`, { key: null })).status).toBe(401);
      const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'p' } })).body;
      expect((await t.api('GET', `${ORG}/costs?start_time=${D}`, { key: key.value })).status).toBe(403);
    });
  });

  describe('end to end', () => {
    it('shows real gateway calls (echo model) in the usage API within 5 s, refusals apart', async () => {
      const start = Math.floor(Date.now() / 1000) - 60;
      const created = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'e2e', allowed_models: ['tollgate-echo'] } })).body;
      const client = new OpenAI({ apiKey: created.value, baseURL: `${t.url}/v1`, maxRetries: 0 });
      const chat = await client.chat.completions.create({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'hello usage api' }] });
      await client.chat.completions.create({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'again' }] });
      await client.embeddings.create({ model: 'tollgate-echo', input: 'embed me' });
      await expect(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'no' }] })).rejects.toMatchObject({ status: 403 });
      const q = `start_time=${start}&bucket_width=1h&limit=168&api_key_ids=${created.id}&group_by=model,api_key_id`;
      const deadline = Date.now() + 5000;
      let results: Array<Record<string, unknown>> = [];
      while (Date.now() < deadline) {
        const page = await completions(q);
        results = page.data.flatMap((b: { results: unknown[] }) => b.results);
        if (results.reduce((s, r) => s + Number(r.num_model_requests) + Number(r.num_refused_requests), 0) >= 3) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const echo = results.filter((r) => r.model === 'tollgate-echo');
      expect(echo.reduce((s, r) => s + Number(r.num_model_requests), 0)).toBe(2);
      expect(echo.reduce((s, r) => s + Number(r.input_tokens), 0)).toBeGreaterThanOrEqual(chat.usage?.prompt_tokens ?? 1);
      const refusedRows = results.filter((r) => r.model === 'gpt-4o');
      expect(refusedRows).toEqual([expect.objectContaining({ num_model_requests: 0, num_refused_requests: 1, input_tokens: 0, cost_usd: 0, api_key_id: created.id })]);
      const emb = await get(`${ORG}/usage/embeddings?start_time=${start}&bucket_width=1h&limit=168&api_key_ids=${created.id}`);
      expect(emb.data.flatMap((b: { results: Array<{ num_model_requests: number }> }) => b.results).reduce((s: number, r: { num_model_requests: number }) => s + r.num_model_requests, 0)).toBe(1);
    });
  });

  describe('tollgate usage (CLI)', () => {
    const runUsage = async (env: Record<string, string | undefined>, ...args: string[]) => {
      let out = '';
      const program = new Command('tollgate').option('--json').option('--server <url>').option('--admin-key <key>').exitOverride();
      registerUsageCommand(program, { env, out: (s) => (out += s) });
      await program.parseAsync(['node', 'tollgate', ...args]);
      return out;
    };

    it('prints requests, tokens, cost and refusals per model against --server', async () => {
      const env = {};
      const json = JSON.parse(await runUsage(env, '--server', t.url, '--admin-key', t.adminKey, '--json', 'usage', '--since', String(D), '--until', String(D + 4 * DAY), '--by', 'model'));
      const day0 = json.data.filter((r: { start_time: number }) => r.start_time === D);
      expect(day0.map((r: Record<string, unknown>) => [r.model, r.requests, r.input, r.cached, r.output, r.refused])).toEqual([
        ['gpt-4o', 1, 2000, 1000, 50, 1],
        ['gpt-4o-mini', 2, 1500, 200, 400, 0],
        ['text-embedding-3-small', 1, 800, 0, 0, 0],
      ]);
      expect(json.total.cost_nanousd).toBe(billedCost(evs));
      expect(json.total.refused).toBe(2);
      const text = await runUsage(env, '--server', t.url, '--admin-key', t.adminKey, 'usage', '--since', String(D), '--until', String(D + 4 * DAY), '--by', 'project');
      expect(text).toMatch(/^START\s+PROJECT_ID\s+REQUESTS\s+INPUT\s+CACHED\s+OUTPUT\s+COST\s+REFUSED/);
      expect(text).toContain('proj_b');
      expect(text.trim().split('\n').at(-1)).toMatch(/^total\s/);
    });

    it('works in-process on the data dir, filtered by project', async () => {
      const env = { TOLLGATE_DATA_DIR: t.dataDir, LOG_LEVEL: 'silent', DATABASE_URL: databaseUrlFor(backend, t.schema) };
      const json = JSON.parse(await runUsage(env, 'usage', '--json', '--since', String(D), '--until', String(D + 2 * DAY), '--project', 'proj_b', '--bucket', '1h'));
      expect(json.data.map((r: Record<string, unknown>) => [r.start_time, r.requests, r.refused])).toEqual([
        [D + 12 * H, 1, 0], // the embedding
        [D + DAY + 9 * H, 1, 1],
      ]);
    });
  });
});
