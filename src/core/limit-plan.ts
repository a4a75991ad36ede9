import type { KeyLimits } from './key-limits.js';
import type { CounterCheck, RateCheck } from './limit-store.js';
import { type Interval, keyRange, periodKeys, windowKeyTtlSeconds } from './periods.js';
import { snapshotBase } from './pricing.js';

// Which rate limits, request quotas and budgets apply to a request, and under which limit-store keys: decided from
// the key's own limits, its project's policy and its organization's spend policy. The plan names no amounts, so one
// plan serves every request of a key until a limit or policy changes or a period ends (`fromMs`/`untilMs`); the
// amounts of one request are laid onto it by limitChecks.

export type RateKind = 'rpm' | 'rpd' | 'tpm';
export type CounterKind = 'quota' | 'key_budget' | 'project_budget' | 'org_budget';

/** A project's rate limit for one model, or for every model (`'*'`), as OpenAI's project.rate_limit has it. */
export interface ModelRateLimit {
  model: string;
  max_requests_per_1_minute: number | null;
  max_tokens_per_1_minute: number | null;
  max_requests_per_1_day: number | null;
  /**
   * The setting of max_requests_per_1_day (rate_limits.rpd_rev): made anew whenever it changes, and part of its
   * bucket's store key (PlannedRate.key); null or absent for a limit not changed since it was made.
   */
  rpdRev?: string | null;
}

/** A spend alert of a project or the organization (OpenAI's spend_alert): an amount of the month's spend, in cents. */
export interface SpendAlertPolicy {
  id: string;
  thresholdCents: number;
  recipients: readonly string[];
  subjectPrefix: string | null;
}

/** A project's or organization's spend limit and its spend alerts. */
export interface SpendPolicy {
  /** The hard spend limit in cents, or null when only alerts are set. */
  thresholdCents: number | null;
  interval: Interval;
  /** Whether the limit refuses requests (else it is only watched, for the dashboard and the headers). */
  enforced: boolean;
  /** Spend alerts; always monthly (calendar month, UTC), as OpenAI's are. */
  alerts: readonly SpendAlertPolicy[];
  /**
   * The setting of the limit's interval (spend_limits.spend_rev): made anew when the interval changes or the limit is
   * set again or removed, and part of its counters' keys (PlannedCounter.keys), the alerts' own month counter's too;
   * null or absent for one not changed since.
   */
  rev?: string | null;
}

/** The limits a project sets on all its keys. */
export interface ProjectPolicy {
  rateLimits: readonly ModelRateLimit[];
  spend: SpendPolicy | null;
}

/** One GCRA bucket a request is charged against: `cost` 1 for requests, its estimated tokens for TPM. */
export interface PlannedRate {
  kind: RateKind;
  /** `k:<key id>` for the key's own limits, `p:<project id>:<model or *>` for the project's. */
  scope: string;
  /** The model a project's limit is for (`'*'` for every model); null for the key's own. */
  model: string | null;
  limit: number;
  periodMs: number;
  /**
   * The store key; the limit is part of it, so a changed limit starts a new bucket instead of inheriting one's state
   * under another rate (an RPD's is rebuilt from stored usage, services/limit-seeding.ts). An RPD's names the limit's
   * setting too (its rpd_rev, made anew at every change): its bucket is kept a day after its last use, and a limit set
   * back to a value it had that day found that value's bucket, which knew only the requests made under it (RPD 10, set
   * to 20 and back: 29 requests in the day, found by a review), where a changed limit is to start from the day's
   * requests. RPM and TPM buckets need no such mark: one set back within its minute finds a bucket no looser than the
   * fresh one a changed limit gets.
   */
  key: string;
}

/** A store key's stem with the setting `rev` of its limit, or as it is for a limit not changed since it was made. */
const withRev = (stem: string, rev: string | null | undefined): string => (rev ? `${stem}:${rev}` : stem);

/** A point of a budget counter at which someone is told, once per period. */
export interface PlannedAlert {
  /** The counter's value (nano-dollars) from which it fires. */
  atNano: number;
  /** Percent of a key's spend limit (50, 80, 100), or null for a spend alert (an amount of its own). */
  percent: number | null;
  /** The spend alert it is, or null. */
  spendAlert: SpendAlertPolicy | null;
}

/**
 * One quota or budget counter: the store sums `keys` (a rolling window's days) against `storeCap`. The keys name the
 * period (`m2026-05`, `w…`, `total`), so a counter is charged only while its interval is in force; they name the
 * interval's setting too (a key's quota_rev or spend_rev, a spend limit's spend_rev: made anew when the interval changes
 * or the limit is set again), so that an interval set back to one it had, or a limit removed and set again, gets a
 * counter counted from stored usage. The old counter, still held (until its period ends, plus a day; `total` for
 * ever), knew only what was used under it: a quota of 10 in total, set to a month and back, let 19 requests through
 * (found by a review). The cap is no part of the keys: a changed cap goes on counting the same period.
 */
