import { costNanoUsd, priceFor, type TokenCounts } from '../../core/pricing.js';
import type { KeyRecord } from '../../core/verify.js';
import type { UsageEvent } from '../../services/usage-recorder.js';
import type { GatewayContext } from './gateway-context.js';
import type { Admission } from './guard.js';

export interface Outcome {
  status: number;
  outcome: 'ok' | 'upstream_error' | 'timeout' | 'client_aborted' | 'stream_interrupted' | 'refused';
  billable: boolean;
  tokens: TokenCounts;
  upstreamMs: number | null;
  streamed: boolean;
  errorCode: string | null;
}

export const NO_TOKENS: TokenCounts = { input: 0, cached: 0, output: 0 };

/** Builds and queues the usage event of one request; returns its cost in nano-dollars. */
export function meter(
  g: GatewayContext,
  r: { record: KeyRecord; model: string | null; provider: string | null; route: string; method: string; startedMs: number },
  o: Outcome,
): number {
  const cost = o.billable && r.model ? costNanoUsd(priceFor(g.config.prices, r.model), o.tokens) : 0;
  const now = g.app.deps.clock();
  const event: UsageEvent = {
    id: g.newEventId(),
    created_at_ms: now,
    org_id: r.record.orgId,
    project_id: r.record.projectId,
    api_key_id: r.record.id,
    model: r.model,
    provider: r.provider,
    endpoint: r.route,
    method: r.method,
    status: o.status,
    outcome: o.outcome,
    billable: o.billable ? 1 : 0,
    input_tokens: o.billable ? o.tokens.input : 0,
    cached_tokens: o.billable ? o.tokens.cached : 0,
    output_tokens: o.billable ? o.tokens.output : 0,
    latency_ms: Math.max(0, Math.round(now - r.startedMs)),
    upstream_latency_ms: o.upstreamMs === null ? null : Math.round(o.upstreamMs),
    cost_nanousd: cost,
    streamed: o.streamed ? 1 : 0,
    error_code: o.errorCode,
  };
  g.usage.record(event);
  if (o.upstreamMs !== null && r.provider) g.observe?.upstream(r.provider, o.upstreamMs / 1000, o.outcome);
  return cost;
}

/** Meters a request that was admitted, and settles its limits and budgets to what it really used. */
export function meterAndSettle(
  g: GatewayContext,
  r: Parameters<typeof meter>[1],
  admission: Admission,
  o: Outcome,
): void {
  const cost = meter(g, r, o);
  admission.settle({ tokens: o.billable ? o.tokens : NO_TOKENS, costNanoUsd: cost, billable: o.billable });
}
