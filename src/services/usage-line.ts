import { plainTextProblem, quotedForDisplay } from '../core/plain-text.js';
import { BAD_USAGE_LINE } from '../storage/write-errors.js';
import type { UsageEvent } from './usage-recorder.js';

/** The columns of a usage event, in the order of its serialised line. */
export const USAGE_COLUMNS = [
  'id',
  'created_at_ms',
  'org_id',
  'project_id',
  'api_key_id',
  'model',
  'provider',
  'endpoint',
  'method',
  'status',
  'outcome',
  'billable',
  'input_tokens',
  'cached_tokens',
  'output_tokens',
  'latency_ms',
  'upstream_latency_ms',
  'cost_nanousd',
  'streamed',
  'error_code',
  'units',
  'unpriced',
  'request_id',
  'upstream_request_id',
] as const satisfies ReadonlyArray<keyof UsageEvent>;

/**
 * What a column holds on a line written before it existed: columns are only ever appended, so a shorter line is an
 * earlier version's (a write-ahead log or spill file left by it), read with these values for the columns it lacks.
 */
const ABSENT_VALUE: Partial<Record<(typeof USAGE_COLUMNS)[number], unknown>> = { units: 0, unpriced: 0, request_id: null, upstream_request_id: null };
/** The lengths of lines earlier versions wrote: 20 values, then 22 (units, unpriced: migration 080). */
const EARLIER_LENGTHS: ReadonlySet<number> = new Set([20, 22]);

export type UsageRow = unknown[];

/**
 * One usage event as one line of JSON: an array of its values in USAGE_COLUMNS order (the queue, the write-ahead log,
 * the spill file and the SQLite worker all carry this). Measured against a JSON object per event: a line half the size
 * and ~1.5 µs less to insert (positional parameters). This is the line's definition; the gateway writes the same
 * values straight into bytes with UsageLineWriter, which is tested against it.
 */
