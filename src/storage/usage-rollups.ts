import { bucketOfMs } from '../core/buckets.js';
import { costLineItems, DEFAULT_PRICES, type ModelPrice, priceFor, type TokenCounts, webSearchNanoUsd } from '../core/pricing.js';
import { BAD_USAGE_LINE } from '../core/usage-line.js';
import {
  endpointKind,
  FREE_KIND,
  ROLLUP_SUMS,
  ROLLUP_TABLES,
  type UsageCostsKeyTable,
  type UsageRollupsTable,
  type UsageRollupTables,
} from './schema-rollups.js';
import type { UsageEventsTable } from './schema-usage.js';

type Prices = Readonly<Record<string, ModelPrice>>;
/** The endpoint kind of a request (endpointKind; a migration's test passes an earlier version's, to write rollups as it did). */
export type KindOf = (method: string, endpoint: string, billed?: boolean) => string;

/** A request reaches the bill only when it reached a model; a refused request never does, whatever it carries. */
export function isBilled(e: Pick<UsageEventsTable, 'billable' | 'outcome'>): boolean {
  return e.billable === 1 && e.outcome !== 'refused';
}

/**
 * A model request that is not billed: one of FREE_KIND (a moderation) that its model answered. Counted in
 * num_model_requests with the tokens its answer reported, as OpenAI's usage/moderations counts them; costs nothing.
 */
export function isFreeModelRequest(e: Pick<UsageEventsTable, 'outcome'>, kind: string): boolean {
  return kind === FREE_KIND && e.outcome === 'ok';
}

/**
 * Splits a request's cost into its input, cached-input, output and web search line items, summing exactly to `total`.
 * Its web searches first, at `price`'s `web_search` (at most `total`; nothing without a price for them, as they were
 * billed); then the rest is split among the token line items, priced with `price` by every part of its tokens (cache writes of either lifetime, audio and image input and output, each at
 * its own rate, folded into the input and output line items: core/pricing.ts costLineItems), at the rates of the
 * service tier it ran at (`tier`, as billed) and of the request's whole input (long context). When that does not
 * reproduce `total` (the price changed, the model is unknown here, Anthropic's fast mode, whose speed the event does
 * not record, or an event recorded before its parts were: migration 104), the total is shared in the same proportions,
 * and all of it goes to input when no part is priced.
 */
export function splitCost(
  price: ModelPrice | null,
  tokens: TokenCounts,
  total: number,
  tier: string | null = null,
): [input: number, cached: number, output: number, webSearch: number] {
  if (total === 0) return [0, 0, 0, 0];
  const searches = Math.min(total, webSearchNanoUsd(price, tokens));
  const rest = total - searches;
  if (rest === 0) return [0, 0, 0, searches];
  const parts = costLineItems(price, tokens, tier);
  const sum = parts[0] + parts[1] + parts[2];
  if (sum === rest) return [...parts, searches];
  if (sum <= 0) return [rest, 0, 0, searches];
  // Integer shares (BigInt: total × part can pass 2^53), the rounding remainder to the largest part.
  const big = BigInt(rest);
  const shares = parts.map((p) => Number((big * BigInt(p)) / BigInt(sum))) as [number, number, number];
  const largest = parts.indexOf(Math.max(...parts));
  shares[largest] += rest - (shares[0] + shares[1] + shares[2]);
  return [...shares, searches];
}

/** The token counts of an event, with the parts it recorded (usage_events keeps 5-minute and 1-hour writes as all writes and the 1-hour ones). */
function tokensOf(e: UsageEventsTable): TokenCounts {
  const writes = Number(e.cache_write_tokens);
  const writes1h = Number(e.cache_write_1h_tokens);
  return {
    input: e.input_tokens,
    cached: e.cached_tokens,
    output: e.output_tokens,
    // Never below 0 (a line's values are each checked, not against one another).
    cacheWrite: Math.max(0, writes - writes1h),
    cacheWrite1h: writes1h,
    audioInput: Number(e.audio_input_tokens),
    imageInput: Number(e.image_input_tokens),
    audioOutput: Number(e.audio_output_tokens),
    imageOutput: Number(e.image_output_tokens),
    webSearches: Number(e.web_search_requests),
  };
}

