import { sql } from 'kysely';
import { TollgateError } from '../core/errors.js';
import { boundTokens, estimateTokens } from '../core/estimate.js';
import { maxOutputTokens } from '../core/model-limits.js';
import { formatResetDuration, type GcraDecision } from '../core/gcra.js';
import type { AcquireOutcome, CounterCheck, LimitStore, RateCheck } from '../core/limit-store.js';
import { type Interval, keyRange, keyTtlSeconds, periodKeys } from '../core/periods.js';
import type { MeterPlan } from '../core/metering-plan.js';
import { costNanoUsd } from '../core/pricing.js';
import type { KeyRecord } from '../core/verify.js';
import type { Admission, AdmitInput, RequestGuard } from '../http/gateway/guard.js';
import type { ServiceDeps } from './context.js';
import type { ProjectPolicy } from './limits.js';
import type { PolicyCache } from './policy-cache.js';

// Rate limits (RPM, RPD, TPM at key, project and project-model level), request quotas and money budgets, decided
// together and atomically by the limit store before a request is forwarded, then settled to its real usage.

const MINUTE = 60_000;
const DAY = 86_400_000;
const NANO_PER_CENT = 10_000_000;

type RateKind = 'rpm' | 'rpd' | 'tpm';
interface RateMeta {
  kind: RateKind;
  scope: string;
  limit: number;
}
type CounterKind = 'quota' | 'key_budget' | 'project_budget' | 'org_budget';
interface CounterMeta {
  kind: CounterKind;
  cap: number;
  interval: Interval;
  period: string;
  alertThresholds: number[];
  scopeId: string;
  recipients?: string[];
}

export interface BudgetAlert {
  scope: 'api_key' | 'project' | 'organization';
  scopeId: string;
  orgId: string;
  projectId: string | null;
  period: string;
  threshold: number;
  usedNanoUsd: number;
  capNanoUsd: number;
  /** Who should be told (spend alerts' recipients), passed on in the webhook. */
  recipients: string[];
}

export interface LimitsGuardOptions {
  store: LimitStore;
  /** Used when the shared store (Redis) fails and the failure mode is open. */
  localStore: LimitStore;
  rateLimitFailure: 'open' | 'closed';
  budgetFailure: 'open' | 'closed';
  defaultMaxOutputTokens: number;
  onAlert: (alert: BudgetAlert) => void;
  onStoreError: (err: unknown, fallback: 'open' | 'closed') => void;
}

const NO_LIMITS: Admission = { headers: {}, settle() {} };

const RATE_LABEL: Record<RateKind, string> = { rpm: 'requests per min (RPM)', rpd: 'requests per day (RPD)', tpm: 'tokens per min (TPM)' };

