import { describe, expect, it } from 'vitest';
import { isUsageLine, salvagedUsageLine, toUsageLine, USAGE_COLUMNS, UsageLineWriter, usageEventOf, usageLinesIn, usageLinesToBytes, usageRowOf } from './usage-line.js';
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

  it('reads the 20-value lines logged before units and unpriced, as 0 and 0', () => {
    const billed = { ...event, units: 3, unpriced: 1 };
    const old = JSON.stringify(JSON.parse(toUsageLine(billed)).slice(0, 20));
    expect(usageEventOf(usageRowOf(old))).toEqual({ ...billed, units: 0, unpriced: 0, request_id: null, upstream_request_id: null });
    const { units: _u, unpriced: _p, ...oldObject } = billed;
    expect(usageEventOf(usageRowOf(JSON.stringify(oldObject)))).toEqual({ ...billed, units: 0, unpriced: 0 });
    expect(usageEventOf(usageRowOf(toUsageLine(billed)))).toEqual(billed);
  });

  it('refuses a line with the wrong number of values', () => {
    expect(() => usageRowOf('["evt_1", 1]')).toThrow(/2 values/);
    expect(() => usageRowOf(JSON.stringify([...usageRowOf(toUsageLine(event)), 'extra']))).toThrow(/values/);
  });

  it('reads the 22-value lines logged before the request ids (columns are only appended), the ids null', () => {
    const billed = { ...event, units: 3, unpriced: 1 };
    const before090 = JSON.stringify(usageRowOf(toUsageLine(billed)).slice(0, 22));
    expect(usageEventOf(usageRowOf(before090))).toEqual({ ...billed, request_id: null, upstream_request_id: null });
    const { request_id: _, upstream_request_id: __, ...oldObject } = event;
    expect(usageEventOf(usageRowOf(JSON.stringify(oldObject)))).toEqual({ ...event, request_id: null, upstream_request_id: null });
  });

  it("carries the request ids, Tollgate's and the upstream's, through the line and back", () => {
    const e = usageEvent({ request_id: 'req_0123456789abcdef0123456789abcdef', upstream_request_id: 'req_upstream"odd\\id' });
    expect(usageEventOf(usageRowOf(toUsageLine(e)))).toEqual(e);
    const w = new UsageLineWriter();
    w.append(e);
    expect(w.take().toString('utf8')).toBe(`${toUsageLine(e)}\n`);
  });

  it('tells whole lines from torn ones', () => {
    const line = toUsageLine(event);
    expect(isUsageLine(line)).toBe(true);
    expect(isUsageLine(line.slice(0, -5))).toBe(false);
    expect(isUsageLine('')).toBe(false);
  });
});

describe('UsageLineWriter', () => {
  const odd: UsageEvent[] = [
    event,
    usageEvent({ id: 'evt_2', model: 'modèle € \u2028 \ud800', endpoint: '/chat\\completions', error_code: 'line\nbreak\u0001' }),
    usageEvent({ id: 'evt_3', created_at_ms: 1_795_722_642_797, cost_nanousd: 2 ** 53 - 1, latency_ms: 2 ** 31 - 1, upstream_latency_ms: 2 ** 31 }),
    usageEvent({ id: 'evt_4', input_tokens: 0, cached_tokens: 9, output_tokens: 10, latency_ms: 99, upstream_latency_ms: 100, cost_nanousd: 1_000_000_000 }),
    usageEvent({ id: 'evt_5', latency_ms: -5, upstream_latency_ms: 1.5, cost_nanousd: Number.NaN, input_tokens: -0, output_tokens: Number.POSITIVE_INFINITY }),
    usageEvent({ id: 'evt_6', cost_nanousd: 2 ** 53 + 2, created_at_ms: 1e21, model: null, provider: null }),
  ];

  it('writes the same JSON values as toUsageLine, byte for byte, for every kind of string and number', () => {
    const w = new UsageLineWriter();
    for (const e of odd) w.append(e);
    expect(w.count).toBe(odd.length);
    expect(w.take().toString('utf8')).toBe(usageLinesToBytes(odd.map(toUsageLine)).toString('utf8'));
  });

  it('refuses an event it cannot write (a bigint) without leaving part of its line', () => {
    const w = new UsageLineWriter();
    w.append(event);
    expect(() => w.append(usageEvent({ id: 'evt_big', cost_nanousd: 10n as unknown as number }))).toThrow(TypeError);
    w.append(odd[1]);
    expect(w.count).toBe(2);
    expect(w.take().toString('utf8')).toBe(`${toUsageLine(event)}\n${toUsageLine(odd[1])}\n`);
  });

  it('grows past its first buffer, and starts empty after each take', () => {
    const w = new UsageLineWriter();
    const long = Array.from({ length: 200 }, (_, i) => usageEvent({ id: `evt_${i}`, model: `m-${'x'.repeat(300)}-${i}` }));
    for (const e of long) w.append(e);
    expect(w.take().equals(usageLinesToBytes(long.map(toUsageLine)))).toBe(true);
    expect(w.count).toBe(0);
    w.append(event);
    expect(w.take().toString('utf8')).toBe(`${toUsageLine(event)}\n`);
    expect(w.take().length).toBe(0);
  });
});

describe('salvagedUsageLine', () => {
  it('shows refused text quoted, keeping every other value', () => {
    const line = toUsageLine(usageEvent({ id: 'evt_s', model: 'gpt\u0000x', upstream_request_id: 'r\u202e', input_tokens: 7 }));
    const salvaged = salvagedUsageLine(line);
    expect(salvaged).not.toBeNull();
    const e = usageEventOf(usageRowOf(salvaged as string));
    expect(e).toEqual({ ...usageEventOf(usageRowOf(line)), model: '"gpt\\000x"', upstream_request_id: '"r\\u202e"' });
  });

  it('is null when there is nothing to salvage, or no event', () => {
    expect(salvagedUsageLine(toUsageLine(usageEvent({ model: 'gpt-4o' })))).toBeNull();
    expect(salvagedUsageLine('[1,2')).toBeNull();
  });
});
