import type { ApiFormat } from '../../core/anthropic-errors.js';
import type { MeterPlan } from '../../core/metering-plan.js';
import { costNanoUsd, pricesSpeed, pricesWebSearches, type TokenCounts, tokenParts } from '../../core/pricing.js';
import { requestedServiceTier } from '../../core/service-tier.js';
import type { UsageEvent, UsageOutcome } from '../../core/usage-event.js';
import type { KeyRecord } from '../../core/verify.js';
import type { GatewayContext } from './gateway-context.js';
import type { Admission } from '../../core/request-guard.js';
import { PROJECT_KEY_PREFIX } from '../../core/key-format.js';
import { redactKeysInText } from '../../core/key-search.js';

export interface Outcome {
  status: number;
  outcome: UsageOutcome;
  billable: boolean;
  tokens: TokenCounts;
  upstreamMs: number | null;
  streamed: boolean;
  errorCode: string | null;
  /** Images, characters or seconds billed (image, speech and transcription endpoints). */
  units?: number;
  /** The cost when it is not the plan's price of `tokens` at `serviceTier` (per image, character or second; an estimate). */
  costNanoUsd?: number;
  /** The model billed when it is not the request's (a retrieved background response's). */
  model?: string | null;
  /**
   * The key billed when it is not the request's: a background response is billed to the key that created it, whichever
   * key of its project retrieves it (that key's own budget is then not charged; its project's and organization's are).
   */
  billedKeyId?: string;
  /** Whether the billed model had a price, when it is not the plan's to say (a retrieved background response). */
  priced?: boolean;
  /** The service tier the answer named (core/service-tier.ts); else the request's is recorded. */
  serviceTier?: string | null;
  /**
   * The speed an Anthropic answer ran at, from its usage (core/speed.ts); null or absent when it reported none, and
   * then the plan's (fast mode, when the request asks for it and the model has fast rates).
   */
  speed?: string | null;
  /**
   * Nothing of the request reached a provider (its breaker open, no usable key, no connection made, on every attempt):
   * never forwarded, it is recorded as refused (with its status and code) and gives back its place in the quota and
   * the request rates (request-guard.ts), as docs/metering.md counts only forwarded requests.
   */
  unsent?: boolean;
}

export const NO_TOKENS: TokenCounts = { input: 0, cached: 0, output: 0 };

