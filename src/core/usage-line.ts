import { plainTextProblem, quotedForDisplay } from './plain-text.js';
import type { UsageEvent } from './usage-event.js';

// The usage line: one usage event as one line of JSON, an array of its values in column order. The recorder writes it
// (the write-ahead log, the queue, the spill file, the SQLite worker and the dead-letter file all carry it) and storage
// reads it into its usage_events rows. Measured against a JSON object per event: a line half the size and ~1.5 µs less
// to insert (positional parameters).

/** How a field is written on the line: a boolean as a flag (1 or 0), a number (or null) as such, anything else as text. */
type KindOf<T> = [T] extends [boolean] ? 'flag' : [T] extends [number | null] ? 'number' : 'text';
type Column = { [F in keyof UsageEvent]: readonly [column: string, field: F, kind: KindOf<UsageEvent[F]>] }[keyof UsageEvent];

/**
 * The line's columns in order: each its usage_events column, the UsageEvent field it holds and how it is written. The
 * one definition of the line, of the row (UsageRow) and of the table's type (storage/schema-usage.ts). Columns are only
 * ever appended: a shorter line is an earlier version's (a write-ahead log or spill file it left).
 */
export const USAGE_COLUMNS = [
  ['id', 'id', 'text'],
  ['created_at_ms', 'createdAtMs', 'number'],
  ['org_id', 'orgId', 'text'],
  ['project_id', 'projectId', 'text'],
  ['api_key_id', 'apiKeyId', 'text'],
  ['model', 'model', 'text'],
  ['provider', 'provider', 'text'],
  ['endpoint', 'endpoint', 'text'],
  ['method', 'method', 'text'],
  ['status', 'status', 'number'],
  ['outcome', 'outcome', 'text'],
  ['billable', 'billable', 'flag'],
  ['input_tokens', 'inputTokens', 'number'],
  ['cached_tokens', 'cachedTokens', 'number'],
  ['output_tokens', 'outputTokens', 'number'],
  ['latency_ms', 'latencyMs', 'number'],
  ['upstream_latency_ms', 'upstreamLatencyMs', 'number'],
  ['cost_nanousd', 'costNanoUsd', 'number'],
  ['streamed', 'streamed', 'flag'],
  ['error_code', 'errorCode', 'text'],
  ['units', 'units', 'number'],
  ['unpriced', 'unpriced', 'flag'],
  ['request_id', 'requestId', 'text'],
  ['upstream_request_id', 'upstreamRequestId', 'text'],
  ['credential', 'credential', 'text'],
  ['service_tier', 'serviceTier', 'text'],
  ['cache_write_tokens', 'cacheWriteTokens', 'number'],
  ['cache_write_1h_tokens', 'cacheWrite1hTokens', 'number'],
  ['audio_input_tokens', 'audioInputTokens', 'number'],
  ['audio_output_tokens', 'audioOutputTokens', 'number'],
  ['image_input_tokens', 'imageInputTokens', 'number'],
  ['image_output_tokens', 'imageOutputTokens', 'number'],
  ['web_search_requests', 'webSearchRequests', 'number'],
] as const satisfies readonly Column[];

type Columns = (typeof USAGE_COLUMNS)[number];
/** A usage_events column. */
export type UsageColumn = Columns[0];
/** Compiles only while every field of UsageEvent has its column. */
export const EVERY_FIELD_HAS_A_COLUMN: [Exclude<keyof UsageEvent, Columns[1]>] extends [never] ? true : never = true;

/** A field as usage_events stores it: a flag as 1 or 0, an outcome as text. */
type Stored<T> = [T] extends [boolean] ? number : T extends string ? string : T;
/** One usage_events row. */
export type UsageRow = { [C in Columns as C[0]]: Stored<UsageEvent[C[1]]> };
/** A row's values in column order, as a line holds them. */
export type UsageValues = unknown[];

