import { describe, expect, it } from 'vitest';
import { toUsageLine, USAGE_COLUMNS, usageEventOf, usageRowOf } from './usage-line.js';
import type { UsageEvent } from './usage-recorder.js';

const event: UsageEvent = {
  id: 'evt_1',
  created_at_ms: 1_764_000_000_000,
  org_id: 'org-a',
  project_id: 'proj_a',
  api_key_id: 'key_a',
  model: 'gpt-4o-mini "quoted"',
  provider: 'openai',
  endpoint: '/chat/completions',
  method: 'POST',
  status: 200,
  outcome: 'ok',
  billable: 1,
  input_tokens: 8,
  cached_tokens: 2,
  output_tokens: 9,
  latency_ms: 12,
  upstream_latency_ms: null,
  cost_nanousd: 1234,
  streamed: 0,
  error_code: null,
};

describe('usage lines', () => {
  it('round-trips an event through its line, every column in order', () => {
    const line = toUsageLine(event);
    expect(line.startsWith('["evt_1",')).toBe(true);
    expect(usageEventOf(usageRowOf(line))).toEqual(event);
    expect(USAGE_COLUMNS).toHaveLength(Object.keys(event).length);
  });

  it('reads the JSON objects earlier versions logged', () => {
    expect(usageEventOf(usageRowOf(JSON.stringify(event)))).toEqual(event);
  });

  it('refuses a line with the wrong number of values', () => {
    expect(() => usageRowOf('["evt_1", 1]')).toThrow(/2 values/);
  });
});
