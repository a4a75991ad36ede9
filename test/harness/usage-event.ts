import type { UsageEvent } from '../../src/core/usage-event.js';
import { USAGE_COLUMNS, type UsageRow } from '../../src/core/usage-line.js';

/** A successful, billed chat completion's usage event of org-1/proj_1/key_1, with `overrides` on top (test fixture). */
export function usageEvent(overrides: Partial<UsageEvent> = {}): UsageEvent {
  return {
    id: 'evt_1',
    createdAtMs: Date.UTC(2026, 10, 26, 12),
    orgId: 'org-1',
    projectId: 'proj_1',
    apiKeyId: 'key_1',
    model: 'gpt-4o-mini',
    provider: 'openai',
    endpoint: '/chat/completions',
    method: 'POST',
    status: 200,
    outcome: 'ok',
    billable: true,
    inputTokens: 0,
    cachedTokens: 0,
    outputTokens: 0,
    latencyMs: 5,
    upstreamLatencyMs: 4,
    costNanoUsd: 0,
    streamed: false,
    errorCode: null,
    units: 0,
    unpriced: false,
    requestId: 'req_00000000000000000000000000000001',
    upstreamRequestId: null,
    credential: null,
    serviceTier: null,
    cacheWriteTokens: 0,
    cacheWrite1hTokens: 0,
    audioInputTokens: 0,
    audioOutputTokens: 0,
    imageInputTokens: 0,
    imageOutputTokens: 0,
    webSearchRequests: 0,
    ...overrides,
  };
}

/** The same event as a usage_events row (as storage holds it), with `overrides` (by column) on top. */
export function usageRow(overrides: Partial<UsageRow> = {}): UsageRow {
  return { ...rowOfEvent(usageEvent()), ...overrides };
}

/** An event as its usage_events row: flags 1 or 0. */
export function rowOfEvent(e: UsageEvent): UsageRow {
  return Object.fromEntries(USAGE_COLUMNS.map(([column, field, kind]) => [column, kind === 'flag' ? (e[field] ? 1 : 0) : e[field]])) as UsageRow;
}

/** A usage_events row as the event the gateway would have recorded (to record a stored event again, or one like it). */
export function eventOfRow(row: UsageRow): UsageEvent {
  return Object.fromEntries(USAGE_COLUMNS.map(([column, field, kind]) => [field, kind === 'flag' ? row[column] === 1 : row[column]])) as unknown as UsageEvent;
}