function emptyRow(org: string, bucket: number, project: string, key: string, model: string, kind: string, tier: string): UsageRollupsTable {
  return {
    org_id: org,
    bucket_start: bucket,
    project_id: project,
    api_key_id: key,
    model,
    endpoint_kind: kind,
    service_tier: tier,
    num_requests: 0,
    num_model_requests: 0,
    num_refused_requests: 0,
    num_failed_requests: 0,
    input_tokens: 0,
    cached_tokens: 0,
    output_tokens: 0,
    input_cost_nanousd: 0,
    cached_cost_nanousd: 0,
    output_cost_nanousd: 0,
    units: 0,
    num_unpriced_requests: 0,
    cache_write_tokens: 0,
    audio_input_tokens: 0,
    audio_output_tokens: 0,
    image_input_tokens: 0,
    image_output_tokens: 0,
    web_search_requests: 0,
    web_search_cost_nanousd: 0,
  };
}

type RollupRows = Record<keyof UsageRollupTables, UsageRollupsTable[]> & { usage_costs_key_1d: UsageCostsKeyTable[] };

/** The identity of a row within its bucket: org, project, key ('' in the project tables), model, endpoint kind, tier. */
function identityOf(r: UsageRollupsTable, perKey: boolean): string {
  return `${r.org_id}\u0000${r.project_id}\u0000${perKey ? r.api_key_id : ''}\u0000${r.model}\u0000${r.endpoint_kind}\u0000${r.service_tier}`;
}

function addInto(acc: UsageRollupsTable, r: UsageRollupsTable): void {
  for (const c of ROLLUP_SUMS) acc[c] += r[c];
}

/** The finest bucket width: every table's width is a multiple of it, so its buckets nest in all the others. */
const FINEST = Math.min(...ROLLUP_TABLES.map((t) => t.width));
if (ROLLUP_TABLES.some((t) => t.width % FINEST !== 0)) throw new Error('rollup widths must be multiples of the finest one');

/**
 * Per key, the finest-bucket rows of a batch: the row of the key's previous event first (a key's events in one flush
 * nearly always share model, endpoint and hour), then a map by identity.
 */
interface KeyGroups {
  last: UsageRollupsTable;
  more: Map<string, UsageRollupsTable> | null;
}

function sameGroup(r: UsageRollupsTable, org: string, bucket: number, project: string, model: string, kind: string, tier: string): boolean {
  return r.bucket_start === bucket && r.model === model && r.endpoint_kind === kind && r.service_tier === tier && r.project_id === project && r.org_id === org;
}

/**
 * Sums events into the rows of every rollup table: one row per (bucket, project, key, model, endpoint kind, tier),
 * key '' in the project tables. Each table's rows come sorted by bucket, then identity.
 */
export function aggregateRollups(events: Iterable<UsageEventsTable>, prices: Prices = DEFAULT_PRICES, kindOf: KindOf = endpointKind): RollupRows {
  const rollups = new RollupAggregator(prices, kindOf);
  for (const e of events) rollups.add(e);
  return rollups.rows();
}

const isWhole = (v: unknown): boolean => typeof v === 'number' ? Number.isSafeInteger(v) : Number.isSafeInteger(Number(v));

type WholeColumn =
  | 'cost_nanousd'
  | 'input_tokens'
  | 'cached_tokens'
  | 'output_tokens'
  | 'cache_write_tokens'
  | 'cache_write_1h_tokens'
  | 'audio_input_tokens'
  | 'audio_output_tokens'
  | 'image_input_tokens'
  | 'image_output_tokens'
  | 'web_search_requests';

/** The data error (BAD_USAGE_LINE) of an event whose `name` is not a whole number. */
function notWhole(e: UsageEventsTable, name: WholeColumn): Error {
  return Object.assign(new Error(`usage event ${String(e.id)} cannot be rolled up: its ${name} is ${String(e[name]).slice(0, 40)}, not a whole number`), { code: BAD_USAGE_LINE });
}

