import { TollgateError } from '../core/errors.js';
import { boundTokens, estimateTokens, imagePartTokens } from '../core/estimate.js';
import { maxInputTokens, maxOutputTokens } from '../core/model-limits.js';
import { modelUseOf } from '../core/model-use.js';
import { otherSpelling, otherSpellingRefused } from '../core/model-spelling.js';
import { nestedModels } from '../core/request-model.js';
import { formatResetDuration } from '../core/gcra.js';
import {
  hasAnyLimit,
  type LimitPlan,
  limitedAs,
  limitChecks,
  type PlannedAlert,
  type PlannedCounter,
  planHolds,
  planLimits,
  type ProjectPolicy,
  type RateKind,
  type SpendAlertPolicy,
  type SpendPolicy,
} from '../core/limit-plan.js';
import { type AcquireOutcome, type CounterCheck, type LimitStore, type RateCheck, type SettledCounters, UnansweredAcquire } from '../core/limit-store.js';
import type { LimitLevel, LimitState } from '../core/limit-state.js';
import { HOSTED_TOOLS, type MeterPlan, PROVIDER_VECTOR_STORES } from '../core/metering-plan.js';
import { boundCostNanoUsd, costNanoUsd, nanoToUsdText6, type TokenCounts } from '../core/pricing.js';
import type { KeyRecord } from '../core/verify.js';
import type { Admission, AdmitInput, RequestGuard } from '../core/request-guard.js';
import type { ServiceDeps } from './context.js';
import { LimitSeeding } from './limit-seeding.js';
import type { PolicyCache } from './policy-cache.js';
import { andThen, isPending, type MaybePromise } from '../core/maybe-promise.js';

// Rate limits (RPM, RPD, TPM at key, project and project-model level), request quotas and money budgets, decided
// together and atomically by the limit store before a request is forwarded, then settled to its real usage.

export interface BudgetAlert {
  scope: 'api_key' | 'project' | 'organization';
  scopeId: string;
  orgId: string;
  projectId: string | null;
  period: string;
  /** Percent of a key's spend limit, or null for a spend alert (an amount of its own). */
  percent: number | null;
  /** The spend crossed (nano-dollars). */
  thresholdNanoUsd: number;
  usedNanoUsd: number;
  /** The spend limit of the counter, or null when it has none (a project's or organization's alerts alone). */
  capNanoUsd: number | null;
  /** The spend alert crossed (its recipients and subject prefix are passed on in the webhook), or null. */
  spendAlert: SpendAlertPolicy | null;
  /**
   * A rolling window's earlier days (`period` is its last): an alert told on any of them is not told again (once per
   * window length); empty for a calendar period.
   */
  earlierPeriods: string[];
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
  /**
   * Writes the usage this instance recorded and has not written yet: called before any store's counters and buckets
   * are seeded from stored usage, so that the count holds it (a changed limit, a Redis that lost a counter mid-period).
   */
  writeRecordedUsage?: () => Promise<void>;
}

const NO_LIMITS: Admission = { headers: {}, settle() {} };

/** How long a decision waits for this instance's unwritten usage before seeding a lost counter from the database. */
const RECORDED_USAGE_WAIT_MS = 250;

/** Waits for `work` (its failure ignored) for `ms` at most (elapsed time, not the injected clock). */
function settledWithin(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref?.();
    work.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}

/**
 * How long putting the shared store right after an outage (LimitsGuard.recount) waits for this instance's unwritten
 * usage to be written, at most: longer than a seeding waits, since what the local store admitted is counted again
 * from it.
 */
const RECOUNT_USAGE_WAIT_MS = 2000;
/** How often an instance with keys to put right tries it, while no request does (Redis still failing, or no traffic). */
const RECOUNT_RETRY_MS = 1000;

/** First pause before a settle the shared store refused is tried again (doubled while it keeps failing). */
const SETTLE_RETRY_MS = 1000;
/** Settles and cancels kept for another try, at most (each a few keys and numbers). */
const MAX_UNSETTLED = 100_000;

const RATE_LABEL: Record<RateKind, string> = { rpm: 'requests per min (RPM)', rpd: 'requests per day (RPD)', tpm: 'tokens per min (TPM)' };

/** A key's plan, and what it was planned from (a plan is reused while these are the same and its periods hold). */
interface CachedPlan {
  plan: LimitPlan;
  policy: ProjectPolicy | null;
  orgSpend: SpendPolicy | null;
  /** The model it was planned for, or undefined when the project has no per-model limit (any model then). */
  model: string | null | undefined;
}