export interface PlannedCounter {
  kind: CounterKind;
  /** The cap as the key's or project's owner set it (nano-dollars, or requests for a quota); MAX_SAFE_INTEGER for none. */
  cap: number;
  /** What the store refuses above: `cap`, or no cap for a limit that only alerts. */
  storeCap: number;
  interval: Interval;
  /** The current period's key (`m2026-05`, `d2026-05-04`, `total`); the first of `keys` after the prefix. */
  period: string;
  keys: string[];
  /** When the period ends (ms), for the store's expiry of its counter. */
  endMs: number;
  alerts: readonly PlannedAlert[];
  scopeId: string;
}

export interface LimitPlan {
  rates: PlannedRate[];
  counters: PlannedCounter[];
  /** The plan holds for requests at fromMs ≤ now < untilMs (the current periods of its counters). */
  fromMs: number;
  untilMs: number;
}

const MINUTE = 60_000;
const DAY = 86_400_000;
const NANO_PER_CENT = 10_000_000;
const KEY_BUDGET_ALERTS: readonly number[] = [50, 80, 100];
const NONE: readonly PlannedAlert[] = [];
const UNCAPPED = Number.MAX_SAFE_INTEGER;

/** Whether any limit, quota or budget applies to a key (the common case is none: checked on every request). */
export function hasAnyLimit(limits: KeyLimits | null, policy: ProjectPolicy | null, orgSpend: SpendPolicy | null): boolean {
  return !!(limits || policy?.rateLimits.length || watchesSpend(policy?.spend) || watchesSpend(orgSpend));
}

function watchesSpend(spend: SpendPolicy | null | undefined): boolean {
  return !!spend && (!!spend.thresholdCents || spend.alerts.length > 0);
}

const spendAlertsOf = (spend: SpendPolicy): PlannedAlert[] =>
  spend.alerts.map((a) => ({ atNano: a.thresholdCents * NANO_PER_CENT, percent: null, spendAlert: a }));

/**
 * The models whose per-model limits a request for `model` counts against: the model itself, the model a dated
 * snapshot is of (`gpt-4o` for `gpt-4o-2024-08-06`, `claude-sonnet-4-5` for `claude-sonnet-4-5-20250929`: the pricing
 * rule, core/pricing.ts), and the model a moving alias names (`claude-3-7-sonnet` for `claude-3-7-sonnet-latest`,
 * Anthropic's `claude-sonnet-4` for `claude-sonnet-4-0`).
 */
export function limitedAs(model: string): string[] {
  const names = [model];
  const snapshot = snapshotBase(model);
  if (snapshot !== null) names.push(snapshot);
  const alias = /^(.+)-latest$/.exec(model) ?? /^(claude-.+)-0$/.exec(model);
  if (alias) names.push(alias[1]);
  return names;
}

/**
 * The limits of a request by key `record` for `model` at `nowMs`, in the order they are checked: the key's RPM, RPD
 * and TPM, the project's for all models and for this model, then the key's request quota and budget, the project's
 * budget and the organization's.
 */