/**
 * aggregateRollups one event at a time, so that a writer folds each event in as it goes and holds no batch of them
 * (the SQLite usage worker: its young generation is small, and a flush's events held until the end were all copied
 * out of it).
 *
 * Two steps: each event is added to its key's row of the finest bucket (one map lookup by key, no string built per
 * event), then those rows, a few per key, are summed into each table's buckets. Measured on the usage worker with
 * 1,000 keys in rotation: 4 µs per event summing each event into each table by a built identity string, ~1 µs now.
 */
export class RollupAggregator {
  private readonly byKey = new Map<string, KeyGroups>();
  private readonly priceCache = new Map<string, ModelPrice | null>();
  private lastRoute = '';
  private lastMethod = '';
  private lastKind = '';
  /** Events added so far. */
  count = 0;

  constructor(
    private readonly prices: Prices = DEFAULT_PRICES,
    private readonly kindOf: KindOf = endpointKind,
  ) {}

  /**
   * Adds one event. One whose sums are not whole numbers (a fractional cost made splitCost's BigInt throw a RangeError)
   * is refused as its data's fault (code BAD_USAGE_LINE): the recorder then sets that event aside instead of retrying
   * its whole batch forever (storage/write-errors.ts). Anything else thrown is a fault of the code, and retried.
   */
  add(e: UsageEventsTable): void {
    // Each field by its name (a loop over the names read them by key: a megamorphic load per field and event).
    if (!isWhole(e.cost_nanousd)) throw notWhole(e, 'cost_nanousd');
    if (!isWhole(e.input_tokens)) throw notWhole(e, 'input_tokens');
    if (!isWhole(e.cached_tokens)) throw notWhole(e, 'cached_tokens');
    if (!isWhole(e.output_tokens)) throw notWhole(e, 'output_tokens');
    if (!isWhole(e.cache_write_tokens)) throw notWhole(e, 'cache_write_tokens');
    if (!isWhole(e.cache_write_1h_tokens)) throw notWhole(e, 'cache_write_1h_tokens');
    if (!isWhole(e.audio_input_tokens)) throw notWhole(e, 'audio_input_tokens');
    if (!isWhole(e.audio_output_tokens)) throw notWhole(e, 'audio_output_tokens');
    if (!isWhole(e.image_input_tokens)) throw notWhole(e, 'image_input_tokens');
    if (!isWhole(e.image_output_tokens)) throw notWhole(e, 'image_output_tokens');
    if (!isWhole(e.web_search_requests)) throw notWhole(e, 'web_search_requests');
    this.addOne(e);
  }

  private addOne(e: UsageEventsTable): void {
    this.count++;
    if (e.endpoint !== this.lastRoute || e.method !== this.lastMethod) {
      this.lastRoute = e.endpoint;
      this.lastMethod = e.method;
      this.lastKind = this.kindOf(e.method, e.endpoint);
    }
    // A billed request of a route no kind lists is never 'other' (endpointKind): rare, so looked up only then.
    const kind = this.lastKind === 'other' && isBilled(e) ? this.kindOf(e.method, e.endpoint, true) : this.lastKind;
    const project = e.project_id ?? '';
    const model = e.model ?? '';
    const key = e.api_key_id ?? '';
    const tier = e.service_tier ?? '';
    const bucket = bucketOfMs(e.created_at_ms, FINEST);
    const groups = this.byKey.get(key);
    let acc: UsageRollupsTable | undefined;
    if (!groups) {
      acc = emptyRow(e.org_id, bucket, project, key, model, kind, tier);
      this.byKey.set(key, { last: acc, more: null });
    } else if (sameGroup(groups.last, e.org_id, bucket, project, model, kind, tier)) {
      acc = groups.last;
    } else {
      groups.more ??= new Map([[`${groups.last.bucket_start}\u0000${identityOf(groups.last, true)}`, groups.last]]);
      const id = `${bucket}\u0000${e.org_id}\u0000${project}\u0000${key}\u0000${model}\u0000${kind}\u0000${tier}`;
      acc = groups.more.get(id);
      if (!acc) {
        acc = emptyRow(e.org_id, bucket, project, key, model, kind, tier);
        groups.more.set(id, acc);
      }
      groups.last = acc;
    }
    acc.num_requests++;
    if (e.outcome === 'refused') acc.num_refused_requests++;
    else if (e.outcome !== 'ok') acc.num_failed_requests++;
    const billed = isBilled(e);
    if (!billed && !isFreeModelRequest(e, kind)) return;
    acc.num_model_requests++;
    acc.input_tokens += e.input_tokens;
    acc.cached_tokens += e.cached_tokens;
    acc.output_tokens += e.output_tokens;
    acc.units += Number(e.units ?? 0);
    acc.cache_write_tokens += Number(e.cache_write_tokens);
    acc.audio_input_tokens += Number(e.audio_input_tokens);
    acc.audio_output_tokens += Number(e.audio_output_tokens);
    acc.image_input_tokens += Number(e.image_input_tokens);
    acc.image_output_tokens += Number(e.image_output_tokens);
    acc.web_search_requests += Number(e.web_search_requests);
    if (!billed) return;
    if (e.unpriced) acc.num_unpriced_requests++;
    const cost = Number(e.cost_nanousd);
    if (cost === 0) return;
    let price = this.priceCache.get(model);
    if (price === undefined) {
      price = model ? priceFor(this.prices, model) : null;
      this.priceCache.set(model, price);
    }
    const split = splitCost(price, tokensOf(e), cost, e.service_tier);
    acc.input_cost_nanousd += split[0];
    acc.cached_cost_nanousd += split[1];
    acc.output_cost_nanousd += split[2];
    acc.web_search_cost_nanousd += split[3];
  }