export class LimitsGuard implements RequestGuard {
  /**
   * The last plan of each key record. The key cache keeps one record object per key until the key changes (a change
   * makes a new record), and policies are new objects after every change: a plan is reused while both are the same.
   * Planning afresh on every request (key strings, period keys from dates) was the larger part of the limits path's
   * cost, and the per-request garbage of it grew with the requests in flight.
   */
  private readonly plans = new WeakMap<KeyRecord, CachedPlan>();
  private readonly seeding: LimitSeeding;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly policies: PolicyCache,
    private readonly opts: LimitsGuardOptions,
  ) {
    this.seeding = new LimitSeeding(deps);
  }

  /** Synchronous (no promise, no await) for a key without limits once the policies are cached: the common case. */
  admit(input: AdmitInput): MaybePromise<Admission> {
    return this.admitCarrying(input, null);
  }

  admitFallback(previous: Admission, input: AdmitInput): MaybePromise<Admission> {
    return this.admitCarrying(input, previous instanceof LimitedAdmission && !previous.isSettled ? previous : null);
  }

  /** Admits `input`; `carried` is the same request's admission as another model (a fallback), whose charges it takes over. */
  private admitCarrying(input: AdmitInput, carried: LimitedAdmission | null): MaybePromise<Admission> {
    const { record } = input;
    const project = record.projectId ? this.policies.get(record.projectId) : null;
    const org = this.policies.get(record.orgId);
    if (isPending(project) || isPending(org)) {
      return Promise.all([project, org]).then(([p, o]) => this.admitWith(input, p, o, carried));
    }
    return this.admitWith(input, project, org, carried);
  }

  private admitWith(input: AdmitInput, policy: ProjectPolicy | null, org: ProjectPolicy, carried: LimitedAdmission | null): MaybePromise<Admission> {
    const orgSpend = org.spend;
    // Most keys have no limit at all: answer before estimating anything (this runs on every request).
    if (!hasAnyLimit(input.record.limits, policy, orgSpend)) {
      carried?.handOver([], []);
      return NO_LIMITS;
    }
    const capped = input.record.limits?.spend_limit
      ? 'this API key has a spend limit'
      : policy?.spend?.thresholdCents && policy.spend.enforced
        ? "this key's project has a spend limit"
        : orgSpend?.thresholdCents && orgSpend.enforced
          ? 'the organization has a spend limit'
          : null;
    if (capped) refuseUnmetered(input.plan, capped);
    if (policy?.rateLimits.some((rl) => rl.model !== '*')) {
      if (input.modelsIgnoreCase && input.model !== null) refuseOtherSpelling(input.model, policy);
      refuseUnlimitedModel(input, policy);
    }
    return this.admitLimited(input, policy, orgSpend, capped !== null, carried);
  }

  /** The key's plan for `model` at `nowMs`: the cached one while it holds, else planned anew. */
  private planFor(record: KeyRecord, policy: ProjectPolicy | null, orgSpend: SpendPolicy | null, model: string | null, nowMs: number): LimitPlan {
    const hit = this.plans.get(record);
    if (hit && hit.policy === policy && hit.orgSpend === orgSpend && (hit.model === undefined || hit.model === model) && planHolds(hit.plan, nowMs)) return hit.plan;
    const plan = planLimits(record, policy, orgSpend, model, nowMs);
    const perModel = policy?.rateLimits.some((rl) => rl.model !== '*') ?? false;
    this.plans.set(record, { plan, policy, orgSpend, model: perModel ? model : undefined });
    return plan;
  }

  private admitLimited(
    input: AdmitInput,
    policy: ProjectPolicy | null,
    orgSpend: SpendPolicy | null,
    hardCap: boolean,
    carried: LimitedAdmission | null,
  ): MaybePromise<Admission> {
    const { record, model, nowMs } = input;
    const limits = this.planFor(record, policy, orgSpend, model, input.periodAtMs ?? nowMs);
    if (limits.rates.length === 0 && limits.counters.length === 0) {
      carried?.handOver([], []);
      return NO_LIMITS;
    }
    const { plan } = input;
    const tpm = limits.rates.some((r) => r.kind === 'tpm');
    if (tpm) refuseUncountedTokens(input, limits);
    // Tokens are estimated for token-billed calls only; the other kinds reserve what their plan estimates (what a
    // TPM limit cannot count at all was refused above). TPM reserves the usual estimate (text as OpenAI's own limiter
    // reckons it, images at a usual image's tokens and up to the hard cap's allowance, input by reference up to the whole limit); a hard spend cap
    // reserves what the request can cost at most (input bounded from above, output its max_tokens or else the model's
    // largest answer), so that a burst of concurrent calls cannot overshoot the cap (docs/metering.md); input the body
    // names but does not carry (a stored response, a file by id) is reserved at the model's largest input. Each is
    // computed only when read.
    const tokens = plan.kind === 'tokens';
    const needsEstimate = tokens && (tpm || (!hardCap && limits.counters.some((c) => c.kind !== 'quota')));
    const estimate = needsEstimate ? estimateTokens(input.body, input.endpoint, this.opts.defaultMaxOutputTokens, imagePartTokens(model)) : NO_ESTIMATE;
    const estTokens = estimate.input + estimate.output;
    // Input by reference (a stored response or conversation, a file by id) may be anything up to the model's largest:
    // each TPM limit reserves it up to its whole limit (limitChecks), as the gateway knows no smaller size for it.
    // Hosted tools (file search, web search, MCP servers, …) bring into the input what the provider fetches, which no
    // body shows: reserved the same way (20 concurrent file searches billed 400k tokens under a 1,000-token limit).
    const tpmByReference = tpm && (estimate.byReference || plan.family === HOSTED_TOOLS);
    // Images likewise: counted at a usual image's tokens, reserved up to the most they may cost, at most the whole limit
    // (so that a burst of them cannot pass it, and an image never makes a request "too large" for a limit its text fits).
    const atMostTokens = tpmByReference
      ? maxInputTokens(model, () => plan.price?.max_input_tokens) + estimate.output
      : tpm && estimate.inputAtMost > estimate.input
        ? estimate.inputAtMost + estimate.output
        : 0;
    let estCost = 0;
    let byReference = false;
    if (!tokens) estCost = plan.estimateNano;
    else if (limits.counters.some((c) => c.kind !== 'quota')) {
      // At the rates of the tier (priority, flex) and of Anthropic's fast mode the request asks for, when its price has
      // them (core/metering-plan.ts).
      if (hardCap) {
        const price = plan.price;
        const bound = boundTokens(
          input.body,
          input.endpoint,
          maxOutputTokens(model, () => price?.max_output_tokens),
          maxInputTokens(model, () => price?.max_input_tokens),
          imagePartTokens(model),
        );
        byReference = bound.byReference;
        estCost = boundCostNanoUsd(price, bound, plan.tier, plan.speed);
      } else estCost = costNanoUsd(plan.price, { input: estimate.input, cached: 0, output: estimate.output }, plan.tier, plan.speed);
    }
    const checks = limitChecks(limits, estTokens, estCost, nowMs, atMostTokens);
    const onShared = chargesOn(this.opts.store, checks, carried);
    // `store`: the one that decided (the local store while the shared one fails open), which the settle goes to.
    const granted = (outcome: AcquireOutcome, store: LimitStore, { held, charged, takesOver }: Charges): Admission => {
      if (!outcome.allowed) {
        this.alertExhausted(outcome, charged.counters, limits, record);
        throw this.refusal(outcome, limits, charged.rates, charged.counters, record, model, byReference, plan.kind, nowMs, tpmByReference);
      }
      // A first admission the deciding store did not hold (the fallback charged in full) is released on its own store,
      // as a request that used nothing there.
      if (takesOver) carried?.takenOverBy(held, charged, outcome);
      else carried?.handOver([], []);
      return new LimitedAdmission(this, store, record, limits, held.rates, held.counters, outcome, headersOf(outcome, limits), nowMs);
    };
    let first: MaybePromise<AcquireOutcome>;
    try {
      // After an outage in which the local store admitted requests, the shared store counts them before it decides.
      first =
        this.recounts.size > 0
          ? this.recounted().then(() => this.opts.store.acquire(onShared.charged.rates, onShared.charged.counters, nowMs))
          : this.opts.store.acquire(onShared.charged.rates, onShared.charged.counters, nowMs);
    } catch (err) {
      first = Promise.reject(err);
    }
    // The in-process store decides at once: the request goes on without waiting for a microtask.
    if (!isPending(first) && !first.missing?.length) return granted(first, this.opts.store, onShared);
    const onLocal = () => chargesOn(this.opts.localStore, checks, carried);
    return this.decideLater(first, record, limits, onShared, onLocal, nowMs).then((d) => granted(d.outcome, d.store, d.charges));
  }

  /**
   * The decision of the shared store, a store that lacked counters or buckets (seeded, then asked again), or a failed
   * store; `onShared` is what is charged on the shared store, `onLocal()` what the local store would be charged.
   */
  private async decideLater(
    first: MaybePromise<AcquireOutcome>,
    record: KeyRecord,
    limits: LimitPlan,
    onShared: Charges,
    onLocal: () => Charges,
    nowMs: number,
  ): Promise<{ outcome: AcquireOutcome; store: LimitStore; charges: Charges }> {
    const store = this.opts.store;
    try {
      const outcome = await first;
      if (!outcome.missing?.length) return { outcome, store, charges: onShared };
      return { ...(await this.acquireSeeded(store, record, limits, () => onShared, nowMs, outcome)), store };
    } catch (err) {
      // Given up on: cancelled, so that an acquire Redis runs late (or ran, its answer lost) charges nothing.
      if (err instanceof UnansweredAcquire) this.land((now) => err.cancel(now));
      const decided = await this.acquireFallback(err, record, limits, onLocal, nowMs);
      if (decided.outcome.allowed) this.chargedLocally(decided.charges.held.rates, decided.charges.held.counters);
      return { ...decided, store: this.opts.localStore };
    }
  }

  /** After a failure of the shared store: refuse (fail-closed), or decide on the local store (fail-open), charging it `onLocal()`. */
  private async acquireFallback(
    err: unknown,
    record: KeyRecord,
    plan: LimitPlan,
    onLocal: () => Charges,
    nowMs: number,
  ): Promise<{ outcome: AcquireOutcome; charges: Charges }> {
    if (err instanceof TollgateError) throw err;
    // Only a counter that can refuse fails closed: spend alerts and a limit that is only watched never refuse, so
    // they are counted on the local store meanwhile rather than turning every request away.
    if (plan.counters.some((c) => c.storeCap < Number.MAX_SAFE_INTEGER) && this.opts.budgetFailure === 'closed') {
      this.opts.onStoreError(err, 'closed');
      throw new TollgateError('service_unavailable', 'Budgets cannot be checked right now (limit store unavailable); the request was not forwarded. Try again shortly.');
    }
    if (plan.rates.length > 0 && this.opts.rateLimitFailure === 'closed') {
      this.opts.onStoreError(err, 'closed');
      throw new TollgateError('service_unavailable', 'Rate limits cannot be checked right now (limit store unavailable). Try again shortly.');
    }
    this.opts.onStoreError(err, 'open');
    this.startOutage();
    return this.acquireSeeded(this.opts.localStore, record, plan, onLocal, nowMs);
  }

  /** The shared store's recoveries when the local store last decided for it. */
  private outage = -1;

  /**
   * Empties the local store when the shared one has come back since it last decided (a new outage): what it counted
   * then, and seeded from stored usage then, knows nothing of what was used through the shared store since, and it
   * is seeded again. Kept, a key's RPD bucket of the first outage let it use nearly its whole day again in the second
   * (found by an outside review: 16 requests of an RPD of 10), as did its quota and budget counters under fail-open.
   */
  private startOutage(): void {
    const { store, localStore } = this.opts;
    if (store === localStore) return;
    const recoveries = store.recoveries?.() ?? 0;
    if (recoveries === this.outage) return;
    this.outage = recoveries;
    localStore.reset?.();
  }

  /**
   * Decides; a counter or RPD bucket the store lacks is seeded from stored usage (services/limit-seeding.ts: once per
   * key and period, or per start) and the decision retried, three decisions in all. `first` is a decision already
   * made, which named missing keys. Each decision charges `charge()`, reckoned just before it (nothing awaited between):
   * a fallback's charges depend on whether the store still holds its first admission, which a new outage begun by
   * another request meanwhile empties.
   */
  private async acquireSeeded(
    store: LimitStore,
    record: KeyRecord,
    plan: LimitPlan,
    charge: () => Charges,
    nowMs: number,
    first?: AcquireOutcome,
  ): Promise<{ outcome: AcquireOutcome; charges: Charges }> {
    let charges = charge();
    let outcome = first ?? (await store.acquire(charges.charged.rates, charges.charged.counters, nowMs));
    for (let attempt = 1; ; attempt++) {
      if (!outcome.missing?.length) return { outcome, charges };
      // The store lacks them: a new period (nothing recorded in it yet), a changed limit (its setting names a new
      // bucket or counter: core/limit-plan.ts, rpd_rev, quota_rev, spend_rev), Redis lost them mid-period, or the local
      // store starts a new outage of Redis (startOutage). This instance's usage not yet written is written first, on
      // any store: left out, a key that used up its RPD of 5 on the in-process store, raised to 6, was let through 6
      // more (found by a review: what a flush interval had not written yet was missing from the count).
      // Waited for a moment at most: at a new period (the common case of a missing counter) nothing of it is
      // recorded yet, and the period's first request must not wait on a slow database write.
      if (this.opts.writeRecordedUsage) await settledWithin(this.opts.writeRecordedUsage(), RECORDED_USAGE_WAIT_MS);
      for (const key of outcome.missing) await this.seeding.seed(store, record, plan, key);
      if (attempt === 3) throw new Error('limit store lost counters or buckets while seeding them');
      // Decided again at the time the seed was made or later: a seeded bucket is set from the clock of its query, and
      // deciding at the earlier time of the request's arrival took that bucket as a few milliseconds fuller than it
      // was (a key's last request of the day was refused right after a restart).
      nowMs = Math.max(nowMs, this.deps.clock());
      charges = charge();
      outcome = await store.acquire(charges.charged.rates, charges.charged.counters, nowMs);
    }
  }

  /**
   * The counters and RPD buckets the local store charged while the shared store failed, each with the number of its
   * last charge or settle: what the shared store never counted. Once it answers again they are dropped there and
   * counted again from stored usage (recount), before it decides anything. Kept, Redis thawed with its counts of
   * before the outage and handed a key what it had used meanwhile once more (found by a review: an RPD of 10 and a
   * quota of 10 each let 12 requests through, more with more instances).
   */
  private readonly recounts = new Map<string, { mark: number; rate: boolean }>();
  private recountMarks = 0;
  private recounting: Promise<void> | null = null;
  private recountTimer: NodeJS.Timeout | null = null;

  /**
   * Notes that the local store charged (or settled: its usage is recorded) `rates` and `counters` for the shared store
   * that failed: their keys are to be counted again from stored usage once it answers. RPM and TPM are not: they live in
   * the limit store only.
   */
  private chargedLocally(rates: readonly RateCheck[], counters: readonly CounterCheck[]): void {
    const { store, localStore } = this.opts;
    if (store === localStore || !store.forget) return;
    for (const r of rates) if (r.seedable) this.recounts.set(r.key, { mark: ++this.recountMarks, rate: true });
    for (const c of counters) this.recounts.set(c.keys[0], { mark: ++this.recountMarks, rate: false });
    this.scheduleRecount();
  }

  /** A request admitted on `store` is settled: its usage is recorded (metering records it before settling). */
  settledOn(store: LimitStore, rates: readonly RateCheck[], counters: readonly CounterCheck[]): void {
    if (store === this.opts.localStore) this.chargedLocally(rates, counters);
  }

  /** Keys the local store charged during an outage, not yet counted again on the shared store (diagnostics and tests). */
  get pendingRecounts(): number {
    return this.recounts.size;
  }

  /** The recount under way, or a new one: the decisions that wait for it share it. */
  private recounted(): Promise<void> {
    this.recounting ??= this.recount().finally(() => {
      this.recounting = null;
    });
    return this.recounting;
  }

  /**
   * Puts the shared store right after an outage: once it answers, the settles and cancels kept for it are tried (a
   * cancel landing after the recount would lower the count made anew), this instance's recorded usage is written, and
   * the counters and RPD buckets the local store charged are dropped there, to be counted again from stored usage (the
   * missing-key path) by the next decision that needs them: what every instance used, through Redis or on its own
   * store, as far as it is written. Fails while the shared store does (the decision then falls back as before).
   */
  private async recount(): Promise<void> {
    const { store } = this.opts;
    if (!store.forget) return;
    await store.health?.ping();
    if (this.retries.length > 0) await this.retrySettles();
    // Taken before the usage is written: a key charged or settled after this is put right again by a later recount.
    const taken = [...this.recounts];
    if (this.opts.writeRecordedUsage) await settledWithin(this.opts.writeRecordedUsage(), RECOUNT_USAGE_WAIT_MS);
    await store.forget(
      taken.filter(([, v]) => !v.rate).map(([k]) => k),
      taken.filter(([, v]) => v.rate).map(([k]) => k),
    );
    for (const [key, v] of taken) if (this.recounts.get(key)?.mark === v.mark) this.recounts.delete(key);
  }

  /** Tries the recount every RECOUNT_RETRY_MS while keys wait for it: an instance that serves nothing after the outage puts right what it admitted too. */
  private scheduleRecount(): void {
    if (this.recountTimer || this.recounts.size === 0) return;
    this.recountTimer = setTimeout(() => {
      this.recountTimer = null;
      const again = () => this.scheduleRecount();
      this.recounted().then(again, again);
    }, RECOUNT_RETRY_MS);
    this.recountTimer.unref?.();
  }

  /** Tells that `used` nano-dollars of `m` reached alert `a`. */
  alert(record: KeyRecord, m: PlannedCounter, used: number, a: PlannedAlert): void {
    this.opts.onAlert({
      scope: m.kind === 'key_budget' ? 'api_key' : m.kind === 'org_budget' ? 'organization' : 'project',
      scopeId: m.scopeId,
      orgId: record.orgId,
      projectId: record.projectId,
      period: m.period,
      percent: a.percent,
      thresholdNanoUsd: a.atNano,
      usedNanoUsd: used,
      capNanoUsd: m.cap < Number.MAX_SAFE_INTEGER ? m.cap : null,
      spendAlert: a.spendAlert,
      // Only a rolling window sums several keys, one per day: `<prefix>:d2026-05-12`.
      earlierPeriods: m.keys.slice(1).map((k) => k.slice(k.lastIndexOf(':') + 1)),
    });
  }

  /**
   * Settles a granted request's estimates to what it used (`LimitedAdmission.settle`), on the store that admitted it.
   * A settle the store fails (Redis unreachable for a moment) is kept and tried again until it lands: dropped, the
   * reservation stayed counted as spent for the rest of the period (found by an outside review). A counter seeded
   * again meanwhile is left alone by the late settle (its epoch), as is all the local store holds once a new outage
   * emptied it (its `generation`: core/limit-store.ts).
   */
  adjust(
    store: LimitStore,
    rates: Parameters<LimitStore['adjust']>[0],
    counters: Parameters<LimitStore['adjust']>[1],
    generation?: number,
    onSettled?: (settled: SettledCounters) => void,
  ): void {
    this.land(
      (now) => store.adjust(rates, counters, now, generation),
      onSettled && ((settled) => settled && onSettled(settled)),
    );
  }

  /**
   * Applies `write` (a settle, or the cancel of an acquire given up on) at the clock's time; one the store fails is
   * kept and tried again until it lands. Each is applied once however often it is tried (core/limit-store.ts).
   * `landed` is given the store's answer once it lands; it must not throw (a throw would be taken for the store's).
   */
  private land<T>(write: (nowMs: number) => MaybePromise<T>, landed?: (answer: T) => void): void {
    const tried = (nowMs: number): MaybePromise<void> =>
      andThen(write(nowMs), (answer) => {
        landed?.(answer);
      });
    try {
      const done = tried(this.deps.clock());
      if (isPending(done)) {
        this.writing++;
        done.then(
          () => this.writing--,
          (err) => {
            this.writing--;
            this.unsettled(tried, err);
          },
        );
      }
    } catch (err) {
      this.unsettled(tried, err);
    }
  }

  /** Settles and cancels sent to the store and not answered yet. */
  private writing = 0;

  async landed(ms: number): Promise<number> {
    const until = performance.now() + ms;
    while (this.writing > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
    // Those the store refused are tried once more now: their backed-off timer may be 30 s away.
    if (this.retries.length > 0 && performance.now() < until) await settledWithin(this.retrySettles(), Math.max(0, until - performance.now()));
    return this.writing + this.retries.length;
  }

  /** Settles and cancels a store refused, in order, to be tried again. */
  private readonly retries: Array<(nowMs: number) => MaybePromise<void>> = [];
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelayMs = SETTLE_RETRY_MS;

  private unsettled(write: (nowMs: number) => MaybePromise<void>, err: unknown): void {
    this.opts.onStoreError(err, 'open');
    this.retries.push(write);
    // Bounded: past it the oldest is given up (its reservation stays counted: refusing early, never overspending).
    if (this.retries.length > MAX_UNSETTLED) this.retries.shift();
    this.retryTimer ??= setTimeout(() => void this.retrySettles(), this.retryDelayMs);
    this.retryTimer.unref?.();
  }

  /** Tries the kept settles again, in order; those still refused wait for the next try (backing off to 30 s). */
  retrySettles(): Promise<void> {
    this.retryTimer = null;
    // One pass at a time: a timer that fires while a pass waits on a slow store would apply the same settle twice.
    // A second caller waits for the pass under way.
    this.retryPass ??= this.retryPassNow().finally(() => {
      this.retryPass = null;
    });
    return this.retryPass;
  }

  private retryPass: Promise<void> | null = null;

  private async retryPassNow(): Promise<void> {
    while (this.retries.length > 0) {
      const next = this.retries[0];
      try {
        await next(this.deps.clock());
      } catch (err) {
        this.opts.onStoreError(err, 'open');
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, 30_000);
        this.retryTimer ??= setTimeout(() => void this.retrySettles(), this.retryDelayMs);
        this.retryTimer.unref?.();
        return;
      }
      this.retries.shift();
    }
    this.retryDelayMs = SETTLE_RETRY_MS;
  }

  /** Settles and cancels waiting to be tried again (diagnostics and tests). */
  get pendingSettles(): number {
    return this.retries.length;
  }

  /**
   * A budget that refuses a request is exhausted for new requests (spent and reserved leave no room for this one's
   * reservation): every alert it would have reached fires now, once per period, since with reservations the
   * recorded spend itself may stop short of the limit.
   */
  private alertExhausted(outcome: AcquireOutcome, counters: CounterCheck[], plan: LimitPlan, record: KeyRecord): void {
    outcome.counters.forEach((c, i) => {
      const m = plan.counters[i];
      if (c.allowed || m.kind === 'quota' || m.cap <= 0) return;
      for (const a of m.alerts) {
        if (c.used + counters[i].amount < a.atNano) continue;
        this.alert(record, m, c.used, a);
      }
    });
  }

  /** The refusal of a decision that did not allow; `byReference`: the request was reserved at its model's largest input. */
  private refusal(
    outcome: AcquireOutcome,
    plan: LimitPlan,
    rates: RateCheck[],
    counters: CounterCheck[],
    record: KeyRecord,
    model: string | null,
    byReference: boolean,
    kind: MeterPlan['kind'],
    nowMs: number,
    tpmByReference = false,
  ): TollgateError {
    // Of the counters that refused, one that nothing in flight can free first: its refusal is the one that lasts.
    const exhausted = outcome.counters.findIndex((c, i) => !c.allowed && isExhausted(c, counters[i].amount, plan.counters[i]));
    const failedCounter = exhausted >= 0 ? exhausted : outcome.counters.findIndex((c) => !c.allowed);
    if (failedCounter >= 0) {
      const m = plan.counters[failedCounter];
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
          : `${m.kind === 'key_budget' ? "This API key's" : m.kind === 'org_budget' ? "The organization's" : "The project's"} spend limit of $${(m.cap / 1e9).toFixed(2)} per ${m.interval} leaves no room for this request: $${(used / 1e9).toFixed(4)} is spent or reserved by requests in flight, and this one reserves up to $${(counters[failedCounter].amount / 1e9).toFixed(4)} (${reserved(kind, byReference, model)}).`;
      // A reservation larger than the whole limit never fits, whatever settles (found by an outside review: the SDKs
      // retried it twice, three refusals for one call); nor does one that what is spent leaves no room for, when no
      // request in flight holds a reservation whose settling could make room before the period resets.
      const neverFits = m.kind !== 'quota' && counters[failedCounter].amount > m.cap;
      const err = new TollgateError(
        code,
        m.kind === 'quota'
          ? `${what} Retrying will not help until the period resets or the limit is raised.`
          : neverFits
            ? `${what} It reserves more than the whole limit: retrying will not help; lower max_tokens (or the input), or raise the limit.`
            : exhausted >= 0
              ? `${what} No request in flight holds enough of it to make room: retrying will not help until the period resets or the limit is raised; a request reserving less may fit (lower max_tokens, or the input).`
              : `${what} Retrying helps only once requests in flight settle, the period resets or the limit is raised.`,
      );
      err.headers = headersOf(outcome, plan);
      err.limitState = limitStateOf(outcome, plan, nowMs);
      // OpenAI's and Anthropic's SDKs retry a 429 (twice by default) unless told not to: a used-up quota stays so, a
      // request larger than its budget never fits, and a budget nothing in flight can free stays full until its period
      // resets.
      if (m.kind === 'quota' || neverFits || exhausted >= 0) err.headers['x-should-retry'] = 'false';
      return err;
    }
    const i = latestRefusal(outcome);
    const d = outcome.rates[i];
    const m = plan.rates[i];
    const retryMs = Number.isFinite(d.retryAfterMs) ? d.retryAfterMs : 60_000;
    const where = m.scope.startsWith('k:') ? `API key ${record.id}` : `project ${record.projectId}${m.scope.endsWith(':*') ? '' : ` for ${model}`}`;
    const requested = rates[i].cost;
    const tooBig = !Number.isFinite(d.retryAfterMs);
    // Input by reference is reserved up to the whole limit: said, so that a client knows why a small prompt waits.
    const why =
      m.kind === 'tpm' && tpmByReference
        ? ' It names input by reference that the gateway cannot measure (a stored response or conversation, a file by id or URL, or what hosted tools such as file search, web search or MCP servers fetch), reserved at up to the whole limit until it is answered.'
        : '';
    const err = new TollgateError(
      'rate_limit_exceeded',
      tooBig
        ? `Request too large for ${where} on ${RATE_LABEL[m.kind]}: Limit ${m.limit}, Requested ${requested}. Reduce the prompt or max_tokens.${why}`
        : `Rate limit reached for ${where} on ${RATE_LABEL[m.kind]}: Limit ${m.limit}, Used ${m.limit - d.remaining}, Requested ${requested}. Please try again in ${formatResetDuration(retryMs)}.${why}`,
    );
    err.headers = { ...headersOf(outcome, plan), 'retry-after': String(Math.max(1, Math.ceil(retryMs / 1000))), 'retry-after-ms': String(Math.ceil(retryMs)) };
    err.limitState = limitStateOf(outcome, plan, nowMs);
    // A request larger than the limit itself never fits, and a long wait (an RPD's day, a TPM bucket deep in debt) is
    // not one to sleep through: the SDKs are told not to retry either (OpenAI's Node SDK sleeps whatever retry-after-ms
    // says, unbounded, inside one call: an RPD refusal held it for a day; found by a review). The wait is still told.
    if (tooBig || retryMs > LONGEST_RETRIED_WAIT_MS) err.headers['x-should-retry'] = 'false';
    return err;
  }
}