/** What a column holds on a line written before it existed (the lengths of such lines: EARLIER_LENGTHS). */
const ABSENT_VALUE: Partial<Record<UsageColumn, unknown>> = {
  units: 0,
  unpriced: 0,
  request_id: null,
  upstream_request_id: null,
  credential: null,
  service_tier: null,
  cache_write_tokens: 0,
  cache_write_1h_tokens: 0,
  audio_input_tokens: 0,
  audio_output_tokens: 0,
  image_input_tokens: 0,
  image_output_tokens: 0,
  web_search_requests: 0,
};
/**
 * The lengths of lines earlier versions wrote: 20 values, then 22 (units, unpriced: migration 080), then 24 (request
 * ids: 090), then 25 (credential: 095), then 26 (service tier: 097), which is also the length of every line since
 * whose token parts are all 0 (ZERO_TAIL), then 32 (token parts: 104).
 */
const EARLIER_LENGTHS: ReadonlySet<number> = new Set([20, 22, 24, 25, 26, 32]);
/**
 * Where the token parts begin (migration 104's columns, then 110's web searches: the last ones): a line leaves them
 * off when all are 0, as nearly every request's are (text only, no search), and reads back as a line of before 104,
 * whose parts are 0 too. Written one
 * by one, the six zeros cost the writer about a tenth more per event (the writer alone, groups of 40 text-only events:
 * ~10,200 → ~11,500 instructions under callgrind, 674 → 752 ns); left off, six comparisons and no byte.
 */
const ZERO_TAIL = USAGE_COLUMNS.findIndex(([c]) => c === 'cache_write_tokens');
if (!EARLIER_LENGTHS.has(ZERO_TAIL) || !USAGE_COLUMNS.slice(ZERO_TAIL).every(([c, , kind]) => kind === 'number' && ABSENT_VALUE[c] === 0)) {
  throw new Error('the token parts must be the last columns, numbers that read as 0 when absent');
}
/** The error code of a line that does not read as an event (storage/write-errors.ts counts it as the data's fault). */
export const BAD_USAGE_LINE = 'TOLLGATE_BAD_USAGE_LINE';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
if (!USAGE_COLUMNS.every(([c, f]) => IDENTIFIER.test(c) && IDENTIFIER.test(f))) throw new Error('usage columns and fields must be identifiers');

/**
 * Code compiled once from USAGE_COLUMNS, so that the list stays the one definition at no cost per event: an object
 * literal, and property reads, written out in column order. Measured per event, against the same written by hand:
 * built key by key in a loop a row took 550–640 ns instead of 75–95 (V8's keyed stores, on the worker that writes
 * thousands per flush), and an event read field by field in a loop 430–780 ns instead of 36 (on the gateway's thread).
 * The names are the constant identifiers above, never input.
 */
function compiled<F>(params: string[], body: string): F {
  return new Function(...params, body) as F;
}

/** The values of an event, in column order (every column). */
export function usageValuesOfEvent(e: UsageEvent): UsageValues {
  return USAGE_COLUMNS.map(([, field, kind]) => (kind === 'flag' ? (e[field] ? 1 : 0) : e[field]));
}

/**
 * One event as one line of JSON: its values in column order, the token parts left off when all are 0 (ZERO_TAIL). The
 * line's definition: the gateway writes the same bytes with UsageLineWriter.
 */
export function toUsageLine(e: UsageEvent): string {
  const values = usageValuesOfEvent(e);
  if (values.slice(ZERO_TAIL).every((v) => v === 0)) values.length = ZERO_TAIL;
  return JSON.stringify(values);
}

/** Lines as the log, the queue and the worker carry them: UTF-8, each ending in a newline. */
export function usageLinesToBytes(lines: string[]): Buffer {
  return Buffer.from(`${lines.join('\n')}\n`);
}

/** The lines in such bytes (empty lines skipped). */
export function usageLinesIn(bytes: Uint8Array): string[] {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '');
}

