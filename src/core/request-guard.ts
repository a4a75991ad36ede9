import type { LimitState } from './limit-state.js';
import type { MeterPlan } from './metering-plan.js';
import type { TokenCounts } from './pricing.js';
import type { KeyRecord } from './verify.js';
import type { MaybePromise } from './maybe-promise.js';

/** What a limit or budget needs to decide on a request before it is forwarded. */
export interface AdmitInput {
  record: KeyRecord;
  model: string | null;
  endpoint: string;
  /** The parsed JSON body (for token estimates), or null. */
  body: Record<string, unknown> | null;
  /** How the request is metered: what it may cost, and whether a spend limit may let it through at all. */
  plan: MeterPlan;
  nowMs: number;
  /**
   * The time whose periods (day, week, month, a rolling window's days) quotas and budgets are counted in, when not
   * `nowMs`: a route's fallback, decided later, is counted in the period its request arrived in (as its usage event
   * is), while its rates are decided now.
   */
  periodAtMs?: number;
  /** The request's method, when it may run a model it does not name (a POST to an endpoint with a default model). */
  method?: string;
  /**
   * Its provider reads model names without regard to case (Azure: Upstream.modelsIgnoreCase): a model that is another
   * spelling of one a project's per-model limit names is refused (core/model-spelling.ts).
   */
  modelsIgnoreCase?: boolean;
}

/** A granted request: headers for the answer, and a settle call with the real usage once it is known. */
export interface Admission {
  /** OpenAI's `x-ratelimit-*` and Tollgate's `x-tollgate-remaining-*`, made with the decision. */
  headers: Record<string, string>;
  /** Where the request stands against its rate limits (for Anthropic's header names), made when asked. */
  limitState?(): LimitState;
  /**
   * `notTheKeys`: the cost is another key's of the same project (a background response another key created): the
   * project's and organization's budgets are charged, this key's own budget and token rates are not. `unsent`: nothing
   * of the request reached a provider (its breaker open, no usable key, no connection made): it was never forwarded,
   * and gives back its place in the request quota and the request rates (RPM, RPD), as a refusal never took one.
   */
  settle(actual: { tokens: TokenCounts; costNanoUsd: number; billable: boolean; notTheKeys?: boolean; unsent?: boolean }): void;
}

/**
 * The seam where rate limits, quotas and budgets plug into the gateway (checked after scope, before forwarding).
 * `admit` throws a TollgateError to refuse: 429 with headers over a limit, 403 for what a spend limit cannot see.
 * An admitted request counts against request quotas and RPM/RPD whatever its outcome: settling moves only tokens
 * and money.
 */
export interface RequestGuard {
  admit(input: AdmitInput): MaybePromise<Admission>;
  /**
   * Admits a request again as a fallback model (a route's fallback to another model, issue 20 §3), taking over
   * `previous`, the admission of the same request as the model it was first sent to. What does not depend on the model
   * (the key's RPM, RPD and TPM, the project's limits for every model, the request quota, the budgets) is charged once
   * for the request: only what the fallback adds is charged (its own per-model limits, the extra cost of a pricier
   * model). Granted, `previous` is settled (nothing it reserved for the first model alone stays held) and must not be
   * settled again; refused (throws, as `admit` does), `previous` is left as it was.
   */
  admitFallback(previous: Admission, input: AdmitInput): MaybePromise<Admission>;
  /**
   * For a shutdown, before the limit store closes: waits up to `ms` for the settles and cancels sent to it (and those
   * kept to be tried again) to land; resolves to how many have not.
   */
  landed?(ms: number): Promise<number>;
}