const NO_ESTIMATE = { input: 0, output: 0, byReference: false, inputAtMost: 0 };

/** The longest rate-limit wait an SDK is left to retry after (OpenAI's Python SDK ignores a longer retry-after too). */
const LONGEST_RETRIED_WAIT_MS = 60_000;

/**
 * Whether a refused budget counter stays refusing until its period resets: what is spent, without the reservations of
 * the requests in flight (which their settles may give back), leaves no room for `amount`. Unknown (a store that cannot
 * tell what is in flight): not taken to be.
 */
function isExhausted(c: AcquireOutcome['counters'][number], amount: number, m: PlannedCounter): boolean {
  if (m.kind === 'quota' || c.inFlight === undefined) return false;
  return c.used - c.inFlight + amount > m.storeCap;
}

/**
 * What a request holds in each bucket and counter once admitted (`held`), what its decision charges (`charged`), and
 * whether it takes over a first admission the deciding store holds (a fallback's: then `charged` is what it adds).
 */
interface Charges {
  held: { rates: RateCheck[]; counters: CounterCheck[] };
  charged: { rates: RateCheck[]; counters: CounterCheck[] };
  takesOver: boolean;
}

/**
 * What deciding a request with `checks` on `store` charges: all of them, or for a fallback whose first admission
 * (`carried`) the same store holds, only what that one does not already hold. A first admission on the other store
 * (one side of a Redis outage, the fallback the other) holds nothing here: the fallback is charged in full, and the
 * first is released on its own store (found by an outside review: a fallback on Redis of a request first admitted
 * locally settled the local reservation onto Redis, taking it below zero).
 */