/** The values of a line (also reads the shorter lines and the JSON objects, by column, that earlier versions logged). */
export function usageValuesOf(line: string): UsageValues {
  const parsed = JSON.parse(line) as UsageValues | Record<string, unknown>;
  if (Array.isArray(parsed)) {
    if (parsed.length === USAGE_COLUMNS.length) return parsed;
    if (!EARLIER_LENGTHS.has(parsed.length)) {
      throw Object.assign(new Error(`a usage line has ${parsed.length} values, not ${USAGE_COLUMNS.length}`), { code: BAD_USAGE_LINE });
    }
    // The array JSON.parse just made: filled in place.
    for (let i = parsed.length; i < USAGE_COLUMNS.length; i++) parsed.push(ABSENT_VALUE[USAGE_COLUMNS[i][0]] ?? null);
    return parsed;
  }
  return USAGE_COLUMNS.map(([c]) => parsed[c] ?? ABSENT_VALUE[c] ?? null);
}

/** The values of usage lines given as UTF-8 bytes, each line ending in a newline. */
export function usageValuesIn(bytes: Uint8Array): UsageValues[] {
  return usageLinesIn(bytes).map(usageValuesOf);
}

/**
 * The same values one line at a time, each read only when asked for: a writer that is done with a line before it
 * reads the next never holds a whole batch of them (the text is decoded once; each line is a slice of it).
 */
export function* usageValuesEach(bytes: Uint8Array): Generator<UsageValues, void, undefined> {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  let from = 0;
  while (from < text.length) {
    let to = text.indexOf('\n', from);
    if (to < 0) to = text.length;
    if (to > from) yield usageValuesOf(text.slice(from, to));
    from = to + 1;
  }
}

/** The usage_events row of a line's values (one object literal in column order: see `compiled`). */
export const usageRowOf: (values: UsageValues) => UsageRow = compiled(['v'], `return { ${USAGE_COLUMNS.map(([c], i) => `${c}: v[${i}]`).join(', ')} };`);

/**
 * A line's values written into an existing row, in place (compiled as usageRowOf): a writer that is done with each row
 * before the next (the SQLite usage worker) reuses one instead of allocating one per event.
 */
export const intoUsageRow: (row: UsageRow, values: UsageValues) => UsageRow = compiled(['r', 'v'], `${USAGE_COLUMNS.map(([c], i) => `r.${c} = v[${i}];`).join(' ')} return r;`);

/** Text columns that always hold text (NOT NULL), and the one number column that may be null. */
const REQUIRED_TEXT: ReadonlySet<UsageColumn> = new Set(['id', 'org_id', 'endpoint', 'method', 'outcome']);
const NULLABLE_NUMBER: ReadonlySet<UsageColumn> = new Set(['upstream_latency_ms']);
/** The latest time a line may carry: 9999-12-31T23:59:59.999Z (later ones made buckets of their own, far ahead). */
const LATEST_MS = 253_402_300_799_999;

/** What is wrong with one value of a line, or null. */
function valueProblem(column: UsageColumn, kind: 'text' | 'number' | 'flag', v: unknown): string | null {
  if (kind === 'flag') return v === 0 || v === 1 || typeof v === 'boolean' ? null : 'not a flag (0 or 1)';
  if (kind === 'text') {
    if (v === null) return REQUIRED_TEXT.has(column) ? 'null' : null;
    if (typeof v !== 'string') return 'not text';
    return column === 'id' && v === '' ? 'empty' : null;
  }
  if (v === null) return NULLABLE_NUMBER.has(column) ? null : 'null';
  // Every number column is an integer column: a fraction, a string or a number past 2^53 breaks the rollups' sums.
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return 'not a whole number ≥ 0';
  if (column === 'created_at_ms' && v > LATEST_MS) return 'past year 9999';
  if (column === 'status' && v > 999) return 'not an HTTP status';
  return null;
}

/**
 * Why a line read back from disk (the log, the spill file) is not an event: a SyntaxError when it is not JSON (a torn
 * last line from a crash), an error with code BAD_USAGE_LINE when its values are not an event's (the wrong count, or a
 * value of the wrong kind or out of range: such a line made the rollups throw or sum text); null when it is one. Not on
 * the gateway's path: its own events are built with these kinds.
 */