export function toUsageLine(e: UsageEvent): string {
  return JSON.stringify([
    e.id,
    e.created_at_ms,
    e.org_id,
    e.project_id,
    e.api_key_id,
    e.model,
    e.provider,
    e.endpoint,
    e.method,
    e.status,
    e.outcome,
    e.billable,
    e.input_tokens,
    e.cached_tokens,
    e.output_tokens,
    e.latency_ms,
    e.upstream_latency_ms,
    e.cost_nanousd,
    e.streamed,
    e.error_code,
    e.units,
    e.unpriced,
    e.request_id,
    e.upstream_request_id,
  ]);
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

/** The row of values of a line (also reads the shorter rows and the JSON objects that earlier versions logged). */
export function usageRowOf(line: string): UsageRow {
  const parsed = JSON.parse(line) as UsageRow | UsageEvent;
  if (Array.isArray(parsed)) {
    if (parsed.length === USAGE_COLUMNS.length) return parsed;
    if (!EARLIER_LENGTHS.has(parsed.length)) {
      throw Object.assign(new Error(`a usage line has ${parsed.length} values, not ${USAGE_COLUMNS.length}`), { code: BAD_USAGE_LINE });
    }
    const row = parsed.slice();
    for (let i = parsed.length; i < USAGE_COLUMNS.length; i++) row.push(ABSENT_VALUE[USAGE_COLUMNS[i]] ?? null);
    return row;
  }
  return USAGE_COLUMNS.map((c) => parsed[c] ?? ABSENT_VALUE[c] ?? null);
}

/**
 * The event of a row. One object literal in USAGE_COLUMNS order (a test checks the two agree): built key by key in a
 * loop, every event went through V8's dictionary-mode stores, ~2.4 µs each on the worker that writes thousands per flush.
 */
export function usageEventOf(r: UsageRow): UsageEvent {
  return {
    id: r[0],
    created_at_ms: r[1],
    org_id: r[2],
    project_id: r[3],
    api_key_id: r[4],
    model: r[5],
    provider: r[6],
    endpoint: r[7],
    method: r[8],
    status: r[9],
    outcome: r[10],
    billable: r[11],
    input_tokens: r[12],
    cached_tokens: r[13],
    output_tokens: r[14],
    latency_ms: r[15],
    upstream_latency_ms: r[16],
    cost_nanousd: r[17],
    streamed: r[18],
    error_code: r[19],
    units: r[20],
    unpriced: r[21],
    request_id: r[22],
    upstream_request_id: r[23],
  } as UsageEvent;
}

/** Whether a logged line reads as an event (a torn last line from a crash does not). */
export function isUsageLine(line: string): boolean {
  if (!line) return false;
  try {
    usageRowOf(line);
    return true;
  } catch {
    return false;
  }
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const NULL_BYTES = [0x6e, 0x75, 0x6c, 0x6c];

/**
 * Usage lines written straight into bytes: the same JSON values as `usageLinesToBytes(events.map(toUsageLine))`, for a
 * group of events appended one by one, then taken whole. Printable-ASCII strings (ids, the usual model and endpoint
 * names) and whole numbers are copied byte by byte; anything else goes through `JSON.stringify`. Measured on the
 * gateway's thread under load, a row's `JSON.stringify` took ~4.5 µs when each event was serialised in its own request
 * (this writer as much: cold caches between requests), ~2 µs per event when a group's events are written in one loop.
 */
export class UsageLineWriter {
  private buf = Buffer.allocUnsafeSlow(16 * 1024);
  private at = 0;
  /** Lines appended since the last `take`. */
  count = 0;

  /** Appends an event's line; one whose values cannot be written (a bigint) throws and leaves no partial line. */
  append(e: UsageEvent): void {
    const start = this.at;
    try {
      this.line(e);
    } catch (err) {
      this.at = start;
      throw err;
    }
    this.count++;
  }

  private line(e: UsageEvent): void {
    this.byte(0x5b);
    this.str(e.id);
    this.num(e.created_at_ms);
    this.str(e.org_id);
    this.str(e.project_id);
    this.str(e.api_key_id);
    this.str(e.model);
    this.str(e.provider);
    this.str(e.endpoint);
    this.str(e.method);
    this.num(e.status);
    this.str(e.outcome);
    this.num(e.billable);
    this.num(e.input_tokens);
    this.num(e.cached_tokens);
    this.num(e.output_tokens);
    this.num(e.latency_ms);
    this.num(e.upstream_latency_ms);
    this.num(e.cost_nanousd);
    this.num(e.streamed);
    this.str(e.error_code);
    this.num(e.units);
    this.num(e.unpriced);
    this.str(e.request_id);
    this.str(e.upstream_request_id);
    // The last value's comma becomes the closing bracket.
    this.buf[this.at - 1] = 0x5d;
    this.byte(0x0a);
  }

  /** The lines appended so far (a copy), each ending in a newline; the writer starts empty again. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.at));
    this.at = 0;
    this.count = 0;
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

  private str(s: unknown): void {
    if (typeof s !== 'string') {
      if (s === null || s === undefined) this.nil();
      else this.json(JSON.stringify(s) ?? 'null');
      return;
    }
    const n = s.length;
    this.reserve(n + 3);
    const buf = this.buf;
    const start = this.at;
    let at = start;
    buf[at++] = QUOTE;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      // Printable ASCII but `"` and `\`: the same bytes as JSON.stringify writes; anything else takes its way.
      if (c < 0x20 || c > 0x7e || c === QUOTE || c === 0x5c) {
        this.at = start;
        this.json(JSON.stringify(s));
        return;
      }
      buf[at++] = c;
    }
    buf[at++] = QUOTE;
    buf[at++] = COMMA;
    this.at = at;
  }

  private num(v: unknown): void {
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
  let row: UsageRow;
  try {
    row = usageRowOf(line);
  } catch {
    return null;
  }
  let changed = false;
  const out = row.map((v) => {
    if (typeof v !== 'string' || plainTextProblem(v) === null) return v;
    changed = true;
    return quotedForDisplay(v);
  });
  return changed ? JSON.stringify(out) : null;
}