function chargesOn(store: LimitStore, checks: Charges['held'], carried: LimitedAdmission | null): Charges {
  if (!carried?.heldOn(store)) return { held: checks, charged: checks, takesOver: false };
  const held = { rates: checks.rates.slice(), counters: checks.counters.slice() };
  return { held, charged: carried.extraCharges(held), takesOver: true };
}

/** Refuses a model that spells a name one of the project's per-model limits is for otherwise (core/model-spelling.ts). */
function refuseOtherSpelling(model: string, policy: ProjectPolicy): void {
  const found = otherSpelling(
    model,
    [policy.rateLimits.filter((rl) => rl.model !== '*').map((rl) => rl.model)],
  );
  if (found !== null) throw otherSpellingRefused(model, found);
}

/**
 * For a project that limits requests per model, refuses a request that would run a model none of those limits counts:
 * one left to the upstream's default (an image, a moderation, a video naming none: core/model-use.ts `defaulted`), one
 * the request does not name at all (`hidden`: a batch's input file, a realtime client secret's session, a run or job
 * it makes go on, a remix's source), or a limited model named deeper in the body than the request's own (each request
 * of an Anthropic message batch, up to 100,000 of them, a tool's or a grader's model), which would be counted once, as
 * the request's model or as none.
 */
function refuseUnlimitedModel(input: AdmitInput, policy: ProjectPolicy): void {
  const project = "This key's project limits requests per model";
  const use = input.method === undefined ? null : modelUseOf(input.method, input.endpoint);
  if (input.model === null && use === 'defaulted') {
    throw new TollgateError('missing_required_parameter', `${project}: name the model (the 'model' parameter), not the upstream's default.`, 'model');
  }
  if (use === 'hidden') {
    throw new TollgateError(
      'insufficient_permissions',
      `${project}, and ${input.method} /v1${input.endpoint} runs a model that its request does not name, which no per-model limit could count: the request was not forwarded. Use a key of a project without per-model rate limits.`,
      'model',
    );
  }
  if (input.body === null) return;
  const nested = nestedModels(input.body);
  if (nested === null) throw new TollgateError('invalid_value', `${project}, and this body is nested too deeply to check the models it names.`, 'model');
  if (nested.length === 0) return;
  const own = input.model === null ? [] : limitedAs(input.model);
  for (const name of nested) {
    const limited = limitedAs(name).find((n) => !own.includes(n) && policy.rateLimits.some((rl) => rl.model === n));
    if (limited === undefined) continue;
    throw new TollgateError(
      'insufficient_permissions',
      `${project}, and this request runs '${limited}' (named inside its body) beside ${input.model === null ? 'no model of its own' : `its model '${input.model}'`}: the limits for '${limited}' could not count it, and the request was not forwarded. Send it to that model's own endpoint, or use a key of a project without a limit for '${limited}'.`,
      'model',
    );
  }
}