export function usageLineError(line: string): Error | null {
  let values: UsageValues;
  try {
    values = usageValuesOf(line);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
  for (let i = 0; i < USAGE_COLUMNS.length; i++) {
    const [column, , kind] = USAGE_COLUMNS[i];
    const problem = valueProblem(column, kind, values[i]);
    if (problem) return Object.assign(new Error(`a usage line's ${column} is ${problem}: ${JSON.stringify(values[i]) ?? 'undefined'}`), { code: BAD_USAGE_LINE });
  }
  return null;
}

/** Whether a logged line reads as an event (a torn last line from a crash does not, nor one of the wrong shape). */
export function isUsageLine(line: string): boolean {
  return line !== '' && usageLineError(line) === null;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const NULL_BYTES = [0x6e, 0x75, 0x6c, 0x6c];
/** 1 for each byte JSON.stringify does not write as it is between quotes: all but printable ASCII, `"` and `\`. */
const ESCAPED = new Uint8Array(256).map((_, c) => (c >= 0x20 && c <= 0x7e && c !== QUOTE && c !== 0x5c ? 0 : 1));

/** A column's last value when none is known (none written yet, or written over since): equal to no value. */
const UNKNOWN: unique symbol = Symbol('unknown');

/** Text columns whose value differs in every event: never compared with the line before's. */
const UNIQUE_TEXT: ReadonlySet<UsageColumn> = new Set(['id', 'request_id', 'upstream_request_id']);

/**
 * Runs of adjacent text columns that repeat from line to line (org, project, key, model, provider, route and method
 * lie side by side): a run whose every value is the line before's is copied whole, in one move.
 */
const REPEATED_RUNS: ReadonlyArray<readonly number[]> = (() => {
  const runs: number[][] = [];
  let run: number[] = [];
  USAGE_COLUMNS.forEach(([c, , kind], i) => {
    if (kind === 'text' && !UNIQUE_TEXT.has(c)) run.push(i);
    else if (run.length > 0) {
      runs.push(run);
      run = [];
    }
  });
  if (run.length > 0) runs.push(run);
  return runs;
})();

/** Writes an event's values in column order into a UsageLineWriter (compiled: see `compiled`). */
const writeValues: (w: UsageLineWriter, e: UsageEvent) => void = compiled(
  ['w', 'e'],
  (() => {
    const out: string[] = ['const last = w.lastText;'];
    for (let i = 0; i < USAGE_COLUMNS.length; i++) {
      const [c, f, kind] = USAGE_COLUMNS[i];
      const r = REPEATED_RUNS.findIndex((run) => run[0] === i);
      if (r >= 0 && REPEATED_RUNS[r].length > 1) {
        const run = REPEATED_RUNS[r];
        const same = run.map((j) => `e.${USAGE_COLUMNS[j][1]} === last[${j}]`).join(' && ');
        out.push(`if (w.runFrom[${r}] >= 0 && ${same}) w.copyRun(${r}); else { const from = w.at;`);
        for (const j of run) out.push(`w.text(e.${USAGE_COLUMNS[j][1]}, ${j});`);
        out.push(`w.wroteRun(${r}, from); }`);
        i = run[run.length - 1];
        continue;
      }
      if (i === ZERO_TAIL) {
        // The token parts, all 0 for nearly every request: left off the line then (see ZERO_TAIL).
        const tail = USAGE_COLUMNS.slice(ZERO_TAIL).map(([, field]) => field);
        out.push(`if (${tail.map((t) => `e.${t} !== 0`).join(' || ')}) {`);
        // The value before may have been copied from a line that ended with it, its comma closed to ']'.
        out.push('w.comma();');
        for (const t of tail) out.push(`w.number(e.${t});`);
        out.push('}');
        break;
      }
      out.push(kind === 'text' ? `w.text(e.${f}, ${UNIQUE_TEXT.has(c) ? -1 : i});` : `w.${kind}(e.${f});`);
    }
    return out.join('\n');
  })(),
);

/**
 * Usage lines written straight into bytes: the same JSON values as `usageLinesToBytes(events.map(toUsageLine))`, for a
 * group of events appended one by one, then taken whole. Printable-ASCII strings (ids, the usual model and endpoint
 * names) and whole numbers are copied byte by byte; anything else goes through `JSON.stringify`. Measured on the
 * gateway's thread under load, a row's `JSON.stringify` took ~4.5 µs when each event was serialised in its own request
 * (this writer as much: cold caches between requests), ~2 µs per event when a group's events are written in one loop.
 * Counted under callgrind (groups of 40 of the gateway's events): 17,300 instructions per event when repeated values
 * and the check of written text went byte by byte in JavaScript (~25–30 instructions a byte), 11,900 with runs of
 * repeated columns copied natively and the check by table. Building each line as a string instead (one native write
 * per line) counted 18,300: V8 flattens the joined string piece by piece.
 */
export class UsageLineWriter {
  private buf = Buffer.allocUnsafeSlow(16 * 1024);
  private at = 0;
  /**
   * Per text column, its last value (UNKNOWN when none) and where its bytes (quotes and comma included) lie in `buf`:
   * a group's events mostly repeat their org, project, key, model, provider, route, outcome and credential, whose bytes
   * are then copied from the line before instead of written again from the string. Read by `writeValues`, as `runFrom`.
   */
  readonly lastText: unknown[] = new Array(USAGE_COLUMNS.length).fill(UNKNOWN);
  private readonly lastFrom = new Int32Array(USAGE_COLUMNS.length);
  private readonly lastTo = new Int32Array(USAGE_COLUMNS.length);
  /** Per run of REPEATED_RUNS, where its bytes were last written (-1: nowhere yet, or written over since). */
  readonly runFrom = new Int32Array(REPEATED_RUNS.length).fill(-1);
  private readonly runTo = new Int32Array(REPEATED_RUNS.length);
  /** Lines appended since the last `take`. */
  count = 0;

  /** Appends an event's line; one whose values cannot be written (a bigint) throws and leaves no partial line. */
  append(e: UsageEvent): void {
    const start = this.at;
    try {
      this.line(e);
    } catch (err) {
      this.at = start;
      this.forget();
      throw err;
    }
    this.count++;
  }

  /** Forgets where earlier values lie (their bytes are about to be overwritten). */
  private forget(): void {
    this.lastText.fill(UNKNOWN);
    this.runFrom.fill(-1);
  }

  /** Notes where run `r`'s bytes, written from `from` on, lie. */
  wroteRun(r: number, from: number): void {
    this.runFrom[r] = from;
    this.runTo[r] = this.at;
  }

  /** Copies run `r`'s bytes from where they were last written: one native move. */
  copyRun(r: number): void {
    const from = this.runFrom[r];
    const to = this.runTo[r];
    this.reserve(to - from);
    this.buf.copyWithin(this.at, from, to);
    this.at += to - from;
  }

  private line(e: UsageEvent): void {
    this.byte(0x5b);
    writeValues(this, e);
    // The last value's comma becomes the closing bracket.
    this.buf[this.at - 1] = 0x5d;
    this.byte(0x0a);
  }

  /** The lines appended so far (a copy), each ending in a newline; the writer starts empty again. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.at));
    this.at = 0;
    this.count = 0;
    this.forget();
    return out;
  }

  private reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  private byte(b: number): void {
    this.reserve(1);
    this.buf[this.at++] = b;
  }

  private nil(): void {
    this.reserve(5);
    const buf = this.buf;
    for (const b of NULL_BYTES) buf[this.at++] = b;
    buf[this.at++] = COMMA;
  }

  /** A JSON text (from JSON.stringify), then a comma. */
  private json(text: string): void {
    this.reserve(text.length * 3 + 1);
    this.at += this.buf.write(text, this.at, 'utf8');
    this.buf[this.at++] = COMMA;
  }

  /** A text value (or null) of column `column` (-1: a value no other line repeats), then a comma. */
  text(s: unknown, column: number): void {
    // Compared first: the same string object (a key's ids, the route, the outcome) is then never read at all.
    if (column >= 0 && s === this.lastText[column]) {
      const from = this.lastFrom[column];
      const to = this.lastTo[column];
      this.reserve(to - from);
      const buf = this.buf;
      let at = this.at;
      for (let i = from; i < to; i++) buf[at++] = buf[i];
      this.at = at;
      return;
    }
    const start = this.at;
    if (typeof s === 'string') this.plainText(s);
    else if (s === null || s === undefined) this.nil();
    else this.json(JSON.stringify(s) ?? 'null');
    if (column < 0) return;
    // Remembered as written: a string as itself, null (and undefined, written as null) too, so that a run holding
    // one (a credential or tier that is not there) can be copied; anything else as UNKNOWN, which nothing equals.
    this.lastText[column] = typeof s === 'string' || s === null || s === undefined ? s : UNKNOWN;
    this.lastFrom[column] = start;
    this.lastTo[column] = this.at;
  }

  private plainText(s: string): void {
    const n = s.length;
    this.reserve(n * 3 + 3);
    const buf = this.buf;
    const start = this.at;
    buf[start] = QUOTE;
    // One native copy, then a check of the bytes (a table look-up each). Reading the string by charCodeAt was the
    // gateway's costliest line of its own under load (~2.5 µs per request in a profile at 32 connections): the values
    // arrive as every kind of V8 string (concatenations, slices, internalised names), read through a generic path.
    const written = buf.write(s, start + 1, 'utf8');
    const end = start + 1 + written;
    // Printable ASCII but `"` and `\`: the same bytes as JSON.stringify writes; anything else takes its way (a
    // character past ASCII is written as more bytes than characters, each ≥ 0x80).
    let escaped = written === n ? 0 : 1;
    for (let at = start + 1; at < end; at++) escaped |= ESCAPED[buf[at]];
    if (escaped !== 0) {
      this.at = start;
      this.json(JSON.stringify(s));
      return;
    }
    buf[end] = QUOTE;
    buf[end + 1] = COMMA;
    this.at = end + 2;
  }

  /**
   * Makes the last byte written a comma again: a value copied from the line before (a run, or one text value) that
   * ended that line ends in its closing ']', and the token parts may follow it in this one.
   */
  comma(): void {
    this.buf[this.at - 1] = COMMA;
  }

  /** A number (or null), then a comma. */
  number(v: unknown): void {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      if (v === null || v === undefined) this.nil();
      else this.json(JSON.stringify(v) ?? 'null');
      return;
    }
    this.reserve(17);
    if (v < 2 ** 31) this.digits(v, 0);
    else {
      // Past int32 (times in ms): the high part, then the low nine digits, with integer arithmetic only.
      const high = Math.floor(v / 1e9);
      this.digits(high, 0);
      this.digits(v - high * 1e9, 9);
    }
    this.buf[this.at++] = COMMA;
  }

  /** A flag: 1 for true, 0 for false, then a comma. */
  flag(v: unknown): void {
    this.reserve(2);
    this.buf[this.at++] = v ? 0x31 : 0x30;
    this.buf[this.at++] = COMMA;
  }

  /** An int32 value's decimal digits, at least `width` of them (zero-padded). */
  private digits(v: number, width: number): void {
    let n = 1;
    for (let p = 10; p <= v && n < 10; p *= 10) n++;
    if (n < width) n = width;
    const buf = this.buf;
    let at = this.at + n;
    this.at = at;
    let rest = v | 0;
    for (let i = 0; i < n; i++) {
      const q = (rest / 10) | 0;
      buf[--at] = 0x30 + rest - q * 10;
      rest = q;
    }
  }
}

/**
 * The line with each text value that plain text refuses (U+0000, which PostgreSQL cannot store, …) shown quoted as
 * core/plain-text.ts shows it instead; null when it holds none, or is no event at all. A request whose event the
 * database refused is then still counted and billed (its quota and budget stay right), under a readable model name.
 */
export function salvagedUsageLine(line: string): string | null {
  let values: UsageValues;
  try {
    values = usageValuesOf(line);
  } catch {
    return null;
  }
  let changed = false;
  const out = values.map((v) => {
    if (typeof v !== 'string' || plainTextProblem(v) === null) return v;
    changed = true;
    return quotedForDisplay(v);
  });
  return changed ? JSON.stringify(out) : null;
}
