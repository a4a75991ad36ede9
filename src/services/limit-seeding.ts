import { sql } from 'kysely';
import { seedSpanStarts, seedTat } from '../core/gcra.js';
import { type LimitPlan, limitedAs, type PlannedCounter, type PlannedRate } from '../core/limit-plan.js';
import type { LimitStore } from '../core/limit-store.js';
import { keyRange, windowKeyTtlSeconds } from '../core/periods.js';
import type { KeyRecord } from '../core/verify.js';
import { ROLLUP_COST_SQL, UNCHARGED_KIND } from '../storage/schema-rollups.js';
import type { ServiceDeps } from './context.js';

// What a limit store lacks (a new period, a restarted in-process store, a Redis that lost its data) is set from the
// usage the database holds, so that a restart neither forgets nor resets what was used: quota and budget counters
// from the day rollups, RPD buckets from the hour rollups. The rollups are written in the transaction that writes the
// events, and a start writes what the last run's usage log held before it serves (server.ts).

const DAY = 86_400_000;
const HOUR = 3_600_000;

export class LimitSeeding {
  /** Seeds under way, per store and key: the requests that find a key missing meanwhile share one query. */
  private readonly running = new WeakMap<LimitStore, Map<string, Promise<void>>>();

  constructor(private readonly deps: ServiceDeps) {}

  /** Sets `key` of `plan` (a counter or an RPD bucket) in `store` from stored usage; a no-op where the store holds it. */
  seed(store: LimitStore, record: KeyRecord, plan: LimitPlan, key: string): Promise<void> {
    let inFlight = this.running.get(store);
    if (!inFlight) {
      inFlight = new Map();
      this.running.set(store, inFlight);
    }
    const pending = inFlight.get(key);
    if (pending) return pending;
    const running = inFlight;
    const started = this.seedNow(store, record, plan, key).finally(() => running.delete(key));
    running.set(key, started);
    return started;
  }

  private async seedNow(store: LimitStore, record: KeyRecord, plan: LimitPlan, key: string): Promise<void> {
    const counter = plan.counters.find((c) => c.keys.includes(key));
    if (counter) return this.seedCounter(store, record, counter, key);
    const rate = plan.rates.find((r) => r.key === key);
    if (rate) return this.seedRate(store, record, rate);
  }

  /**
   * A counter from the usage stored for its period (forwarded requests for quotas, cost for budgets), read from the
   * daily rollups (every period is whole UTC days): one row per model and endpoint kind per day, however many
   * requests the period holds.
   */
  private async seedCounter(store: LimitStore, record: KeyRecord, m: PlannedCounter, key: string): Promise<void> {
    const period = key.slice(key.lastIndexOf(':') + 1);
    const { start, end } = keyRange(period);
    const perKey = m.kind === 'quota' || m.kind === 'key_budget';
    let q = this.deps.database.db.selectFrom(perKey ? 'usage_rollups_1d' : 'usage_rollups_project_1d').where('org_id', '=', record.orgId);
    // A finite period is a few days: naming each day's bucket lets the primary key (org, bucket, project, key, …) seek.
    q = end === Number.MAX_SAFE_INTEGER ? q.where('bucket_start', '>=', 0) : q.where('bucket_start', 'in', dayBuckets(start, end));
    if (m.kind !== 'org_budget') q = q.where('project_id', '=', record.projectId ?? '');
    if (perKey) q = q.where('api_key_id', '=', record.id);
    // Every forwarded request counted against the quota, failed ones included: all but the refused, and but the
    // listings of models, which no quota is charged for.
    if (m.kind === 'quota') q = q.where('endpoint_kind', '!=', UNCHARGED_KIND);
    const sum = m.kind === 'quota' ? sql`sum(num_requests - num_refused_requests)` : sql`sum(${sql.raw(ROLLUP_COST_SQL)})`;
    const row = await q.select(sql<number>`coalesce(${sum}, 0)`.as('v')).executeTakeFirst();
    const now = this.deps.clock();
    await store.seedCounter(key, Number(row?.v ?? 0), windowKeyTtlSeconds(end, m.keys.length, now), now);
  }

  /**
   * An RPD bucket from the requests of the last day, hour by hour (core/gcra.ts, seedTat): the key's from the hour
   * rollups, a project's (for one model or all) from the project hour rollups. RPD is charged for every forwarded
   * request whatever its outcome, as the quota is: all but the refused and the listings of models.
   */
  private async seedRate(store: LimitStore, record: KeyRecord, r: PlannedRate): Promise<void> {
    const now = this.deps.clock();
    const starts = seedSpanStarts(r.periodMs, HOUR, now);
    const perKey = r.model === null;
    let q = this.deps.database.db
      .selectFrom(perKey ? 'usage_rollups_1h' : 'usage_rollups_project_1h')
      .where('org_id', '=', record.orgId)
      .where('bucket_start', 'in', starts.map((t) => t / 1000))
      .where('project_id', '=', record.projectId ?? '');
    if (perKey) q = q.where('api_key_id', '=', record.id);
    // A model's limit counts the names that run it too (core/limit-plan.ts limitedAs): the rows of every model named as
    // it or beginning with it, kept when they count against it.
    else if (r.model !== '*') q = q.where((eb) => eb.or([eb('model', '=', r.model), eb('model', 'like', `${likePrefix(r.model as string)}-%`)]));
    q = q.where('endpoint_kind', '!=', UNCHARGED_KIND);
    const rows = await q.select(['bucket_start', 'model', sql<number>`sum(num_requests - num_refused_requests)`.as('n')]).groupBy(['bucket_start', 'model']).execute();
    const byBucket = new Map<number, number>();
    for (const row of rows) {
      if (!perKey && r.model !== '*' && !limitedAs(row.model).includes(r.model as string)) continue;
      const start = Number(row.bucket_start);
      byBucket.set(start, (byBucket.get(start) ?? 0) + Number(row.n));
    }
    const spans = [...byBucket].map(([start, count]) => ({ endMs: start * 1000 + HOUR, count }));
    await store.seedRate(r.key, seedTat(r, starts[0], spans, now), r.periodMs, now);
  }
}

/**
 * A model name as the prefix of a LIKE pattern that only narrows the rows read: its `%`, `_` and backslashes become `_`
 * (any one character; SQLite's LIKE also ignores case); the rows read are then kept by the exact rule.
 */
function likePrefix(text: string): string {
  return text.replace(/[%_\\]/g, '_');
}

/** The daily rollup buckets (UTC day starts, in seconds) of [start, end) in ms. */
function dayBuckets(start: number, end: number): number[] {
  const out: number[] = [];
  for (let t = start; t < end; t += DAY) out.push(t / 1000);
  return out;
}