/**
 * Refuses, under a TPM limit (`limits` has one), a request that runs a model whose tokens the gateway never counts: one
 * that runs a model its request does not name (`hidden`: a batch's input file, a realtime client secret's session, a
 * run or job it makes go on), and one billed outside the answers the gateway meters (`unmetered`: assistants runs,
 * fine-tuning, realtime sessions, videos, background responses) that runs a model, by its endpoint or by naming one
 * (Anthropic's message batches name theirs in each request). Forwarded, each was charged 0 tokens however many it ran
 * (found by an outside review: a batch passed a 10 TPM limit). Requests that run no model (reads, uploads, vector
 * stores) are let through, as per-model limits let them (refuseUnlimitedModel).
 */
function refuseUncountedTokens(input: AdmitInput, limits: LimitPlan): void {
  const use = input.method === undefined ? null : modelUseOf(input.method, input.endpoint);
  const { plan } = input;
  let how: string;
  if (use === 'hidden') how = 'runs a model that its request does not name, whose tokens the gateway never sees';
  else if (plan.kind === 'unmetered' && plan.family !== PROVIDER_VECTOR_STORES && (use !== null || input.model !== null || namesModels(input))) {
    how = `runs a model whose tokens are billed outside the answers the gateway meters (${plan.family})`;
  } else return;
  const rate = limits.rates.find((r) => r.kind === 'tpm') as LimitPlan['rates'][number];
  const whose = rate.scope.startsWith('k:') ? "This API key's token limit" : rate.model === '*' ? "This key's project's token limit" : `This key's project's token limit for '${rate.model}'`;
  throw new TollgateError(
    'insufficient_permissions',
    `${whose} (${RATE_LABEL.tpm}) cannot count this request: ${input.method ?? 'POST'} /v1${input.endpoint} ${how}, and the request was not forwarded. Use a key without a TPM limit (in a project without one) for it.`,
    use === 'hidden' ? 'model' : plan.param,
  );
}

