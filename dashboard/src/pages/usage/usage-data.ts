import type { Bucket, CostResult, UsageResult } from './usage-types.js';

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

export interface UsageTotals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
}

/** Sums of the usage results over all buckets. */
export function usageTotals(buckets: Array<Bucket<UsageResult>>): UsageTotals {
  const t: UsageTotals = { requests: 0, inputTokens: 0, outputTokens: 0, cachedTokens: 0 };
  for (const b of buckets) {
    for (const r of b.results) {
      t.requests += r.num_model_requests ?? 0;
      t.inputTokens += r.input_tokens ?? 0;
      t.outputTokens += r.output_tokens ?? 0;
      t.cachedTokens += r.input_cached_tokens ?? 0;
    }
  }
  return t;
}

/** Total cost (in the currency of the results, USD) over all buckets. */
export function costTotal(buckets: Array<Bucket<CostResult>>): number {
  let sum = 0;
  for (const b of buckets) for (const r of b.results) sum += Number(r.amount?.value ?? 0);
  return sum;
}

function csvField(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  // RFC 4180 quoting; a leading = + - @ is prefixed so spreadsheets do not run it as a formula (OWASP CSV injection).
  const safe = /^[=+\-@\t\r]/.test(s) && typeof v === 'string' ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Rows to CSV text with a header line. */
export function toCsv(header: string[], rows: Array<Array<string | number | null>>): string {
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** One CSV row per bucket and result. */
export function usageCsv(buckets: Array<Bucket<UsageResult>>): string {
  const iso = (s: number) => new Date(s * 1000).toISOString();
  const rows = buckets.flatMap((b) =>
    b.results.map((r) => [
      iso(b.start_time),
      iso(b.end_time),
      r.project_id,
      r.api_key_id,
      r.model,
      r.num_model_requests,
      r.input_tokens,
      r.output_tokens,
      r.input_cached_tokens,
    ]),
  );
  return toCsv(['start_time', 'end_time', 'project_id', 'api_key_id', 'model', 'num_model_requests', 'input_tokens', 'output_tokens', 'input_cached_tokens'], rows);
}

/** One CSV row per bucket and cost line. */
export function costCsv(buckets: Array<Bucket<CostResult>>): string {
  const iso = (s: number) => new Date(s * 1000).toISOString();
  const rows = buckets.flatMap((b) =>
    b.results.map((r) => [iso(b.start_time), iso(b.end_time), r.project_id, r.line_item, r.amount?.value ?? 0, r.amount?.currency ?? 'usd']),
  );
  return toCsv(['start_time', 'end_time', 'project_id', 'line_item', 'amount', 'currency'], rows);
}
