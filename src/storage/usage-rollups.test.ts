import { describe, expect, it } from 'vitest';
import { usageRow } from '../../test/harness/usage-event.js';
import { bucketOfMs } from '../core/buckets.js';
import { ANTHROPIC_ROUTES, API_ROUTES, matchApiRoute } from '../core/api-routes.js';
import { planMetering } from '../core/metering-plan.js';
import { costNanoUsd, DEFAULT_PRICES, priceFor } from '../core/pricing.js';
import { endpointKind, ROLLUP_SUMS, ROLLUP_TABLES, type UsageRollupsTable } from './schema-rollups.js';
import type { UsageEventsTable as UsageEvent } from './schema-usage.js';
import { aggregateRollups, isBilled, splitCost } from './usage-rollups.js';
import { isDataError } from './write-errors.js';

/** The plain definition: every event summed into every table's (bucket, identity) row, sorted by bucket then identity. */
function reference(events: UsageEvent[]): Record<string, UsageRollupsTable[]> {
  const out: Record<string, UsageRollupsTable[]> = {};
  for (const { table, width, perKey } of ROLLUP_TABLES) {
    const rows = new Map<string, UsageRollupsTable>();
    for (const e of events) {
      const r = {
        org_id: e.org_id,
        bucket_start: bucketOfMs(e.created_at_ms, width),
        project_id: e.project_id ?? '',
        api_key_id: perKey ? (e.api_key_id ?? '') : '',
        model: e.model ?? '',
        endpoint_kind: endpointKind(e.method, e.endpoint, isBilled(e)),
        service_tier: e.service_tier ?? '',
      };
      const id = [r.org_id, r.project_id, r.api_key_id, r.model, r.endpoint_kind, r.service_tier].join('\u0000');
      const at = `${String(r.bucket_start).padStart(12, '0')}|${id}`;
      let acc = rows.get(at);
      if (!acc) {
        acc = { ...r, ...Object.fromEntries(ROLLUP_SUMS.map((c) => [c, 0])) } as UsageRollupsTable;
        rows.set(at, acc);
      }
      acc.num_requests++;
      if (e.outcome === 'refused') acc.num_refused_requests++;
      else if (e.outcome !== 'ok') acc.num_failed_requests++;
      if (!isBilled(e)) continue;
      acc.num_model_requests++;
      acc.input_tokens += e.input_tokens;
      acc.cached_tokens += e.cached_tokens;
      acc.output_tokens += e.output_tokens;
      const split = splitCost(e.model ? priceFor(DEFAULT_PRICES, e.model) : null, { input: e.input_tokens, cached: e.cached_tokens, output: e.output_tokens }, Number(e.cost_nanousd), e.service_tier);
      acc.input_cost_nanousd += split[0];
      acc.cached_cost_nanousd += split[1];
      acc.output_cost_nanousd += split[2];
    }
    out[table] = [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
  }
  return out;
}

/** A deterministic pseudo-random sequence (tests must not depend on luck). */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

describe('aggregateRollups', () => {
  it('sums a mixed batch exactly as the per-table definition does, in the same order', () => {
    const rand = lcg(7);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
    const day = Date.UTC(2026, 10, 26);
    const events: UsageEvent[] = [];
    for (let i = 0; i < 3000; i++) {
      const tokens = { input_tokens: Math.floor(rand() * 500), cached_tokens: 0, output_tokens: Math.floor(rand() * 300) };
      tokens.cached_tokens = Math.floor(rand() * tokens.input_tokens);
      events.push(
        usageRow({
          id: `evt_${i}`,
          // Hours on both sides of a midnight, so that hourly rows fold into two different days.
          created_at_ms: day + Math.floor((rand() * 6 - 3) * 3_600_000),
          org_id: pick(['org-a', 'org-b']),
          project_id: pick(['proj_1', 'proj_2', null]),
          api_key_id: pick(['key_1', 'key_2', 'key_3', 'key_4', null]),
          model: pick(['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small', 'unknown-model', null]),
          endpoint: pick(['/chat/completions', '/embeddings', '/responses', '/models', '/files']),
          method: pick(['POST', 'POST', 'GET']),
          outcome: pick(['ok', 'ok', 'ok', 'refused', 'upstream_error', 'timeout']),
          billable: pick([1, 1, 0]),
          service_tier: pick(['default', 'default', 'flex', 'priority', null]),
          ...tokens,
          cost_nanousd: pick([0, Math.floor(rand() * 1e7)]),
        }),
      );
    }
    const got = aggregateRollups(events);
    const want = reference(events);
    for (const { table } of ROLLUP_TABLES) {
      expect(got[table].length).toBeGreaterThan(10);
      expect(got[table]).toEqual(want[table]);
    }
    // A day's cost per key: the billed events' requests and cost of each (day, key, project), none where both are 0.
    const byKey = new Map<string, { num_model_requests: number; cost_nanousd: number }>();
    for (const e of events.filter(isBilled)) {
      const id = [e.org_id, bucketOfMs(e.created_at_ms, 86_400), e.api_key_id ?? '', e.project_id ?? ''].join('|');
      const acc = byKey.get(id) ?? { num_model_requests: 0, cost_nanousd: 0 };
      acc.num_model_requests++;
      acc.cost_nanousd += Number(e.cost_nanousd);
      byKey.set(id, acc);
    }
    const costs = got.usage_costs_key_1d;
    expect(costs.length).toBeGreaterThan(10);
    expect(new Map(costs.map((r) => [[r.org_id, r.bucket_start, r.api_key_id, r.project_id].join('|'), { num_model_requests: r.num_model_requests, cost_nanousd: r.cost_nanousd }]))).toEqual(byKey);
    const order = costs.map((r) => [r.bucket_start, r.org_id, r.api_key_id, r.project_id]);
    const byParts = (a: Array<string | number>, b: Array<string | number>) => {
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
      return 0;
    };
    expect(order).toEqual([...order].sort(byParts));
  });

  it("splits a tier's cost by that tier's rates: its cached input is priced apart from input by a ratio of its own", () => {
    // gpt-5.4's flex rates: $1.25 input, $0.13 cached, $7.50 output (the standard's cached is a tenth of input).
    const tokens = { input: 1000, cached: 500, output: 100 };
    const total = 500 * 1250 + 500 * 130 + 100 * 7500;
    expect(splitCost(DEFAULT_PRICES['gpt-5.4'], tokens, total, 'flex')).toEqual([500 * 1250, 500 * 130, 100 * 7500, 0]);
    const rows = aggregateRollups([usageRow({ id: 'evt_flex', model: 'gpt-5.4', service_tier: 'flex', input_tokens: 1000, cached_tokens: 500, output_tokens: 100, cost_nanousd: total })]);
    const [row] = rows.usage_rollups_1d;
    expect([row.service_tier, row.input_cost_nanousd, row.cached_cost_nanousd, row.output_cost_nanousd]).toEqual(['flex', 500 * 1250, 500 * 130, 100 * 7500]);
  });

  it('splits a cost by every part of its tokens at its own rate: cache writes, audio and image input, audio and image output, long context', () => {
    // Found by a review: the parts were re-priced from input, cached and output alone and the rest shared in their
    // proportions, so claude-sonnet-4-6's output with 10,000 cache-write tokens showed $0.00185 instead of $0.0015.
    const sonnet = DEFAULT_PRICES['claude-sonnet-4-6'];
    const writes = { input: 10_100, cached: 0, output: 100, cacheWrite: 10_000 };
    expect(splitCost(sonnet, writes, costNanoUsd(sonnet, writes))).toEqual([100 * 3000 + 10_000 * 3750, 0, 100 * 15_000, 0]);
    // An hour's writes at twice the input rate, beside reads.
    const hour = { input: 10_300, cached: 200, output: 100, cacheWrite: 6000, cacheWrite1h: 4000 };
    expect(splitCost(sonnet, hour, costNanoUsd(sonnet, hour))).toEqual([100 * 3000 + 6000 * 3750 + 4000 * 6000, 200 * 300, 100 * 15_000, 0]);
    // An audio model: audio input and output at their rates, folded into input and output.
    const audio = DEFAULT_PRICES['gpt-4o-audio-preview'];
    const spoken = { input: 100, cached: 20, output: 50, audioInput: 30, audioOutput: 10 };
    expect(splitCost(audio, spoken, costNanoUsd(audio, spoken))).toEqual([50 * 2500 + 30 * 40_000, 20 * 2500, 40 * 10_000 + 10 * 80_000, 0]);
    // GPT Image: image input and output at theirs.
    const image = DEFAULT_PRICES['gpt-image-1'];
    const drawn = { input: 50, cached: 0, output: 4000, imageInput: 30, imageOutput: 4000 };
    expect(splitCost(image, drawn, costNanoUsd(image, drawn))).toEqual([20 * 5000 + 30 * 10_000, 0, 4000 * 40_000, 0]);
    // Above the long-context threshold every part is at the long rates, the request's whole input deciding (its
    // uncached part alone is below it).
    const gpt54 = DEFAULT_PRICES['gpt-5.4'];
    const long = { input: 300_000, cached: 50_000, output: 1000 };
    expect(splitCost(gpt54, long, costNanoUsd(gpt54, long))).toEqual([250_000 * 5000, 50_000 * 500, 1000 * 22_500, 0]);
    // Parts of fractions of a nano-dollar add up to the total, rounded once.
    const flex = { input: 3, cached: 3, output: 0 };
    const nano = DEFAULT_PRICES['gpt-5.4-nano'];
    const total = costNanoUsd(nano, flex, 'flex');
    expect(splitCost(nano, flex, total, 'flex').reduce((a, b) => a + b, 0)).toBe(total);
  });

  it('splits web searches into a line item of their own first, at their price, whatever the tokens were billed at', () => {
    const sonnet = DEFAULT_PRICES['claude-sonnet-4-5'];
    const searched = { input: 12, cached: 0, output: 12, webSearches: 3 };
    expect(splitCost(sonnet, searched, costNanoUsd(sonnet, searched))).toEqual([12 * 3000, 0, 12 * 15_000, 30_000_000]);
    // Fast mode's tokens (not reproduced by the standard rates) are shared among the token items; the searches stay whole.
    const opus = DEFAULT_PRICES['claude-opus-4-6'];
    expect(splitCost(opus, searched, costNanoUsd(opus, searched, null, 'fast'))).toEqual([6 * 12 * 5000, 0, 6 * 12 * 25_000, 30_000_000]);
    // A price without one: nothing for searches (they were not billed).
    expect(splitCost({ input: 3, output: 15 }, searched, 216_000)).toEqual([36_000, 0, 180_000, 0]);
    const [row] = aggregateRollups([
      usageRow({ id: 'evt_s', model: 'claude-sonnet-4-5', endpoint: '/messages', input_tokens: 12, output_tokens: 12, web_search_requests: 3, cost_nanousd: costNanoUsd(sonnet, searched) }),
    ]).usage_rollups_1d;
    expect([row.input_cost_nanousd, row.cached_cost_nanousd, row.output_cost_nanousd, row.web_search_cost_nanousd, row.web_search_requests]).toEqual([36_000, 0, 180_000, 30_000_000, 3]);
  });

  it('rolls the parts up from the events as the gateway recorded them, each line item at its rate', () => {
    const tokens = { input_tokens: 10_100, cached_tokens: 0, output_tokens: 100, cache_write_tokens: 10_000 };
    const cost = costNanoUsd(DEFAULT_PRICES['claude-sonnet-4-6'], { input: 10_100, cached: 0, output: 100, cacheWrite: 10_000 });
    const [row] = aggregateRollups([usageRow({ id: 'evt_w', model: 'claude-sonnet-4-6', endpoint: '/messages', ...tokens, cost_nanousd: cost })]).usage_rollups_1d;
    expect([row.input_cost_nanousd, row.cached_cost_nanousd, row.output_cost_nanousd]).toEqual([37_800_000, 0, 1_500_000]);
    expect(row.cache_write_tokens).toBe(10_000);
    const audio = { input_tokens: 100, cached_tokens: 20, output_tokens: 50, audio_input_tokens: 30, audio_output_tokens: 10 };
    const audioCost = costNanoUsd(DEFAULT_PRICES['gpt-4o-audio-preview'], { input: 100, cached: 20, output: 50, audioInput: 30, audioOutput: 10 });
    const [spoken] = aggregateRollups([usageRow({ id: 'evt_a', model: 'gpt-4o-audio-preview', ...audio, cost_nanousd: audioCost })]).usage_rollups_1d;
    expect([spoken.input_cost_nanousd, spoken.cached_cost_nanousd, spoken.output_cost_nanousd]).toEqual([1_325_000, 50_000, 1_200_000]);
    // 1-hour writes are recorded within the writes.
    const hour = { input_tokens: 4100, cached_tokens: 0, output_tokens: 0, cache_write_tokens: 4000, cache_write_1h_tokens: 4000 };
    const hourCost = costNanoUsd(DEFAULT_PRICES['claude-sonnet-4-6'], { input: 4100, cached: 0, output: 0, cacheWrite1h: 4000 });
    const [held] = aggregateRollups([usageRow({ id: 'evt_h', model: 'claude-sonnet-4-6', endpoint: '/messages', ...hour, cost_nanousd: hourCost })]).usage_rollups_1d;
    expect([held.input_cost_nanousd, held.cached_cost_nanousd, held.output_cost_nanousd]).toEqual([100 * 3000 + 4000 * 6000, 0, 0]);
  });

  it('counts a moderation its model answered as a model request of its kind, with its tokens, and no cost anywhere', () => {
    const mod = { model: 'omni-moderation-latest', endpoint: '/moderations', billable: 0, cost_nanousd: 0 };
    const rows = aggregateRollups([
      usageRow({ id: 'evt_m1', ...mod, input_tokens: 12 }),
      usageRow({ id: 'evt_m2', ...mod }),
      usageRow({ id: 'evt_m3', ...mod, outcome: 'refused', status: 403 }),
      usageRow({ id: 'evt_m4', ...mod, outcome: 'upstream_error', status: 502 }),
      // Other free requests are no model requests.
      usageRow({ id: 'evt_f', model: null, endpoint: '/files', billable: 0, input_tokens: 0 }),
    ]);
    const of = (kind: string) => rows.usage_rollups_1d.find((r) => r.endpoint_kind === kind);
    expect(of('moderations')).toMatchObject({ num_requests: 4, num_model_requests: 2, num_refused_requests: 1, num_failed_requests: 1, input_tokens: 12, input_cost_nanousd: 0 });
    expect(of('other')).toMatchObject({ num_requests: 1, num_model_requests: 0 });
    // The Costs API's by-key rows hold what was billed: nothing here.
    expect(rows.usage_costs_key_1d).toEqual([]);
  });

  it('keeps a key whose events alternate between models and hours apart', () => {
    const at = Date.UTC(2026, 10, 26, 10);
    const events = [0, 1, 2, 3, 4, 5].map((i) =>
      usageRow({ id: `evt_${i}`, created_at_ms: at + (i % 3) * 3_600_000, model: i % 2 ? 'gpt-4o' : 'gpt-4o-mini', input_tokens: i + 1 }),
    );
    const hourly = aggregateRollups(events).usage_rollups_1h;
    expect(hourly.map((r) => [r.bucket_start - at / 1000, r.model, r.num_requests, r.input_tokens])).toEqual([
      [0, 'gpt-4o', 1, 4],
      [0, 'gpt-4o-mini', 1, 1],
      [3600, 'gpt-4o', 1, 2],
      [3600, 'gpt-4o-mini', 1, 5],
      [7200, 'gpt-4o', 1, 6],
      [7200, 'gpt-4o-mini', 1, 3],
    ]);
  });

  it("says an event it cannot sum is the data's fault (a fractional cost threw a RangeError, retried forever)", () => {
    let thrown: unknown;
    try {
      aggregateRollups([usageRow({ id: 'evt_ok', cost_nanousd: 10 }), usageRow({ id: 'evt_half', input_tokens: 3, cost_nanousd: 0.5 })]);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: 'TOLLGATE_BAD_USAGE_LINE', message: expect.stringContaining('evt_half') });
    expect(isDataError(thrown)).toBe(true);
    // A token count that is no number is the data's fault too, named.
    expect(() => aggregateRollups([usageRow({ id: 'evt_word', input_tokens: 'many' as unknown as number })])).toThrow(/input_tokens/);
    // Each of the sums, by its name.
    for (const name of ['cost_nanousd', 'input_tokens', 'cached_tokens', 'output_tokens'] as const) {
      expect(() => aggregateRollups([usageRow({ id: 'evt_frac', [name]: 1.5 })])).toThrow(new RegExp(`its ${name} is 1.5`));
    }
  });

});