/**
 * The endpoints that run models named below their body's top level: Anthropic's message batches
 * (`requests[].params.model`) and OpenAI's grader runs (`grader.model`). Elsewhere a nested `model` is data (metadata,
 * a vector store file's attributes, an eval's stored graders that run only with its runs): a vector store with
 * `metadata: {model: …}` was refused as running a model.
 */
const NESTED_MODEL_RUNS: ReadonlySet<string> = new Set(['/messages/batches', '/fine_tuning/alpha/graders/run']);

/** Whether a request runs a model named below its body's top level (NESTED_MODEL_RUNS), or is too deep to tell. */
function namesModels(input: AdmitInput): boolean {
  if (input.body === null || !NESTED_MODEL_RUNS.has(input.endpoint)) return false;
  const nested = nestedModels(input.body);
  return nested === null || nested.length > 0;
}

/** What a refused request's reservation is made of, and how to make it smaller. */
function reserved(kind: MeterPlan['kind'], byReference: boolean, model: string | null): string {
  if (kind === 'transcription') return 'the seconds of audio its upload may hold, at the lowest bitrate speech is sent at';
  if (kind !== 'tokens') return 'what it may cost at most';
  const answer = "its max_tokens, or else the model's largest answer: set max_tokens to reserve less";
  if (!byReference) return answer;
  return `its input at the most ${model === null ? 'the model' : `'${model}'`} can read, since it names input by reference that the gateway cannot measure: a stored response or conversation, a file by id or URL, an inline file; and ${answer}, or use a model with a smaller context window`;
}

