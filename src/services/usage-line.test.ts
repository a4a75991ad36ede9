import { describe, expect, it } from 'vitest';
import { isUsageLine, toUsageLine, USAGE_COLUMNS, usageEventOf, usageLinesIn, usageLinesToBytes, usageRowOf } from './usage-line.js';
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

  it('carries lines as UTF-8 bytes, each ending in a newline, and reads them back from a view into a larger buffer', () => {
    const lines = [toUsageLine(event), toUsageLine({ ...event, id: 'evt_2', model: 'modèle €' })];
    const bytes = usageLinesToBytes(lines);
    expect(bytes.toString('utf8')).toBe(`${lines[0]}\n${lines[1]}\n`);
    const padded = Buffer.concat([Buffer.from('xx'), bytes, Buffer.from('yy')]);
    expect(usageLinesIn(padded.subarray(2, 2 + bytes.length))).toEqual(lines);
    expect(usageLinesIn(new Uint8Array(0))).toEqual([]);
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