/** Builds and queues the usage event of one request; returns its cost in nano-dollars. */
export function meter(
  g: GatewayContext,
  r: {
    record: KeyRecord;
    model: string | null;
    provider: string | null;
    route: string;
    method: string;
    startedMs: number;
    requestId: string;
    upstreamRequestId: string | null;
    /** The provider credential that answered (its id), when one did. */
    credential?: string | null;
    plan?: MeterPlan;
    /** The request's JSON body (the service tier it asked for). */
    body?: Record<string, unknown> | null;
    /** The client's API (whose names the body's service tier is in). */
    format?: ApiFormat;
  },
  o: Outcome,
): number {
  // The tier the request ran at: the answer's, else the one it asked for. It is billed at that tier's rates (the
  // standard ones when the price has none for it), whatever it reserved at.
  const serviceTier = o.serviceTier ?? requestedServiceTier(r.body, r.format);
  // Anthropic's speed likewise: the answer's usage says what ran (fast is billed at the model's fast rates, whatever
  // was asked); an answer without usage, whose tokens are counted here, at the fast mode it was reserved at.
  const speed = o.speed ?? r.plan?.speed ?? null;
  const price = r.plan?.price ?? null;
  // An unpriced model is billed at 0 and flagged (only keys without a spend limit get this far with one); an answer
  // that ran fast on a model without fast rates is billed at the standard rates, and flagged too, as is one that ran
  // web searches for a model without a price for them (its tokens billed, its searches not: never silently free).
  const cost = o.billable ? (o.costNanoUsd ?? costNanoUsd(price, o.tokens, serviceTier, speed)) : 0;
  const priced =
    o.priced ?? ((r.plan?.priced ?? true) && (o.costNanoUsd !== undefined || price === null || (pricesSpeed(price, speed) && pricesWebSearches(price, o.tokens))));
  const now = g.app.deps.clock();
  const t = o.tokens;
  // Tokens are a billed request's, and those a free model call's answer reported (a moderation: counted, never billed).
  const counted = o.billable || (o.outcome === 'ok' && r.plan?.freeModelCall === true);
  // Text-only requests (nearly all) skip the split: their parts are all 0.
  const parts = o.billable && (t.cacheWrite || t.cacheWrite1h || t.audioInput || t.audioOutput || t.imageInput || t.imageOutput) ? tokenParts(t) : null;
  const event: UsageEvent = {
    id: g.newEventId(),
    // When the request arrived, whose period its limits and budgets were charged in: a request that ends after a
    // period boundary (midnight, a month's end) is that period's in every report, as it is in the budget's counter.
    createdAtMs: r.startedMs,
    orgId: r.record.orgId,
    projectId: r.record.projectId,
    apiKeyId: o.billedKeyId ?? r.record.id,
    model: recordedModel(o.model === undefined ? (r.model ?? r.plan?.model ?? null) : o.model),
    provider: r.provider,
    endpoint: r.route,
    method: r.method,
    status: o.status,
    outcome: o.unsent ? 'refused' : o.outcome,
    billable: o.billable,
    inputTokens: counted ? o.tokens.input : 0,
    // The cached tokens billed: never more than the input they are part of (as tokenParts bills them), though an
    // upstream reported more; recorded as sent, the Usage API's cached tokens exceeded the input.
    cachedTokens: counted ? Math.min(o.tokens.cached, o.tokens.input) : 0,
    outputTokens: counted ? o.tokens.output : 0,
    latencyMs: Math.max(0, Math.round(now - r.startedMs)),
    // Durations by the wall clock, which an NTP step may move back: never below 0 (a histogram's sum must not fall).
    upstreamLatencyMs: o.upstreamMs === null ? null : Math.max(0, Math.round(o.upstreamMs)),
    costNanoUsd: cost,
    streamed: o.streamed,
    errorCode: o.errorCode,
    units: o.billable ? (o.units ?? 0) : 0,
    unpriced: o.billable && !priced,
    requestId: r.requestId,
    upstreamRequestId: r.upstreamRequestId,
    credential: r.credential ?? null,
    serviceTier,
    // The parts billed at rates of their own (0 for all but the few requests with cache writes, audio or images).
    cacheWriteTokens: parts === null ? 0 : parts.cacheWrite + parts.cacheWrite1h,
    cacheWrite1hTokens: parts === null ? 0 : parts.cacheWrite1h,
    audioInputTokens: parts === null ? 0 : parts.audioInput,
    audioOutputTokens: parts === null ? 0 : parts.audioOutput,
    imageInputTokens: parts === null ? 0 : parts.imageInput,
    imageOutputTokens: parts === null ? 0 : parts.imageOutput,
    webSearchRequests: o.billable ? (o.tokens.webSearches ?? 0) : 0,
  };
  g.usage.record(event);
  // Every request that reached for a provider: its answers by the credential that answered, and its failures (no
  // answer at all: no connection, a timeout, an open breaker) under `none`, timed to when they failed.
  if (r.provider && (o.upstreamMs !== null || o.outcome === 'upstream_error' || o.outcome === 'timeout')) {
    g.observe?.upstream(r.provider, r.credential ?? 'none', Math.max(0, o.upstreamMs ?? now - r.startedMs) / 1000, o.outcome);
  }
  return cost;
}

/**
 * The model a usage event records: as named, but a Tollgate key in it (a key pasted as the model) redacted, since the
 * event and its rollups are kept for good and read by whoever reads usage (found by a review of secrets at rest).
 */
function recordedModel(model: string | null): string | null {
  return model?.includes(PROJECT_KEY_PREFIX) ? redactKeysInText(model) : model;
}

/** Meters a request that was admitted, and settles its limits and budgets to what it really used. */
export function meterAndSettle(
  g: GatewayContext,
  r: Parameters<typeof meter>[1],
  admission: Admission,
  o: Outcome,
): void {
  const cost = meter(g, r, o);
  const othersKey = o.billedKeyId !== undefined && o.billedKeyId !== r.record.id;
  admission.settle({ tokens: o.billable ? o.tokens : NO_TOKENS, costNanoUsd: cost, billable: o.billable, ...(othersKey ? { notTheKeys: true } : {}), ...(o.unsent ? { unsent: true } : {}) });
}