/** A granted request under limits: its headers, and what settling it needs (the plan is shared with the key's other requests). */
class LimitedAdmission implements Admission {
  private settled = false;

  /**
   * `rates` and `counters` are what the request holds in each bucket and counter (its TPM estimate, its budget
   * reservation), which settling moves to the real amounts.
   */
  constructor(
    private readonly guard: LimitsGuard,
    /** The store that admitted the request, which its settle goes to. */
    private readonly store: LimitStore,
    private readonly record: KeyRecord,
    private readonly plan: LimitPlan,
    private readonly rates: RateCheck[],
    private readonly counters: CounterCheck[],
    private readonly outcome: AcquireOutcome,
    readonly headers: Record<string, string>,
    /** When the store decided (what the outcome's resets count from). */
    private readonly decidedAtMs: number,
  ) {}

  limitState(): LimitState {
    return limitStateOf(this.outcome, this.plan, this.decidedAtMs);
  }

  get isSettled(): boolean {
    return this.settled;
  }

  /** Whether `store` holds this request's reservations: the store that admitted it, not emptied since (its generation). */
  heldOn(store: LimitStore): boolean {
    return this.store === store && this.outcome.generation === store.generation;
  }

  /**
   * What a fallback admission of the same request (`held`: the checks of the fallback model's plan) must still
   * charge, given what this one holds: nothing more for a bucket or counter both share (the key's and every-model
   * limits, the quota, the budgets), only what the fallback reserves beyond this one's reservation (a higher TPM
   * estimate, a pricier model's cost); in full for the fallback model's own limits. `held` is raised to what the
   * request will then hold in each (never less than this one held), the amounts its settling starts from.
   */
  extraCharges(held: { rates: RateCheck[]; counters: CounterCheck[] }): { rates: RateCheck[]; counters: CounterCheck[] } {
    const rates = held.rates.map((r, i) => {
      const j = this.rates.findIndex((p) => p.key === r.key);
      if (j < 0) return r;
      const before = this.rates[j].cost;
      const tpm = this.plan.rates[j].kind === 'tpm';
      const total = tpm ? Math.max(before, r.cost) : before;
      held.rates[i] = { ...r, cost: total };
      return { ...r, cost: total - before };
    });
    const counters = held.counters.map((c, i) => {
      const j = this.counters.findIndex((p) => p.keys[0] === c.keys[0]);
      if (j < 0) return c;
      const before = this.counters[j].amount;
      const total = Math.max(before, c.amount);
      held.counters[i] = { ...c, amount: total };
      return { ...c, amount: total - before };
    });
    return { rates, counters };
  }

  /**
   * Hands this admission over to the fallback admission decided in `outcome` on the same store, which charged
   * `charged` to hold `held` (extraCharges). A counter seeded again since this one charged it (another epoch: Redis lost
   * it) never held this one's reservation: the fallback holds there only what it charged, or its settle gave the
   * reservation back to a count of stored usage that never held it.
   */
  takenOverBy(held: Charges['held'], charged: Charges['charged'], outcome: AcquireOutcome): void {
    for (let i = 0; i < held.counters.length; i++) {
      const epoch = outcome.counters[i]?.epoch;
      if (epoch === undefined) continue;
      const j = this.counters.findIndex((p) => p.keys[0] === held.counters[i].keys[0]);
      if (j >= 0 && this.outcome.counters[j]?.epoch !== epoch) held.counters[i] = charged.counters[i];
    }
    this.handOver(held.rates, held.counters);
  }

  /**
   * Hands this admission over to a fallback admission holding `rates` and `counters`: what this one reserved in a
   * bucket or counter the fallback does not share (the first model's own TPM) is given back, as a request that used
   * nothing there; its requests stay counted. Settling this one afterwards does nothing.
   */
  handOver(rates: readonly RateCheck[], counters: readonly CounterCheck[]): void {
    if (this.settled) return;
    this.settled = true;
    const rateAdjust: Parameters<LimitStore['adjust']>[0] = [];
    for (let i = 0; i < this.rates.length; i++) {
      const r = this.rates[i];
      if (this.plan.rates[i].kind !== 'tpm' || r.cost === 0 || rates.some((n) => n.key === r.key)) continue;
      rateAdjust.push({ key: r.key, limit: r.limit, periodMs: r.periodMs, delta: -r.cost });
    }
    const counterAdjust: Parameters<LimitStore['adjust']>[1] = [];
    for (let i = 0; i < this.counters.length; i++) {
      const c = this.counters[i];
      if (this.plan.counters[i].kind === 'quota' || c.amount === 0 || counters.some((n) => n.keys[0] === c.keys[0])) continue;
      counterAdjust.push({ key: c.keys[0], delta: -c.amount, ttlSec: c.ttlSec, epoch: this.outcome.counters[i]?.epoch, release: c.amount });
    }
    if (rateAdjust.length || counterAdjust.length) this.guard.adjust(this.store, rateAdjust, counterAdjust, this.outcome.generation);
  }