export function planLimits(
  record: {
    id: string;
    orgId: string;
    projectId: string | null;
    limits: KeyLimits | null;
    rpdRev?: string | null;
    quotaRev?: string | null;
    spendRev?: string | null;
  },
  policy: ProjectPolicy | null,
  orgSpend: SpendPolicy | null,
  model: string | null,
  nowMs: number,
): LimitPlan {
  const plan: LimitPlan = { rates: [], counters: [], fromMs: Number.NEGATIVE_INFINITY, untilMs: Number.POSITIVE_INFINITY };
  const kl = record.limits;
  const addRate = (scope: string, rateModel: string | null, kind: RateKind, limit: number | null | undefined, rev: string | null = null) => {
    if (!limit) return;
    plan.rates.push({ kind, scope, model: rateModel, limit, periodMs: kind === 'rpd' ? DAY : MINUTE, key: withRev(`rl:${scope}:${kind}:${limit}`, rev) });
  };
  addRate(`k:${record.id}`, null, 'rpm', kl?.rate_limits?.max_requests_per_1_minute);
  addRate(`k:${record.id}`, null, 'rpd', kl?.rate_limits?.max_requests_per_1_day, record.rpdRev ?? null);
  addRate(`k:${record.id}`, null, 'tpm', kl?.rate_limits?.max_tokens_per_1_minute);
  // A model's limit holds for the names that run it too (limitedAs): named by a snapshot id or an alias, a request
  // went past the project's limit on the model (found by an outside review).
  const names = model === null ? [] : limitedAs(model);
  for (const rl of policy?.rateLimits ?? []) {
    if (rl.model !== '*' && !names.includes(rl.model)) continue;
    const scope = `p:${record.projectId}:${rl.model}`;
    addRate(scope, rl.model, 'rpm', rl.max_requests_per_1_minute);
    addRate(scope, rl.model, 'rpd', rl.max_requests_per_1_day, rl.rpdRev ?? null);
    addRate(scope, rl.model, 'tpm', rl.max_tokens_per_1_minute);
  }

  const addCounter = (
    prefix: string,
    c: { kind: CounterKind; cap: number; storeCap: number; interval: Interval; alerts: readonly PlannedAlert[]; scopeId: string },
  ) => {
    const periods = periodKeys(c.interval, nowMs);
    const { start, end } = keyRange(periods[0]);
    plan.fromMs = Math.max(plan.fromMs, start);
    plan.untilMs = Math.min(plan.untilMs, end);
    plan.counters.push({ ...c, period: periods[0], keys: periods.map((p) => `${prefix}:${p}`), endMs: end });
  };
  /**
   * A project's or the organization's spend: its limit's counter, and its spend alerts on the month's. A monthly
   * limit's counter is the month's, so the alerts go on it; with another interval (or no limit), the alerts get a
   * month counter of their own that refuses nothing.
   */
  const addSpend = (prefix: string, kind: 'project_budget' | 'org_budget', spend: SpendPolicy, scopeId: string) => {
    const alerts = spendAlertsOf(spend);
    if (spend.thresholdCents) {
      const cap = spend.thresholdCents * NANO_PER_CENT;
      const monthly = spend.interval === 'month';
      addCounter(prefix, { kind, cap, storeCap: spend.enforced ? cap : UNCAPPED, interval: spend.interval, alerts: monthly ? alerts : NONE, scopeId });
      if (monthly || alerts.length === 0) return;
    }
    if (alerts.length) addCounter(prefix, { kind, cap: UNCAPPED, storeCap: UNCAPPED, interval: 'month', alerts, scopeId });
  };
  if (kl?.request_quota) {
    const cap = kl.request_quota.max_requests;
    addCounter(withRev(`q:k:${record.id}`, record.quotaRev), { kind: 'quota', cap, storeCap: cap, interval: kl.request_quota.interval ?? 'total', alerts: NONE, scopeId: record.id });
  }
  if (kl?.spend_limit) {
    const cap = kl.spend_limit.threshold_amount * NANO_PER_CENT;
    const alerts = KEY_BUDGET_ALERTS.map((percent) => ({ atNano: (cap * percent) / 100, percent, spendAlert: null }));
    addCounter(withRev(`s:k:${record.id}`, record.spendRev), { kind: 'key_budget', cap, storeCap: cap, interval: kl.spend_limit.interval ?? 'month', alerts, scopeId: record.id });
  }
  if (policy?.spend && record.projectId) addSpend(withRev(`s:p:${record.projectId}`, policy.spend.rev), 'project_budget', policy.spend, record.projectId);
  if (orgSpend) addSpend(withRev(`s:o:${record.orgId}`, orgSpend.rev), 'org_budget', orgSpend, record.orgId);
  return plan;
}

/** Whether `plan` still holds at `nowMs` (its counters' periods have not turned). */
export function planHolds(plan: LimitPlan, nowMs: number): boolean {
  return nowMs >= plan.fromMs && nowMs < plan.untilMs;
}

/**
 * The limit-store checks of one request under `plan`: each rate charged 1 request or `tokens` (TPM), each quota 1
 * request, each budget `costNano` (what the request may cost), a reservation in flight until it is settled.
 * `atMostTokens`, for a request that names input by reference (a stored response, a file by id): the most its tokens
 * may be, which each TPM limit reserves up to the whole limit, so that no burst of them gets past it (they settle to
 * their real count, as every request does).
 */
export function limitChecks(
  plan: LimitPlan,
  tokens: number,
  costNano: number,
  nowMs: number,
  atMostTokens = 0,
): { rates: RateCheck[]; counters: CounterCheck[] } {
  const rates: RateCheck[] = new Array(plan.rates.length);
  for (let i = 0; i < plan.rates.length; i++) {
    const r = plan.rates[i];
    // TPM: the estimate, or up to the most the request may use but not past the whole limit (atMostTokens 0: none).
    const cost = r.kind === 'tpm' ? Math.max(tokens, Math.min(atMostTokens, r.limit)) : 1;
    // RPD is rebuilt from stored usage when the store lacks it (a restart would hand out the day again); RPM and
    // TPM start full, as a minute's worth is all a restart can hand out again.
    rates[i] = { key: r.key, limit: r.limit, periodMs: r.periodMs, cost, seedable: r.kind === 'rpd' };
  }
  const counters: CounterCheck[] = new Array(plan.counters.length);
  for (let i = 0; i < plan.counters.length; i++) {
    const c = plan.counters[i];
    const quota = c.kind === 'quota';
    counters[i] = { keys: c.keys, cap: c.storeCap, amount: quota ? 1 : costNano, ttlSec: windowKeyTtlSeconds(c.endMs, c.keys.length, nowMs), reserves: !quota };
  }
  return { rates, counters };
}
