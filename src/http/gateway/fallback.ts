import type { ModelPlace } from '../../core/request-model.js';
import type { Fallback } from '../../core/routing.js';
import { isRetryableStatus, type Upstream, UpstreamFailure, type UpstreamResponse } from '../../core/upstream.js';
import { providerErrorText } from '../../core/provider-error.js';
import { judgeRateLimit } from '../../core/rate-limit.js';
import { isModelAllowed } from '../../core/permissions.js';
import { TollgateError } from '../../core/errors.js';
import { meterPlanOf } from './answer-metering.js';
import type { GatewayContext } from './gateway-context.js';
import type { Admission } from '../../core/request-guard.js';
import type { RequestInfo } from './proxy.js';
import type { GatewayRequest } from './request.js';
import { withModel } from './request-model.js';
import { isPending } from '../../core/maybe-promise.js';

// Fallbacks (issue 20 §3): when a route's provider cannot answer before anything reached the client, the request goes
// to the route's next fallback (another provider, another model, or both), at most the route's max_attempts in all,
// within the request's one deadline. Only what says the request did not run falls back: 429, 502/503/504 (after the
// provider's own credentials were tried), and a failure to connect; not a 429 the request brought on itself. A 500, a reset or a timeout may have run a POST
// and is answered as it is, never sent twice.

/** A request's way to its fallbacks: the route's list, and the request as the client sent it (to name another model). */
export interface FallbackPlan {
  fallbacks: readonly Fallback[];
  maxAttempts: number;
  /**
   * The route's model (the one the request asked for, after aliases): what a fallback naming no model sends, "the same
   * model on another provider", whichever fallback came before it.
   */
  model: string | null;
  /** The request before any model was substituted, and where it names its model. */
  original: GatewayRequest;
  places: ModelPlace[];
  /** Attempts made so far (the first included) and the next fallback's index. */
  attempts: number;
  next: number;
}

/** Whether an upstream's answer or failure lets the request fall back (nothing ran upstream, nothing was sent on). */
export function mayFallBack(outcome: { statusCode: number } | unknown): boolean {
  if (outcome instanceof UpstreamFailure) return outcome.notSent;
  const status = (outcome as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && isRetryableStatus(status);
}

/**
 * Whether an answer that may fall back (mayFallBack) is not a 429 the request brought on itself (rate-limit.ts: larger
 * than the limit, a long-context request): every fallback would be asked the same, and the client is better told to
 * shrink its request than sent round the routes. A provider with several keys judged its 429 already; one with a single
 * key did not, and its 429's body is read here (read again when relayed: readAll gives the same bytes). `sent`: the
 * body as sent, `model` the model it was sent for (its images are bounded at that model's allowance). Only reached for
 * a retryable answer of a route with fallbacks: nothing is read otherwise.
 */
export async function fallsBackOn(up: UpstreamResponse, sent: Buffer | null, model: string | null): Promise<boolean> {
  if (up.statusCode !== 429) return true;
  if (up.rateLimit === undefined) up.rateLimit = judgeRateLimit(up.headers, providerErrorText(await up.body.readAll()), sent, model);
  return up.rateLimit !== 'request';
}

export interface FallbackStep {
  upstream: Upstream;
  request: GatewayRequest;
  admission: Admission;
}

/** Where a request goes after an answer or failure that may fall back: on to a fallback, or nowhere. */
export type FallbackTurn =
  | { kind: 'step'; step: FallbackStep }
  | { kind: 'none' }
  /**
   * Its client left (or its deadline passed) while the fallback was decided: none is sent, and the answer or failure
   * before is the request's; `admission` is the request's now (a fallback model's, which took the first over) and is
   * settled with it, unbilled.
   */
  | { kind: 'left'; admission: Admission };

const NO_TURN: FallbackTurn = { kind: 'none' };

/**
 * The fallback a request whose answer or failure may fall back takes, unless nobody waits for it any more (`stopped`:
 * its client hung up or was answered at the first byte's timeout, or its deadline passed). Asked before and again
 * after each wait before the fallback is sent (the admission of another model, which may wait on the limit store; the
 * dropped answer's body, `dropped`, read so that its connection goes back to the pool): a client that left during one
 * got the fallback sent anyway, a whole answer then read on without it and billed (found by an outside review).
 */
export async function takeFallback(
  g: GatewayContext,
  plan: FallbackPlan,
  info: RequestInfo,
  admission: Admission,
  stopped: () => boolean,
  dropped: UpstreamResponse | null,
): Promise<FallbackTurn> {
  if (stopped()) return NO_TURN;
  const was = { provider: info.provider, model: info.model, plan: info.plan };
  const step = await nextFallback(g, plan, info, admission);
  if (step === null) return NO_TURN;
  // This answer is read and dropped (its connection goes back to the pool); the client has seen nothing of it.
  if (dropped !== null) await dropped.body.readAll().catch(() => undefined);
  if (!stopped()) return { kind: 'step', step };
  // Recorded as what answered before: the fallback was not sent.
  info.provider = was.provider;
  info.model = was.model;
  info.plan = was.plan;
  return { kind: 'left', admission: step.admission };
}

/**
 * The next fallback the request may take, with the request to send and its admission, or null. A fallback the key may
 * not use (its model allowlist) or whose provider is not configured is passed over. One naming another model is
 * admitted again as that model, taking over the first admission (`RequestGuard.admitFallback`): the key's own limits,
 * the project's for every model, the quota and the budgets count the request once; the fallback model's own limits
 * are checked, and a pricier model's extra cost is reserved, so a fallback can escape neither a limit nor a spend
 * limit. Refused, the request falls back no further. `info` is updated to the fallback's provider, model and plan:
 * the request is billed once, as what answered.
 */
export async function nextFallback(g: GatewayContext, plan: FallbackPlan, info: RequestInfo, admission: Admission): Promise<FallbackStep | null> {
  if (plan.attempts >= plan.maxAttempts) return null;
  while (plan.next < plan.fallbacks.length) {
    const fb = plan.fallbacks[plan.next++];
    const upstream = g.upstreams.get(fb.provider);
    // Not info.model: an earlier fallback to another model replaced it, and `{provider: alt}` after `{model: gpt-4o-mini}`
    // sent gpt-4o-mini to alt, a pair the load-time check (config/gateway-config.ts, routeOf) never saw (found by an
    // outside review).
    const model = fb.model ?? plan.model;
    if (!upstream || model === null || !isModelAllowed(info.record.allowedModels, model)) continue;
    plan.attempts++;
    if (model === info.model) {
      info.provider = upstream.name;
      return { upstream, request: withModel(plan.original, plan.places, model), admission };
    }
    const request = withModel(plan.original, plan.places, model);
    const metering = meterPlanOf(g, request, info.endpoint, info.body, model);
    let again: Admission;
    try {
      const admitted = g.guard.admitFallback(admission, { record: info.record, model, endpoint: info.endpoint, body: info.body, plan: metering, nowMs: g.app.deps.clock(), periodAtMs: info.startedMs }); // counted in the arrival's period, as the usage event
      again = isPending(admitted) ? await admitted : admitted;
    } catch (err) {
      if (err instanceof TollgateError) return null;
      throw err;
    }
    info.provider = upstream.name;
    info.model = model;
    info.plan = metering;
    return { upstream, request, admission: again };
  }
  return null;
}