  settle(actual: { tokens: TokenCounts; costNanoUsd: number; billable: boolean; notTheKeys?: boolean; unsent?: boolean }): void {
    if (this.settled) return;
    this.settled = true;
    const { plan, rates, counters } = this;
    // Admitted on the local store while the shared one failed: its usage, recorded now, is counted there again.
    this.guard.settledOn(this.store, rates, counters);
    const spent = actual.billable ? actual.costNanoUsd : 0;
    /** What this key's own budget is charged: nothing of a cost that is another key's (request-guard.ts). */
    const keySpent = actual.notTheKeys ? 0 : spent;
    // TPM is moved from the estimate to the real count; RPM/RPD keep a forwarded request whatever its outcome. One
    // never forwarded (`unsent`: an open breaker, no usable key, no connection) gives its request back: not counted, as
    // docs/metering.md has it, and recorded as refused, so that a seeding from stored usage agrees (a quota of 10 was
    // used up by 8 requests an open breaker refused, found by a review).
    const unsent = actual.unsent === true;
    const rateAdjust: Parameters<LimitStore['adjust']>[0] = [];
    const realTokens = actual.billable && !actual.notTheKeys ? actual.tokens.input + actual.tokens.output : 0;
    for (let i = 0; i < rates.length; i++) {
      const r = rates[i];
      const kind = plan.rates[i].kind;
      if (kind !== 'tpm') {
        if (unsent && r.cost !== 0) rateAdjust.push({ key: r.key, limit: r.limit, periodMs: r.periodMs, delta: -r.cost, seedable: r.seedable });
        continue;
      }
      const delta = realTokens - r.cost;
      if (delta === 0) continue;
      rateAdjust.push({ key: r.key, limit: r.limit, periodMs: r.periodMs, delta });
    }
    // A forwarded request keeps its place in the quota whatever its outcome: only money is settled. A counter with
    // alerts is always named (its settled spend is read back for them), with the keys it sums.
    const counterAdjust: Parameters<LimitStore['adjust']>[1] = [];
    const alerting: Array<{ m: PlannedCounter; at: number }> = [];
    for (let i = 0; i < counters.length; i++) {
      const m = plan.counters[i];
      if (m.kind === 'quota') {
        const c = counters[i];
        if (unsent && c.amount !== 0) counterAdjust.push({ key: c.keys[0], delta: -c.amount, ttlSec: c.ttlSec, epoch: this.outcome.counters[i]?.epoch });
        continue;
      }
      const c = counters[i];
      const delta = (m.kind === 'key_budget' ? keySpent : spent) - c.amount;
      const alerts = m.alerts.length > 0;
      // Its reservation is in flight no more, even when it cost just that.
      if (delta === 0 && c.amount === 0 && !alerts) continue;
      if (alerts) alerting.push({ m, at: counterAdjust.length });
      counterAdjust.push({ key: c.keys[0], delta, ttlSec: c.ttlSec, epoch: this.outcome.counters[i]?.epoch, release: c.amount, ...(alerts ? { keys: c.keys } : {}) });
    }
    if (rateAdjust.length === 0 && counterAdjust.length === 0) return;
    // Alerts are told of the counter's spend once this settle is applied, without what requests still in flight
    // reserve: the sum this request's admission saw held their reservations (a $5 alert told "spent $6.00024" of
    // $0.00015 spent, then claimed for the month), and missed the spend of requests settled since (two at once, $0.75
    // each, never told a $1 alert). A counter the settle left alone (seeded again since) tells nothing.
    const told = (settled: SettledCounters) => {
      for (const { m, at } of alerting) {
        const used = settled[at];
        if (used === null || used === undefined) continue;
        // Spend from zero: an alert at 0 cents is told of the month's first spend, not of nothing.
        for (const a of m.alerts) if (used >= a.atNano && used > 0) this.guard.alert(this.record, m, used, a);
      }
    };
    this.guard.adjust(this.store, rateAdjust, counterAdjust, this.outcome.generation, alerting.length > 0 ? told : undefined);
  }
}

/** Whether rate decision `a` binds harder than `b`: fewer remaining, or as few and a later reset. */
function tighter(a: AcquireOutcome['rates'][number], b: AcquireOutcome['rates'][number]): boolean {
  return a.remaining < b.remaining || (a.remaining === b.remaining && a.resetMs > b.resetMs);
}

/**
 * Of the rates that refused, the one whose refusal lasts longest (one that can never fit, first): retry-after must name
 * the moment every refusing limit lets the request through, not the first one's (an RPM's 30 s while an RPD refuses
 * for 12 h told clients to retry into another 429).
 */
function latestRefusal(outcome: AcquireOutcome): number {
  let at = -1;
  for (let i = 0; i < outcome.rates.length; i++) {
    const d = outcome.rates[i];
    if (d.allowed) continue;
    if (at < 0 || !(d.retryAfterMs <= outcome.rates[at].retryAfterMs)) at = i;
  }
  return at;
}

/**
 * The tightest rate of a kind (`tokens`: the TPM, else RPM or RPD), or -1; of two equally tight, the one that frees up
 * last (an RPM and an RPD both used up: the reset a client can wait for is the day's).
 */
function tightestRate(outcome: AcquireOutcome, plan: LimitPlan, tokens: boolean): number {
  let at = -1;
  for (let i = 0; i < outcome.rates.length; i++) {
    if ((plan.rates[i].kind === 'tpm') !== tokens) continue;
    if (at < 0 || tighter(outcome.rates[i], outcome.rates[at])) at = i;
  }
  return at;
}

/** The tightest request and token limits, with their resets as times (`nowMs`: the decision's). */
function limitStateOf(outcome: AcquireOutcome, plan: LimitPlan, nowMs: number): LimitState {
  const level = (i: number): LimitLevel | null =>
    i < 0 ? null : { limit: plan.rates[i].limit, remaining: outcome.rates[i].remaining, resetAtMs: nowMs + outcome.rates[i].resetMs };
  return { requests: level(tightestRate(outcome, plan, false)), tokens: level(tightestRate(outcome, plan, true)) };
}

/**
 * OpenAI's x-ratelimit-* headers from the tightest request limit (RPM or RPD) and the tightest token limit, and
 * Tollgate's remaining budget and request quota. Made for every answer under limits; Anthropic's names are made from
 * limitStateOf at the edge, for its clients only (http/gateway/limit-headers.ts).
 */
function headersOf(outcome: AcquireOutcome, plan: LimitPlan): Record<string, string> {
  const h: Record<string, string> = {};
  const req = tightestRate(outcome, plan, false);
  const tok = tightestRate(outcome, plan, true);
  if (req >= 0) {
    const d = outcome.rates[req];
    h['x-ratelimit-limit-requests'] = String(plan.rates[req].limit);
    h['x-ratelimit-remaining-requests'] = String(d.remaining);
    h['x-ratelimit-reset-requests'] = formatResetDuration(d.resetMs);
  }
  if (tok >= 0) {
    const d = outcome.rates[tok];
    h['x-ratelimit-limit-tokens'] = String(plan.rates[tok].limit);
    h['x-ratelimit-remaining-tokens'] = String(d.remaining);
    h['x-ratelimit-reset-tokens'] = formatResetDuration(d.resetMs);
  }
  let budget: number | null = null;
  let quota: number | null = null;
  for (let i = 0; i < outcome.counters.length; i++) {
    const m = plan.counters[i];
    const left = Math.max(0, m.cap - outcome.counters[i].used);
    if (m.kind === 'quota') quota = quota === null ? left : Math.min(quota, left);
    else if (m.cap < Number.MAX_SAFE_INTEGER) budget = budget === null ? left : Math.min(budget, left);
  }
  if (budget !== null) h['x-tollgate-remaining-budget-usd'] = nanoToUsdText6(budget);
  if (quota !== null) h['x-tollgate-remaining-requests-quota'] = String(quota);
  return h;
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
      plan.param,
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
