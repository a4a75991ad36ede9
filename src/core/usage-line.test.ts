import { describe, expect, it } from 'vitest';
import { eventOfRow, rowOfEvent, usageEvent } from '../../test/harness/usage-event.js';
import type { UsageEvent } from './usage-event.js';
import {
  isUsageLine,
  salvagedUsageLine,
  usageLineError,
  toUsageLine,
  USAGE_COLUMNS,
  UsageLineWriter,
  usageLinesIn,
  usageLinesToBytes,
  intoUsageRow,
  usageRowOf,
  usageValuesEach,
  usageValuesIn,
  usageValuesOf,
} from './usage-line.js';

const event: UsageEvent = usageEvent({
  model: 'gpt-4o-mini "quoted"',
  inputTokens: 8,
  cachedTokens: 2,
  outputTokens: 9,
  latencyMs: 12,
  upstreamLatencyMs: null,
  costNanoUsd: 1234,
});

/** An event through its line and back, as storage reads it and as the gateway recorded it. */
const roundTrip = (line: string) => eventOfRow(usageRowOf(usageValuesOf(line)));

describe('usage lines', () => {
  it('round-trips an event through its line, every column in order, flags as 1 and 0', () => {
    const line = toUsageLine(event);
    expect(line.startsWith('["evt_1",')).toBe(true);
    expect(roundTrip(line)).toEqual(event);
    expect(USAGE_COLUMNS).toHaveLength(Object.keys(event).length);
    const flags = usageEvent({ billable: false, streamed: true, unpriced: true });
    const values = usageValuesOf(toUsageLine(flags));
    const at = (column: string) => USAGE_COLUMNS.findIndex(([c]) => c === column);
    expect([values[at('billable')], values[at('streamed')], values[at('unpriced')]]).toEqual([0, 1, 1]);
    expect(roundTrip(toUsageLine(flags))).toEqual(flags);
  });

  it('maps each value to its column (keys in USAGE_COLUMNS order)', () => {
    const values = USAGE_COLUMNS.map((_, i) => `v${i}`);
    const row = usageRowOf(values) as unknown as Record<string, unknown>;
    expect(Object.keys(row)).toEqual(USAGE_COLUMNS.map(([c]) => c));
    for (const [i, [c]] of USAGE_COLUMNS.entries()) expect(row[c]).toBe(`v${i}`);
  });

  it('writes each value into its column of an existing row, every column overwritten', () => {
    const row = usageRowOf(USAGE_COLUMNS.map((_, i) => `old${i}`));
    const same = intoUsageRow(row, USAGE_COLUMNS.map((_, i) => `v${i}`)) as unknown as Record<string, unknown>;
    expect(same).toBe(row);
    expect(Object.keys(same)).toEqual(USAGE_COLUMNS.map(([c]) => c));
    for (const [i, [c]] of USAGE_COLUMNS.entries()) expect(same[c]).toBe(`v${i}`);
  });

  it('reads the JSON objects (by column) earlier versions logged', () => {
    expect(roundTrip(JSON.stringify(rowOfEvent(event)))).toEqual(event);
  });

  it('carries lines as UTF-8 bytes, each ending in a newline, and reads them back from a view into a larger buffer', () => {
    const lines = [toUsageLine(event), toUsageLine({ ...event, id: 'evt_2', model: 'modèle €' })];
    const bytes = usageLinesToBytes(lines);
    expect(bytes.toString('utf8')).toBe(`${lines[0]}\n${lines[1]}\n`);
    const padded = Buffer.concat([Buffer.from('xx'), bytes, Buffer.from('yy')]);
    expect(usageLinesIn(padded.subarray(2, 2 + bytes.length))).toEqual(lines);
    expect(usageValuesIn(bytes)).toEqual(lines.map(usageValuesOf));
    expect(usageLinesIn(new Uint8Array(0))).toEqual([]);
  });

  it('reads the values one line at a time from a view into a larger buffer, each line only when asked for', () => {
    const lines = [toUsageLine(event), toUsageLine({ ...event, id: 'evt_2', model: 'modèle €' })];
    const bytes = usageLinesToBytes(lines);
    const padded = Buffer.concat([Buffer.from('xx'), bytes, Buffer.from('\n\nyy')]);
    const view = padded.subarray(2, 2 + bytes.length + 2);
    expect([...usageValuesEach(view)]).toEqual(usageValuesIn(view));
    expect([...usageValuesEach(new Uint8Array(0))]).toEqual([]);
    // The last line without its newline still reads; a line that is no event throws only once it is reached.
    expect([...usageValuesEach(Buffer.from(lines[0]))]).toEqual([usageValuesOf(lines[0])]);
    const each = usageValuesEach(Buffer.from(`${lines[0]}\nnot json\n`));
    expect(each.next().value).toEqual(usageValuesOf(lines[0]));
    expect(() => each.next()).toThrow();
  });

  it('reads the 20-value lines logged before units and unpriced, as 0 and 0', () => {
    const billed = { ...event, units: 3, unpriced: true };
    const old = JSON.stringify(JSON.parse(toUsageLine(billed)).slice(0, 20));
    expect(roundTrip(old)).toEqual({ ...billed, units: 0, unpriced: false, requestId: null, upstreamRequestId: null });
    const { units: _u, unpriced: _p, ...oldObject } = rowOfEvent(billed);
    expect(roundTrip(JSON.stringify(oldObject))).toEqual({ ...billed, units: 0, unpriced: false });
    expect(roundTrip(toUsageLine(billed))).toEqual(billed);
  });

  it('refuses a line with the wrong number of values', () => {
    expect(() => usageValuesOf('["evt_1", 1]')).toThrow(/2 values/);
    expect(() => usageValuesOf(JSON.stringify([...usageValuesOf(toUsageLine(event)), 'extra']))).toThrow(/values/);
  });

  it('reads the 22-value lines logged before the request ids (columns are only appended), the ids null', () => {
    const billed = { ...event, units: 3, unpriced: true };
    const before090 = JSON.stringify(usageValuesOf(toUsageLine(billed)).slice(0, 22));
    expect(roundTrip(before090)).toEqual({ ...billed, requestId: null, upstreamRequestId: null });
    const { request_id: _, upstream_request_id: __, ...oldObject } = rowOfEvent(event);
    expect(roundTrip(JSON.stringify(oldObject))).toEqual({ ...event, requestId: null, upstreamRequestId: null });
  });

  it('reads the 24-value lines logged before the credential column (migration 095), the credential null', () => {
    const served = { ...event, credential: 'OPENAI_KEY_B' };
    const before095 = JSON.stringify(usageValuesOf(toUsageLine(served)).slice(0, 24));
    expect(roundTrip(before095)).toEqual({ ...served, credential: null });
    expect(roundTrip(toUsageLine(served))).toEqual(served);
    const w = new UsageLineWriter();
    w.append(served);
    expect(w.take().toString('utf8')).toBe(`${toUsageLine(served)}\n`);
  });

  it('reads the 25-value lines logged before the service tier column (migration 097), the tier null', () => {
    const served = { ...event, credential: 'OPENAI_KEY_B', serviceTier: 'flex' };
    const before097 = JSON.stringify(usageValuesOf(toUsageLine(served)).slice(0, 25));
    expect(roundTrip(before097)).toEqual({ ...served, serviceTier: null });
    expect(roundTrip(toUsageLine(served))).toEqual(served);
    const w = new UsageLineWriter();
    w.append(served);
    expect(w.take().toString('utf8')).toBe(`${toUsageLine(served)}\n`);
  });

  it('reads the 26-value lines logged before the token parts (migration 104), the parts 0', () => {
    const parts = { cacheWriteTokens: 10_000, cacheWrite1hTokens: 4000, audioInputTokens: 30, audioOutputTokens: 10, imageInputTokens: 7, imageOutputTokens: 5 };
    const served = { ...event, serviceTier: 'flex', ...parts };
    const before103 = JSON.stringify(usageValuesOf(toUsageLine(served)).slice(0, 26));
    expect(roundTrip(before103)).toEqual({ ...served, ...Object.fromEntries(Object.keys(parts).map((k) => [k, 0])) });
    expect(usageLineError(before103)).toBeNull();
    expect(roundTrip(toUsageLine(served))).toEqual(served);
    const w = new UsageLineWriter();
    w.append(served);
    expect(w.take().toString('utf8')).toBe(`${toUsageLine(served)}\n`);
    // A line leaves the parts off when all are 0 (nearly every request): it reads back the same.
    const plain = { ...event, serviceTier: 'flex' };
    expect(JSON.parse(toUsageLine(plain))).toHaveLength(26);
    expect(roundTrip(toUsageLine(plain))).toEqual(plain);
    const one = { ...plain, audioOutputTokens: 3 };
    expect(JSON.parse(toUsageLine(one))).toHaveLength(USAGE_COLUMNS.length);
    expect(roundTrip(toUsageLine(one))).toEqual(one);
    const both = new UsageLineWriter();
    both.append(plain);
    both.append(one);
    expect(both.take().toString('utf8')).toBe(`${toUsageLine(plain)}\n${toUsageLine(one)}\n`);
    // Lines with and without the parts in every order, their last text values repeated or not (a value copied from a
    // line it ended, closed by ']', must not close this one before its parts).
    const mixed = [plain, one, one, plain, { ...one, serviceTier: null }, { ...plain, serviceTier: null }, { ...one, credential: 'K', serviceTier: null }, plain, one];
    const w2 = new UsageLineWriter();
    for (const e of mixed) w2.append(e);
    expect(w2.take().toString('utf8')).toBe(usageLinesToBytes(mixed.map(toUsageLine)).toString('utf8'));
    // Each part is a whole number ≥ 0, as every count is.
    const at = USAGE_COLUMNS.findIndex(([c]) => c === 'audio_input_tokens');
    const bad = usageValuesOf(toUsageLine(served));
    bad[at] = 1.5;
    expect(usageLineError(JSON.stringify(bad))?.message).toMatch(/audio_input_tokens/);
  });

  it('reads the 32-value lines logged before the web searches (migration 110), the searches 0', () => {
    const parts = { cacheWriteTokens: 10_000, cacheWrite1hTokens: 4000, audioInputTokens: 30, audioOutputTokens: 10, imageInputTokens: 7, imageOutputTokens: 5 };
    const served = { ...event, ...parts, webSearchRequests: 3 };
    const before110 = JSON.stringify(usageValuesOf(toUsageLine(served)).slice(0, 32));
    expect(roundTrip(before110)).toEqual({ ...served, webSearchRequests: 0 });
    expect(usageLineError(before110)).toBeNull();
    // Searches without token parts: the whole line, read back the same, by either writer.
    const searched = { ...event, webSearchRequests: 2 };
    expect(JSON.parse(toUsageLine(searched))).toHaveLength(USAGE_COLUMNS.length);
    expect(roundTrip(toUsageLine(searched))).toEqual(searched);
    const w = new UsageLineWriter();
    w.append(event);
    w.append(searched);
    w.append(served);
    expect(w.take().toString('utf8')).toBe(usageLinesToBytes([event, searched, served].map(toUsageLine)).toString('utf8'));
    const bad = usageValuesOf(toUsageLine(searched));
    bad[USAGE_COLUMNS.length - 1] = -1;
    expect(usageLineError(JSON.stringify(bad))?.message).toMatch(/web_search_requests/);
  });

  it("carries the request ids, Tollgate's and the upstream's, through the line and back", () => {
    const e = usageEvent({ requestId: 'req_0123456789abcdef0123456789abcdef', upstreamRequestId: 'req_upstream"odd\\id' });
    expect(roundTrip(toUsageLine(e))).toEqual(e);
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

  it('refuses a line whose values are of the wrong kind or out of range (valid JSON all the same)', () => {
    const line = (change: (v: unknown[]) => void) => {
      const v = usageValuesOf(toUsageLine(event));
      change(v);
      return JSON.stringify(v);
    };
    const column = (name: string) => USAGE_COLUMNS.findIndex(([c]) => c === name);
    const wrong: Record<string, (v: unknown[]) => void> = {
      'a fractional cost (BigInt threw on it)': (v) => (v[column('cost_nanousd')] = 0.5),
      'a token count as text (summed as text: 5 + "12" + 7)': (v) => (v[column('input_tokens')] = '12'),
      'a time past year 9999 (a bucket of its own)': (v) => (v[column('created_at_ms')] = 1e20),
      'a time as text': (v) => (v[column('created_at_ms')] = 'oops'),
      'a negative token count': (v) => (v[column('output_tokens')] = -3),
      'a latency past 2^53 (not exact)': (v) => (v[column('latency_ms')] = 2 ** 60),
      'an outcome as a number': (v) => (v[column('outcome')] = 7),
      'a flag as text': (v) => (v[column('billable')] = 'yes'),
      'no org': (v) => (v[column('org_id')] = null),
      'no id': (v) => (v[column('id')] = ''),
      'a status past 999': (v) => (v[column('status')] = 1000),
    };
    for (const [name, change] of Object.entries(wrong)) {
      expect(isUsageLine(line(change)), name).toBe(false);
      expect(usageLineError(line(change))).toMatchObject({ code: 'TOLLGATE_BAD_USAGE_LINE' });
    }
    // What may be null is, and an earlier version's shorter line reads.
    expect(isUsageLine(line((v) => (v[column('upstream_latency_ms')] = null)))).toBe(true);
    expect(isUsageLine(line((v) => v.splice(20)))).toBe(true);
    // A torn line is not JSON: told apart (skipped, not set aside).
    expect(usageLineError(toUsageLine(event).slice(0, -5))).toMatchObject({ name: 'SyntaxError' });
    expect(usageLineError(toUsageLine(event))).toBeNull();
  });
});

describe('UsageLineWriter', () => {
  const odd: UsageEvent[] = [
    event,
    usageEvent({ id: 'evt_2', model: 'modèle € \u2028 \ud800', endpoint: '/chat\\completions', errorCode: 'line\nbreak\u0001', billable: false, streamed: true }),
    usageEvent({ id: 'evt_3', createdAtMs: 1_795_722_642_797, costNanoUsd: 2 ** 53 - 1, latencyMs: 2 ** 31 - 1, upstreamLatencyMs: 2 ** 31, unpriced: true }),
    usageEvent({ id: 'evt_4', inputTokens: 0, cachedTokens: 9, outputTokens: 10, latencyMs: 99, upstreamLatencyMs: 100, costNanoUsd: 1_000_000_000 }),
    usageEvent({ id: 'evt_5', latencyMs: -5, upstreamLatencyMs: 1.5, costNanoUsd: Number.NaN, inputTokens: -0, outputTokens: Number.POSITIVE_INFINITY }),
    usageEvent({ id: 'evt_6', costNanoUsd: 2 ** 53 + 2, createdAtMs: 1e21, model: null, provider: null }),
  ];

  it('writes the same JSON values as toUsageLine, byte for byte, for every kind of string, number and flag', () => {
    const w = new UsageLineWriter();
    for (const e of odd) w.append(e);
    expect(w.count).toBe(odd.length);
    expect(w.take().toString('utf8')).toBe(usageLinesToBytes(odd.map(toUsageLine)).toString('utf8'));
  });

  it('writes every field in its column: a line of distinct values reads back as the event', () => {
    // Each field a value no other field has: a writer that swapped two columns would not read back the same.
    const distinct = usageEvent({ id: 'evt_d', createdAtMs: 1001, orgId: 'o', projectId: 'p', apiKeyId: 'k', model: 'm', provider: 'pv', endpoint: '/e', method: 'GET', status: 201, outcome: 'timeout', billable: true, inputTokens: 3, cachedTokens: 4, outputTokens: 5, latencyMs: 6, upstreamLatencyMs: 7, costNanoUsd: 8, streamed: false, errorCode: 'c', units: 9, unpriced: true, requestId: 'r', upstreamRequestId: 'u', credential: 'cr', serviceTier: 'st', cacheWriteTokens: 10, cacheWrite1hTokens: 11, audioInputTokens: 12, audioOutputTokens: 13, imageInputTokens: 14, imageOutputTokens: 15 });
    const w = new UsageLineWriter();
    w.append(distinct);
    expect(roundTrip(usageLinesIn(w.take())[0])).toEqual(distinct);
  });

  it('refuses an event it cannot write (a bigint) without leaving part of its line', () => {
    const w = new UsageLineWriter();
    w.append(event);
    expect(() => w.append(usageEvent({ id: 'evt_big', costNanoUsd: 10n as unknown as number }))).toThrow(TypeError);
    w.append(odd[1]);
    expect(w.count).toBe(2);
    expect(w.take().toString('utf8')).toBe(`${toUsageLine(event)}\n${toUsageLine(odd[1])}\n`);
  });

  it('copies a value repeated from an earlier line, never from bytes taken or rolled back since', () => {
    const w = new UsageLineWriter();
    const first = usageEvent({ id: 'evt_a', model: 'model-a' });
    const again = usageEvent({ id: 'evt_b', model: 'model-a', orgId: 'org-2' });
    w.append(first);
    w.append(again);
    expect(w.take().toString('utf8')).toBe(`${toUsageLine(first)}\n${toUsageLine(again)}\n`);
    // The same values after a take, further along the line (a longer id): where they lay has been written over.
    const later = usageEvent({ id: 'evt_with_a_much_longer_id_than_before', model: 'model-a' });
    w.append(later);
    expect(w.take().toString('utf8')).toBe(`${toUsageLine(later)}\n`);
    // A refused event's values were written, then rolled back: the next line writes over them.
    w.append(first);
    expect(() => w.append(usageEvent({ id: 'evt_c', model: 'model-c', costNanoUsd: 1n as unknown as number }))).toThrow(TypeError);
    const after = usageEvent({ id: 'evt_with_a_much_longer_id_than_evt_c', model: 'model-c' });
    w.append(after);
    expect(w.take().toString('utf8')).toBe(`${toUsageLine(first)}\n${toUsageLine(after)}\n`);
  });

  it('copies a run of repeated columns only when every value of it repeats, nulls included', () => {
    const w = new UsageLineWriter();
    const lines = [
      usageEvent({ id: 'evt_r1', model: 'm', credential: null, serviceTier: null }),
      // The same org, project, key, route, credential and tier: those runs are copied whole.
      usageEvent({ id: 'evt_r2', model: 'm', credential: null, serviceTier: null }),
      // One value in the middle of the run differs (the provider), the rest repeats.
      usageEvent({ id: 'evt_r3', model: 'm', provider: 'other', credential: null, serviceTier: null }),
      // A null where the line before had text, text where it had null.
      usageEvent({ id: 'evt_r4', model: null, provider: 'other', credential: 'cred', serviceTier: 'flex' }),
      usageEvent({ id: 'evt_r5', model: null, provider: 'other', credential: 'cred', serviceTier: null }),
    ];
    for (const e of lines) w.append(e);
    expect(w.take().toString('utf8')).toBe(usageLinesToBytes(lines.map(toUsageLine)).toString('utf8'));
    // After a take, and after a line rolled back, nothing is copied from bytes written over since.
    const longer = usageEvent({ id: 'evt_with_a_much_longer_id_than_evt_r5', model: null, provider: 'other', credential: 'cred', serviceTier: null });
    w.append(longer);
    expect(() => w.append(usageEvent({ id: 'evt_r6', orgId: 'org-x', costNanoUsd: 1n as unknown as number }))).toThrow(TypeError);
    const after = usageEvent({ id: 'evt_with_an_even_longer_id_than_the_line_before', orgId: 'org-x' });
    w.append(after);
    expect(w.take().toString('utf8')).toBe(`${toUsageLine(longer)}\n${toUsageLine(after)}\n`);
  });

  it('copies a run only from a line that wrote the values it repeats (a value written as JSON, or absent, is not remembered as another)', () => {
    const w = new UsageLineWriter();
    const modelAs = (id: string, model: unknown) => usageEvent({ id, model: model as string });
    // Each line between the two 'm' lines writes another value for the model in the run's bytes.
    const lines = [modelAs('evt_1', 'm'), modelAs('evt_2', undefined), modelAs('evt_3', 'm'), modelAs('evt_4', 5), modelAs('evt_5', 'm'), modelAs('evt_6', { x: 1 }), modelAs('evt_7', 'm')];
    for (const e of lines) w.append(e);
    expect(w.take().toString('utf8')).toBe(usageLinesToBytes(lines.map(toUsageLine)).toString('utf8'));
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
    const line = toUsageLine(usageEvent({ id: 'evt_s', model: 'gpt\u0000x', upstreamRequestId: 'r\u202e', inputTokens: 7 }));
    const salvaged = salvagedUsageLine(line);
    expect(salvaged).not.toBeNull();
    expect(roundTrip(salvaged as string)).toEqual({ ...roundTrip(line), model: '"gpt\\000x"', upstreamRequestId: '"r\\u202e"' });
  });

  it('is null when there is nothing to salvage, or no event', () => {
    expect(salvagedUsageLine(toUsageLine(usageEvent({ model: 'gpt-4o' })))).toBeNull();
    expect(salvagedUsageLine('[1,2')).toBeNull();
  });
});
