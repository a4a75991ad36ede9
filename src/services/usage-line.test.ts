import { describe, expect, it } from 'vitest';
import { isUsageLine, toUsageLine, USAGE_COLUMNS, usageEventOf, usageRowOf } from './usage-line.js';
import { usageEvent } from '../../test/harness/usage-event.js';
import type { UsageEvent } from './usage-recorder.js';

const event: UsageEvent = usageEvent({
  model: 'gpt-4o-mini "quoted"',
  input_tokens: 8,
  cached_tokens: 2,
  output_tokens: 9,
  latency_ms: 12,
  upstream_latency_ms: null,
  cost_nanousd: 1234,
});

describe('usage lines', () => {
  it('round-trips an event through its line, every column in order', () => {
    const line = toUsageLine(event);
    expect(line.startsWith('["evt_1",')).toBe(true);
    expect(usageEventOf(usageRowOf(line))).toEqual(event);
    expect(USAGE_COLUMNS).toHaveLength(Object.keys(event).length);
  });

  it('maps each value of a row to its column (keys in USAGE_COLUMNS order)', () => {
    const row = USAGE_COLUMNS.map((_, i) => `v${i}`);
    const e = usageEventOf(row) as unknown as Record<string, unknown>;
    expect(Object.keys(e)).toEqual([...USAGE_COLUMNS]);
    for (const [i, c] of USAGE_COLUMNS.entries()) expect(e[c]).toBe(`v${i}`);
  });

  it('reads the JSON objects earlier versions logged', () => {
    expect(usageEventOf(usageRowOf(JSON.stringify(event)))).toEqual(event);
  });

  it('refuses a line with the wrong number of values', () => {
    expect(() => usageRowOf('["evt_1", 1]')).toThrow(/2 values/);
  });

  it('tells whole lines from torn ones', () => {
    const line = toUsageLine(event);
    expect(isUsageLine(line)).toBe(true);
    expect(isUsageLine(line.slice(0, -5))).toBe(false);
    expect(isUsageLine('')).toBe(false);
  });
});
