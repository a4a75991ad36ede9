import type { UsageEvent } from '../../src/services/usage-recorder.js';

/** A successful, billed chat completion's usage event of org-1/proj_1/key_1, with `overrides` on top (test fixture). */
export function usageEvent(overrides: Partial<UsageEvent> = {}): UsageEvent {
  return {
    id: 'evt_1',
    created_at_ms: Date.UTC(2026, 10, 26, 12),
    org_id: 'org-1',
    project_id: 'proj_1',
    api_key_id: 'key_1',
    model: 'gpt-4o-mini',
    provider: 'openai',
    endpoint: '/chat/completions',
    method: 'POST',
    status: 200,
    outcome: 'ok',
    billable: 1,
    input_tokens: 0,
    cached_tokens: 0,
    output_tokens: 0,
    latency_ms: 5,
    upstream_latency_ms: 4,
    cost_nanousd: 0,
    streamed: 0,
    error_code: null,
    units: 0,
    unpriced: 0,
    request_id: 'req_00000000000000000000000000000001',
    upstream_request_id: null,
    ...overrides,
  };
}
