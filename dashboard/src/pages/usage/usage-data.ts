import type { Bucket, CostResult, CostRow, UsageResult } from './usage-types.js';

// Pure transforms from API buckets to what the page draws: stacked series, totals, CSV.

export interface StackedSeries {
  /** Bucket start times (unix seconds), the x values. */
  times: number[];
  /** One entry per group, largest total first; groups past the limit are merged into "Other". */
  groups: Array<{ key: string; values: number[]; total: number }>;
}

/** Splits each bucket's results by group and sums a value per group. */
export function stackByGroup<R>(buckets: Array<Bucket<R>>, groupOf: (r: R) => string, amountOf: (r: R) => number, maxGroups = 8): StackedSeries {
  const times = buckets.map((b) => b.start_time);
  const byGroup = new Map<string, number[]>();
  buckets.forEach((bucket, i) => {
    for (const r of bucket.results) {
      const key = groupOf(r);
      let values = byGroup.get(key);
      if (!values) {
        values = new Array(buckets.length).fill(0);
        byGroup.set(key, values);
      }
      values[i] += amountOf(r);
    }
  });
  const groups = [...byGroup.entries()]
    .map(([key, values]) => ({ key, values, total: values.reduce((a, b) => a + b, 0) }))
    .sort((a, b) => b.total - a.total || a.key.localeCompare(b.key));
  if (groups.length <= maxGroups) return { times, groups };
  const kept = groups.slice(0, maxGroups - 1);
  const rest = groups.slice(maxGroups - 1);
  const other = new Array(buckets.length).fill(0);
  for (const g of rest) {
    for (let i = 0; i < other.length; i++) other[i] += g.values[i];
  }
  kept.push({ key: 'Other', values: other, total: other.reduce((a, b) => a + b, 0) });
  return { times, groups: kept };
}

/**
 * Running sums for drawing a stack with overlapping bars: entry k is the sum of groups 0..k, so drawing the
 * largest sum first and each smaller one over it leaves each group's own band visible.
 */
export function cumulative(groups: Array<{ values: number[] }>): number[][] {
  const out: number[][] = [];
  groups.forEach((g, k) => {
    out.push(g.values.map((v, i) => v + (k > 0 ? out[k - 1][i] : 0)));
  });
  return out;
}

/**
 * Sums of usage results. No cost: usage results leave out what no usage kind reports, so the cost shown is the Costs
 * API's (costTotal), the one budgets and the Costs API agree on.
 */
export interface UsageTotals {
  requests: number;
  refused: number;
  embeddings: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
}

/** Sums of the usage results over all buckets (answered requests, refused ones apart; embeddings counted also on their own). */
export function usageTotals(buckets: Array<Bucket<UsageResult>>): UsageTotals {
  const t: UsageTotals = { requests: 0, refused: 0, embeddings: 0, inputTokens: 0, outputTokens: 0, cachedTokens: 0 };
  for (const b of buckets) {
    for (const r of b.results) {
      t.requests += r.num_model_requests ?? 0;
      t.refused += r.num_refused_requests ?? 0;
      if (r.kind === 'embeddings') t.embeddings += r.num_model_requests ?? 0;
      t.inputTokens += r.input_tokens ?? 0;
      t.outputTokens += r.output_tokens ?? 0;
      t.cachedTokens += r.input_cached_tokens ?? 0;
    }
  }
  return t;
}

/**
 * One series of buckets from several usage kinds (chat, embeddings, images, audio): same bucket starts, results
 * concatenated, each marked with its kind.
 */
export function mergeKinds(parts: Array<{ kind: UsageResult['kind']; buckets: Array<Bucket<UsageResult>> }>): Array<Bucket<UsageResult>> {
  const byStart = new Map<number, Bucket<UsageResult>>();
  for (const { kind, buckets } of parts) {
    for (const b of buckets) {
      let into = byStart.get(b.start_time);
      if (!into) {
        into = { object: 'bucket', start_time: b.start_time, end_time: b.end_time, results: [] };
        byStart.set(b.start_time, into);
      }
      for (const r of b.results) into.results.push({ ...r, kind });
    }
  }
  return [...byStart.values()].sort((a, b) => a.start_time - b.start_time);
}

// A line item is "<model>, input", "<model>, cached input", "<model>, output" or "<model>, web search" (services/costs-query.ts).
const LINE_ITEM = /^(.*), (?:input|cached input|output|web search)$/;

/** Costs grouped by line item as rows by model: the model is the line item's, without its "input"/"output" part. */
export function costRows(buckets: Array<Bucket<CostResult>>): Array<Bucket<CostRow>> {
  return buckets.map((b) => ({
    object: 'bucket',
    start_time: b.start_time,
    end_time: b.end_time,
    results: b.results.map((r) => ({
      project_id: r.project_id,
      api_key_id: r.api_key_id,
      model: r.line_item === null ? null : (LINE_ITEM.exec(r.line_item)?.[1] ?? r.line_item),
      cost_usd: r.amount.value,
    })),
  }));
}

/**
 * The sum of costs in USD, added as whole nano-dollars (the unit the server sums in) so that many line items add up
 * to what the server's own total says, not to a float drifting from it.
 */
export function costTotal(buckets: Array<Bucket<CostRow>>): number {
  let nano = 0;
  for (const b of buckets) for (const r of b.results) nano += Math.round(r.cost_usd * 1e9);
  return nano / 1e9;
}

function csvField(v: string | number | null | undefined): string {
  const s = v === null || v === undefined ? '' : String(v);
  // A leading = + - @ is prefixed so spreadsheets do not run it as a formula (OWASP CSV injection), and every text is
  // quoted (RFC 4180): a spreadsheet splitting on `;` (its locale's list separator) made `k;=1+1` a cell of its own,
  // a formula, from a key's name (found by an outside review).
  if (typeof v !== 'string' || s === '') return s;
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return `"${safe.replace(/"/g, '""')}"`;
}

/** Rows to CSV text with a header line. */
export function toCsv(header: string[], rows: Array<Array<string | number | null | undefined>>): string {
  // The header's names are this module's own words, plain.
  return [header.join(','), ...rows.map((row) => row.map(csvField).join(','))].join('\r\n') + '\r\n';
}

/** Names for the CSV: project and key names beside their ids. */
export interface CsvNames {
  project: (id: string) => string | undefined;
  key: (id: string) => string | undefined;
}

export const USAGE_CSV_HEADER = [
  'start_time',
  'end_time',
  'kind',
  'project_id',
  'project_name',
  'api_key_id',
  'api_key_name',
  'model',
  'num_model_requests',
  'num_refused_requests',
  'input_tokens',
  'output_tokens',
  'input_cached_tokens',
  'cost_usd',
];

/** One CSV row per bucket and result, with names as well as ids. */
export function usageCsv(buckets: Array<Bucket<UsageResult>>, names: CsvNames): string {
  const iso = (s: number) => new Date(s * 1000).toISOString();
  const rows = buckets.flatMap((b) =>
    b.results.map((r) => [
      iso(b.start_time),
      iso(b.end_time),
      r.kind ?? 'completions',
      r.project_id,
      r.project_id ? names.project(r.project_id) : '',
      r.api_key_id,
      r.api_key_id ? names.key(r.api_key_id) : '',
      r.model,
      r.num_model_requests,
      r.num_refused_requests ?? 0,
      r.input_tokens ?? 0,
      r.output_tokens ?? 0,
      r.input_cached_tokens ?? 0,
      r.cost_usd ?? '',
    ]),
  );
  return toCsv(USAGE_CSV_HEADER, rows);
}