describe('endpointKind', () => {
  it("puts the gateway's listings of models under their own kind, apart from 'other' (limits are not charged for them)", () => {
    expect(endpointKind('GET', '/models')).toBe('models');
    expect(endpointKind('GET', '/models/{model}')).toBe('models');
    expect(endpointKind('DELETE', '/models/{model}')).toBe('other');
    expect(endpointKind('GET', '/files')).toBe('other');
    expect(endpointKind('POST', '/chat/completions')).toBe('completions');
    expect(endpointKind('GET', '/responses/{response_id}')).toBe('completions');
  });

  it("counts Anthropic's Messages API as completions, and leaves its free token count and batches out", () => {
    expect(endpointKind('POST', '/messages')).toBe('completions');
    expect(endpointKind('POST', '/responses/compact')).toBe('completions');
    expect(endpointKind('POST', '/messages/count_tokens')).toBe('other');
    expect(endpointKind('POST', '/messages/batches')).toBe('other');
  });

  it("counts a background response's cancellation as a completion, as its retrieval is: both bill its usage", () => {
    expect(endpointKind('POST', '/responses/{response_id}/cancel')).toBe('completions');
    expect(endpointKind('POST', '/responses/{response_id}/cancel', true)).toBe('completions');
    // Other cancellations are free, and stay 'other'.
    expect(endpointKind('POST', '/batches/{batch_id}/cancel')).toBe('other');
    expect(endpointKind('POST', '/fine_tuning/jobs/{fine_tuning_job_id}/cancel')).toBe('other');
  });

  it("never puts a billed request under 'other': its route's POST kind, else completions (found by a review: billed but in no usage kind)", () => {
    // A model call on a route the API does not list, or by another method, billed by the usage its answer reported.
    expect(endpointKind('POST', '/fim/*', true)).toBe('completions');
    expect(endpointKind('POST', '/rerank', true)).toBe('completions');
    expect(endpointKind('PUT', '/embeddings', true)).toBe('embeddings');
    expect(endpointKind('PATCH', '/chat/completions', true)).toBe('completions');
    expect(endpointKind('PUT', '/images/generations', true)).toBe('images');
    // Not billed (refused, failed, free): 'other' as before.
    expect(endpointKind('POST', '/fim/*')).toBe('other');
    expect(endpointKind('PUT', '/embeddings')).toBe('other');
    expect(endpointKind('POST', '/files')).toBe('other');
  });

  it('gives every route the gateway bills a usage kind, by every method (the route table against metering)', () => {
    const billedKinds = new Set(['tokens', 'image', 'speech', 'transcription', 'retrieval']);
    const checked: string[] = [];
    for (const route of [...API_ROUTES, ...ANTHROPIC_ROUTES]) {
      // A path of the route (each id a plain word), as the gateway plans it; the route's template, as usage_events holds it.
      const path = route.replace(/\{[^}]+\}/g, 'x1');
      expect(matchApiRoute(path)?.template).toBe(route);
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
        const body = method === 'GET' || method === 'DELETE' ? null : { model: 'gpt-4o', input: 'hi', prompt: 'hi', messages: [] };
        const plan = planMetering({ method, endpoint: path, body, form: null, model: 'gpt-4o', bodyBytes: 10, prices: DEFAULT_PRICES, defaultPrice: null });
        if (!billedKinds.has(plan.kind)) continue;
        checked.push(`${method} ${route}`);
        expect(endpointKind(method, route), `${method} ${route}`).not.toBe('other');
      }
    }
    // The routes the table above holds (docs/metering.md, "By endpoint family"), cancellation included.
    expect(checked).toEqual(expect.arrayContaining(['GET /responses/{response_id}', 'POST /responses/{response_id}/cancel', 'POST /messages', 'POST /audio/translations']));
  });
});