  /** Every table's rows from the events added so far. */
  rows(): RollupRows {
    const finest: UsageRollupsTable[] = [];
    for (const g of this.byKey.values()) {
      if (g.more) for (const r of g.more.values()) finest.push(r);
      else finest.push(g.last);
    }
    // Each table: its buckets from the finest rows. A fixed order (bucket, then identity) makes concurrent writers
    // (several instances on PostgreSQL) lock rows in the same order: no deadlocks.
    const out = {} as RollupRows;
    for (const { table, width, perKey } of ROLLUP_TABLES) {
      const merged = new Map<string, { bucket: number; id: string; row: UsageRollupsTable }>();
      for (const r of finest) {
        const bucket = bucketOfMs(r.bucket_start * 1000, width);
        const id = identityOf(r, perKey);
        const at = `${bucket}\u0000${id}`;
        const m = merged.get(at);
        if (m) addInto(m.row, r);
        else merged.set(at, { bucket, id, row: { ...r, bucket_start: bucket, api_key_id: perKey ? r.api_key_id : '' } });
      }
      out[table] = [...merged.values()].sort((a, b) => a.bucket - b.bucket || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((m) => m.row);
    }
    out.usage_costs_key_1d = costsByKey(out.usage_rollups_1d);
    return out;
  }
}

const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A day's billed requests and cost per key (usage_costs_key_1d) from the per-key day rows, in key order. */
function costsByKey(daily: UsageRollupsTable[]): UsageCostsKeyTable[] {
  const merged = new Map<string, UsageCostsKeyTable>();
  for (const r of daily) {
    const cost = r.input_cost_nanousd + r.cached_cost_nanousd + r.output_cost_nanousd + r.web_search_cost_nanousd;
    if (r.num_model_requests === 0 && cost === 0) continue;
    // Free requests (moderations) are no costs: their rows count only for what they were billed, if anything.
    if (r.endpoint_kind === FREE_KIND && cost === 0) continue;
    const id = `${r.org_id}\u0000${r.bucket_start}\u0000${r.api_key_id}\u0000${r.project_id}`;
    const m = merged.get(id);
    if (m) {
      m.num_model_requests += r.num_model_requests;
      m.cost_nanousd += cost;
    } else {
      merged.set(id, {
        org_id: r.org_id,
        bucket_start: r.bucket_start,
        api_key_id: r.api_key_id,
        project_id: r.project_id,
        num_model_requests: r.num_model_requests,
        cost_nanousd: cost,
      });
    }
  }
  return [...merged.values()].sort(
    (a, b) => a.bucket_start - b.bucket_start || order(a.org_id, b.org_id) || order(a.api_key_id, b.api_key_id) || order(a.project_id, b.project_id),
  );
}