export class LimitsGuard implements RequestGuard {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly policies: PolicyCache,
    private readonly opts: LimitsGuardOptions,
  ) {}

  /** Synchronous (no promise, no await) for a key without limits once the policies are cached: the common case. */
  admit(input: AdmitInput): Admission | Promise<Admission> {
    const { record } = input;
    const project = record.projectId ? this.policies.get(record.projectId) : null;
    const org = this.policies.get(record.orgId);
    if (project instanceof Promise || org instanceof Promise) {
      return Promise.all([project, org]).then(([p, o]) => this.admitWith(input, p, o));
    }
    return this.admitWith(input, project, org);
  }

  private admitWith(input: AdmitInput, policy: ProjectPolicy | null, org: ProjectPolicy): Admission | Promise<Admission> {
    const orgSpend = org.spend;
    // Most keys have no limit at all: answer before estimating anything (this runs on every request).
    if (!input.record.limits && !policy?.rateLimits.length && !policy?.spend?.thresholdCents && !orgSpend?.thresholdCents) return NO_LIMITS;
    const capped = input.record.limits?.spend_limit
      ? 'this API key has a spend limit'
      : policy?.spend?.thresholdCents && policy.spend.enforced
        ? "this key's project has a spend limit"
        : orgSpend?.thresholdCents && orgSpend.enforced
          ? 'the organization has a spend limit'
          : null;
    if (capped) refuseUnmetered(input.plan, capped);
    return this.admitLimited(input, policy, orgSpend, capped !== null);
  }

  private async admitLimited(input: AdmitInput, policy: ProjectPolicy | null, orgSpend: ProjectPolicy['spend'], hardCap: boolean): Promise<Admission> {
    const { record, model, nowMs } = input;
    const kl = record.limits;
    const { plan } = input;
    // Tokens are estimated for token-billed calls only; the other kinds reserve what their plan estimates. TPM
    // reserves the usual estimate (as OpenAI's own limiter does); a hard spend cap reserves what the request can cost
    // at most (input bounded from above, output its max_tokens or else the model's largest answer), so that a burst
    // of concurrent calls cannot overshoot the cap (docs/metering.md).
    const estimate = plan.kind === 'tokens' ? estimateTokens(input.body, input.endpoint, this.opts.defaultMaxOutputTokens) : { input: 0, output: 0 };
    const estTokens = estimate.input + estimate.output;
    const reserved =
      plan.kind === 'tokens' && hardCap ? boundTokens(input.body, input.endpoint, maxOutputTokens(model, () => plan.price?.max_output_tokens)) : estimate;
    const estCost = plan.kind === 'tokens' ? costNanoUsd(plan.price, { input: reserved.input, cached: 0, output: reserved.output }) : plan.estimateNano;

    const rates: RateCheck[] = [];
    const rateMeta: RateMeta[] = [];
    const addRate = (scope: string, kind: RateKind, limit: number | null | undefined) => {
      if (!limit) return;
      const periodMs = kind === 'rpd' ? DAY : MINUTE;
      // The limit is part of the key: a changed limit starts a fresh bucket instead of inheriting a state scaled to the old one.
      rates.push({ key: `rl:${scope}:${kind}:${limit}`, limit, periodMs, cost: kind === 'tpm' ? estTokens : 1 });
      rateMeta.push({ kind, scope, limit });
    };
    addRate(`k:${record.id}`, 'rpm', kl?.rate_limits?.max_requests_per_1_minute);
    addRate(`k:${record.id}`, 'rpd', kl?.rate_limits?.max_requests_per_1_day);
    addRate(`k:${record.id}`, 'tpm', kl?.rate_limits?.max_tokens_per_1_minute);
    for (const rl of policy?.rateLimits ?? []) {
      if (rl.model !== '*' && rl.model !== model) continue;
      const scope = `p:${record.projectId}:${rl.model}`;
      addRate(scope, 'rpm', rl.max_requests_per_1_minute);
      addRate(scope, 'rpd', rl.max_requests_per_1_day);
      addRate(scope, 'tpm', rl.max_tokens_per_1_minute);
    }

    const counters: CounterCheck[] = [];
    const counterMeta: CounterMeta[] = [];
    const addCounter = (prefix: string, kind: CounterKind, cap: number, interval: Interval, amount: number, alerts: number[], scopeId: string) => {
      const keys = periodKeys(interval, nowMs).map((p) => `${prefix}:${p}`);
      counters.push({ keys, cap, amount, ttlSec: keyTtlSeconds(keys[0].slice(prefix.length + 1), nowMs) });
      counterMeta.push({ kind, cap, interval, period: keys[0].slice(prefix.length + 1), alertThresholds: alerts, scopeId });
    };
    if (kl?.request_quota) addCounter(`q:k:${record.id}`, 'quota', kl.request_quota.max_requests, kl.request_quota.interval ?? 'total', 1, [], record.id);
    if (kl?.spend_limit) {
      addCounter(`s:k:${record.id}`, 'key_budget', kl.spend_limit.threshold_amount * NANO_PER_CENT, kl.spend_limit.interval ?? 'month', estCost, [50, 80, 100], record.id);
    }
    const sp = policy?.spend;
    if (sp?.thresholdCents && record.projectId) {
      const cap = sp.enforced ? sp.thresholdCents * NANO_PER_CENT : Number.MAX_SAFE_INTEGER;
      addCounter(`s:p:${record.projectId}`, 'project_budget', cap, sp.interval, estCost, sp.alertThresholds, record.projectId);
      counterMeta[counterMeta.length - 1].recipients = sp.recipients;
      if (!sp.enforced) counterMeta[counterMeta.length - 1].cap = sp.thresholdCents * NANO_PER_CENT;
    }
    if (orgSpend?.thresholdCents) {
      const cap = orgSpend.enforced ? orgSpend.thresholdCents * NANO_PER_CENT : Number.MAX_SAFE_INTEGER;
      addCounter(`s:o:${record.orgId}`, 'org_budget', cap, orgSpend.interval, estCost, orgSpend.alertThresholds, record.orgId);
      if (!orgSpend.enforced) counterMeta[counterMeta.length - 1].cap = orgSpend.thresholdCents * NANO_PER_CENT;
    }
    if (rates.length === 0 && counters.length === 0) return NO_LIMITS;

    const outcome = await this.acquire(record, rates, counters, counterMeta, nowMs);
    if (!outcome.allowed) {
      this.alertExhausted(outcome, counters, counterMeta, record);
      throw this.refusal(outcome, rateMeta, counterMeta, rates, counters, record, model);
    }

    const headers = this.headers(outcome, rateMeta, counterMeta);
    const usedAtAdmit = outcome.counters.map((c) => c.used);
    let settled = false;
    return {
      headers,
      settle: (actual) => {
        if (settled) return;
        settled = true;
        const realTokens = actual.billable ? actual.tokens.input + actual.tokens.output : 0;
        const rateAdjust = rates
          .map((r, i) => ({ r, m: rateMeta[i] }))
          .filter(({ m }) => m.kind === 'tpm' || !actual.billable)
          .map(({ r, m }) => ({ key: r.key, limit: r.limit, periodMs: r.periodMs, delta: m.kind === 'tpm' ? realTokens - estTokens : 0 }))
          .filter((a) => a.delta !== 0);
        const counterAdjust = counters
          .map((c, i) => {
            const m = counterMeta[i];
            // A forwarded request keeps its place in the quota whatever its outcome: only money is settled.
            const delta = m.kind === 'quota' ? 0 : (actual.billable ? actual.costNanoUsd : 0) - c.amount;
            return { key: c.keys[0], delta, ttlSec: c.ttlSec, i };
          })
          .filter((a) => a.delta !== 0);
        if (rateAdjust.length || counterAdjust.length) {
          this.opts.store.adjust(rateAdjust, counterAdjust, this.deps.clock()).catch((err) => this.opts.onStoreError(err, 'open'));
        }
        counterMeta.forEach((m, i) => {
          if (m.kind === 'quota' || m.alertThresholds.length === 0) return;
          const delta = (actual.billable ? actual.costNanoUsd : 0) - counters[i].amount;
          const used = usedAtAdmit[i] + delta;
          for (const t of m.alertThresholds) {
            if (used >= (m.cap * t) / 100 && m.cap > 0) {
              this.opts.onAlert({
                scope: m.kind === 'key_budget' ? 'api_key' : m.kind === 'org_budget' ? 'organization' : 'project',
                scopeId: m.scopeId,
                orgId: record.orgId,
                projectId: record.projectId,
                period: m.period,
                threshold: t,
                usedNanoUsd: used,
                capNanoUsd: m.cap,
                recipients: m.recipients ?? [],
              });
            }
          }
        });
      },
    };
  }

  /** Seeds unseen counters from stored usage, then decides; falls back per the configured failure modes. */
  private async acquire(record: KeyRecord, rates: RateCheck[], counters: CounterCheck[], meta: CounterMeta[], nowMs: number): Promise<AcquireOutcome> {
    try {
      return await this.acquireSeeded(this.opts.store, record, rates, counters, meta, nowMs);
    } catch (err) {
      if (err instanceof TollgateError) throw err;
      if (counters.length > 0 && this.opts.budgetFailure === 'closed') {
        this.opts.onStoreError(err, 'closed');
        throw new TollgateError('service_unavailable', 'Budgets cannot be checked right now (limit store unavailable); the request was not forwarded. Try again shortly.');
      }
      if (rates.length > 0 && this.opts.rateLimitFailure === 'closed') {
        this.opts.onStoreError(err, 'closed');
        throw new TollgateError('service_unavailable', 'Rate limits cannot be checked right now (limit store unavailable). Try again shortly.');
      }
      this.opts.onStoreError(err, 'open');
      return this.acquireSeeded(this.opts.localStore, record, rates, counters, meta, nowMs);
    }
  }

  /** Decides; a counter the store lacks is seeded from stored usage (once per key and period) and the decision retried. */
  private async acquireSeeded(
    store: LimitStore,
    record: KeyRecord,
    rates: RateCheck[],
    counters: CounterCheck[],
    meta: CounterMeta[],
    nowMs: number,
  ): Promise<AcquireOutcome> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const outcome = await store.acquire(rates, counters, nowMs);
      if (!outcome.missing?.length) return outcome;
      for (const key of outcome.missing) await this.seed(store, record, counters, meta, key);
    }
    throw new Error('limit store lost counters while seeding them');
  }

  /**
   * Sets one counter key from the usage stored for its period (forwarded requests for quotas, cost for budgets), read
   * from the daily rollups (every period is whole UTC days, and the rollups are written in the transaction that
   * writes the events): one row per model and endpoint kind per day, however many requests the period holds.
   */
  private async seed(store: LimitStore, record: KeyRecord, counters: CounterCheck[], meta: CounterMeta[], key: string): Promise<void> {
    const i = counters.findIndex((c) => c.keys.includes(key));
    if (i < 0) return;
    const m = meta[i];
    const period = key.slice(key.lastIndexOf(':') + 1);
    const { start, end } = keyRange(period);
    const perKey = m.kind === 'quota' || m.kind === 'key_budget';
    let q = this.deps.database.db
      .selectFrom(perKey ? 'usage_rollups_1d' : 'usage_rollups_project_1d')
      .where('org_id', '=', record.orgId);
    // A finite period is a few days: naming each day's bucket lets the primary key (org, bucket, project, key, …) seek.
    q = end === Number.MAX_SAFE_INTEGER ? q.where('bucket_start', '>=', 0) : q.where('bucket_start', 'in', dayBuckets(start, end));
    if (m.kind !== 'org_budget') q = q.where('project_id', '=', record.projectId ?? '');
    if (perKey) q = q.where('api_key_id', '=', record.id);
    // Every forwarded request counted against the quota, failed ones included: all but the refused.
    const sum = m.kind === 'quota' ? sql`sum(num_requests - num_refused_requests)` : sql`sum(input_cost_nanousd + cached_cost_nanousd + output_cost_nanousd)`;
    const row = await q.select(sql<number>`coalesce(${sum}, 0)`.as('v')).executeTakeFirst();
    const now = this.deps.clock();
    await store.seedCounter(key, Number(row?.v ?? 0), keyTtlSeconds(period, now), now);
  }

  /**
   * A budget that refuses a request is exhausted for new requests (spent and reserved leave no room for this one's
   * reservation): every alert threshold of it fires now, once per period, since with reservations the recorded
   * spend itself may stop short of 100 %.
   */
  private alertExhausted(outcome: AcquireOutcome, counters: CounterCheck[], counterMeta: CounterMeta[], record: KeyRecord): void {
    outcome.counters.forEach((c, i) => {
      const m = counterMeta[i];
      if (c.allowed || m.kind === 'quota' || m.cap <= 0) return;
      for (const t of m.alertThresholds) {
        if (c.used + counters[i].amount < (m.cap * t) / 100) continue;
        this.opts.onAlert({
          scope: m.kind === 'key_budget' ? 'api_key' : m.kind === 'org_budget' ? 'organization' : 'project',
          scopeId: m.scopeId,
          orgId: record.orgId,
          projectId: record.projectId,
          period: m.period,
          threshold: t,
          usedNanoUsd: c.used,
          capNanoUsd: m.cap,
          recipients: m.recipients ?? [],
        });
      }
    });
  }

  private refusal(
    outcome: AcquireOutcome,
    rateMeta: RateMeta[],
    counterMeta: CounterMeta[],
    rates: RateCheck[],
    counters: CounterCheck[],
    record: KeyRecord,
    model: string | null,
  ): TollgateError {
    const failedCounter = outcome.counters.findIndex((c) => !c.allowed);
    if (failedCounter >= 0) {
      const m = counterMeta[failedCounter];
      const used = outcome.counters[failedCounter].used;
      const code =
        m.kind === 'quota'
          ? 'api_key_quota_exceeded'
          : m.kind === 'key_budget'
            ? 'api_key_spend_limit_exceeded'
            : m.kind === 'org_budget'
              ? 'organization_spend_limit_exceeded'
              : 'project_spend_limit_exceeded';
      const what =
        m.kind === 'quota'
          ? `This API key's request quota is used up: ${used} of ${m.cap} requests (${m.interval}).`
          : `${m.kind === 'key_budget' ? "This API key's" : m.kind === 'org_budget' ? "The organization's" : "The project's"} spend limit of $${(m.cap / 1e9).toFixed(2)} per ${m.interval} leaves no room for this request: $${(used / 1e9).toFixed(4)} is spent or reserved by requests in flight, and this one reserves up to $${(counters[failedCounter].amount / 1e9).toFixed(4)} (its max_tokens, or else the model's largest answer: set max_tokens to reserve less).`;
      const err = new TollgateError(
        code,
        m.kind === 'quota'
          ? `${what} Retrying will not help until the period resets or the limit is raised.`
          : `${what} Retrying helps only once requests in flight settle, the period resets or the limit is raised.`,
      );
      err.headers = this.headers(outcome, rateMeta, counterMeta);
      return err;
    }
    const i = outcome.rates.findIndex((d) => !d.allowed);
    const d = outcome.rates[i];
    const m = rateMeta[i];
    const retryMs = Number.isFinite(d.retryAfterMs) ? d.retryAfterMs : 60_000;
    const where = m.scope.startsWith('k:') ? `API key ${record.id}` : `project ${record.projectId}${m.scope.endsWith(':*') ? '' : ` for ${model}`}`;
    const requested = rates[i].cost;
    const tooBig = !Number.isFinite(d.retryAfterMs);
    const err = new TollgateError(
      'rate_limit_exceeded',
      tooBig
        ? `Request too large for ${where} on ${RATE_LABEL[m.kind]}: Limit ${m.limit}, Requested ${requested}. Reduce the prompt or max_tokens.`
        : `Rate limit reached for ${where} on ${RATE_LABEL[m.kind]}: Limit ${m.limit}, Used ${m.limit - d.remaining}, Requested ${requested}. Please try again in ${formatResetDuration(retryMs)}.`,
    );
    err.headers = { ...this.headers(outcome, rateMeta, counterMeta), 'retry-after': String(Math.max(1, Math.ceil(retryMs / 1000))), 'retry-after-ms': String(Math.ceil(retryMs)) };
    return err;
  }

  private headers(outcome: AcquireOutcome, rateMeta: RateMeta[], counterMeta: CounterMeta[]): Record<string, string> {
    const h: Record<string, string> = {};
    const tightest = (kinds: RateKind[]): { d: GcraDecision; m: RateMeta } | null => {
      let best: { d: GcraDecision; m: RateMeta } | null = null;
      outcome.rates.forEach((d, i) => {
        if (!kinds.includes(rateMeta[i].kind)) return;
        if (!best || d.remaining < best.d.remaining) best = { d, m: rateMeta[i] };
      });
      return best;
    };
    const req = tightest(['rpm', 'rpd']);
    if (req) {
      h['x-ratelimit-limit-requests'] = String(req.m.limit);
      h['x-ratelimit-remaining-requests'] = String(req.d.remaining);
      h['x-ratelimit-reset-requests'] = formatResetDuration(req.d.resetMs);
    }
    const tok = tightest(['tpm']);
    if (tok) {
      h['x-ratelimit-limit-tokens'] = String(tok.m.limit);
      h['x-ratelimit-remaining-tokens'] = String(tok.d.remaining);
      h['x-ratelimit-reset-tokens'] = formatResetDuration(tok.d.resetMs);
    }
    let budget: number | null = null;
    let quota: number | null = null;
    outcome.counters.forEach((c, i) => {
      const m = counterMeta[i];
      const left = Math.max(0, m.cap - c.used);
      if (m.kind === 'quota') quota = quota === null ? left : Math.min(quota, left);
      else if (m.cap < Number.MAX_SAFE_INTEGER) budget = budget === null ? left : Math.min(budget, left);
    });
    if (budget !== null) h['x-tollgate-remaining-budget-usd'] = (budget / 1e9).toFixed(6);
    if (quota !== null) h['x-tollgate-remaining-requests-quota'] = String(quota);
    return h;
  }
}

/**
 * Refuses, for a key under an enforced spend limit (`who` says whose), what would spend money no budget sees: an
 * endpoint Tollgate cannot meter, or a model it has no price for.
 */
function refuseUnmetered(plan: MeterPlan, who: string): void {
  if (plan.unmeterable) {
    throw new TollgateError(
      'endpoint_not_metered',
      `Tollgate cannot meter the cost of ${plan.family}, and ${who}: the request was not forwarded. Use a key without a spend limit for this endpoint (see docs/metering.md).`,
    );
  }
  if (plan.priced) return;
  throw new TollgateError(
    'model_not_priced',
    plan.model === null
      ? `This request names no model Tollgate can price for ${plan.family}, and ${who}: the request was not forwarded. Name the model.`
      : `The model '${plan.model}' has no price for ${plan.family} in this gateway, and ${who}: the request was not forwarded. An operator can price it under 'pricing' in the config file (or set 'pricing.default').`,
    'model',
  );
}

/** The daily rollup buckets (UTC day starts, in seconds) of [start, end) in ms. */
function dayBuckets(start: number, end: number): number[] {
  const out: number[] = [];
  for (let t = start; t < end; t += DAY) out.push(t / 1000);
  return out;
}
