import { BUCKET_SECONDS, type BucketWidth, bucketCeil, bucketFloor, decodeCursor, encodeCursor, isBucketWidth, pageWindow } from '../core/buckets.js';
import { TollgateError } from '../core/errors.js';
import type { UsagePage } from '../contract/usage.js';
import { decimalCount } from './query-params.js';

// The query parameters of OpenAI's Usage and Costs APIs, read strictly: each route takes exactly the parameters its
// operation in OpenAI's specification documents (a list as `x`, `x[]` or repeated, or `x=a,b`); any other is a 400
// unknown_parameter naming it, and a value outside the spec a 400 invalid_value. Nothing asked is ignored.

export type Query = Record<string, unknown>;

export const invalid = (param: string, message: string) => new TollgateError('invalid_value', `Invalid value for '${param}': ${message}`, param);

/** The parameters every usage and costs route takes. */
const RANGE_PARAMS = ['start_time', 'end_time', 'bucket_width', 'limit', 'page'] as const;

/** Refuses any parameter not in `allowed` (lists may be spelt `name[]`), naming it as the client spelt it. */
export function checkParams(query: Query, allowed: readonly string[], lists: readonly string[]): void {
  for (const key of Object.keys(query)) {
    const name = key.endsWith('[]') && lists.includes(key.slice(0, -2)) ? key.slice(0, -2) : key;
    if (!(RANGE_PARAMS as readonly string[]).includes(name) && !allowed.includes(name)) {
      throw new TollgateError('unknown_parameter', `Unrecognized request argument supplied: ${key}`, key);
    }
  }
}

/** One value of a scalar parameter, or undefined when absent. Given empty (`limit=`) is refused, never taken as absent. */
export function single(query: Query, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (v === '') throw invalid(name, 'expected a value (the parameter was given empty).');
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string') throw invalid(name, 'expected a single value.');
  return v;
}

function seconds(query: Query, name: string, required: boolean): number | undefined {
  const v = single(query, name);
  if (v === undefined) {
    if (required) throw new TollgateError('missing_required_parameter', `Missing required parameter: '${name}'.`, name);
    return undefined;
  }
  if (!/^\d{1,12}$/.test(v)) throw invalid(name, 'expected unix seconds (a non-negative integer).');
  return Number(v);
}

/**
 * A list parameter (`x=a,b`, `x=a&x=b` or `x[]=a&x[]=b`), or null when it was not given. Given but empty
 * (`x[]=`) is an empty list, which a filter reads as "none of these": an empty filter never means "everything".
 */
export function list(query: Query, name: string): string[] | null {
  let given = false;
  const out: string[] = [];
  for (const key of [name, `${name}[]`]) {
    const v = query[key];
    if (v === undefined) continue;
    given = true;
    for (const item of Array.isArray(v) ? v : [v]) {
      if (typeof item !== 'string') throw invalid(name, 'expected a list of strings.');
      out.push(...item.split(',').map((s) => s.trim()).filter(Boolean));
    }
  }
  return given ? [...new Set(out)] : null;
}

/** A list parameter whose values must be among `allowed`. */
export function listOf(query: Query, name: string, allowed: readonly string[]): string[] | null {
  const values = list(query, name);
  for (const v of values ?? []) if (!allowed.includes(v)) throw invalid(name, `'${v}' is not one of ${allowed.join(', ')}.`);
  return values;
}

/** `true` or `false`, or undefined when absent. */
export function bool(query: Query, name: string): boolean | undefined {
  const v = single(query, name);
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw invalid(name, "expected 'true' or 'false'.");
  return v === 'true';
}

export function groupBy(query: Query, allowed: readonly string[]): Set<string> {
  return new Set(listOf(query, 'group_by', allowed) ?? []);
}

export function bucketWidth(query: Query, allowed: readonly BucketWidth[]): BucketWidth {
  const v = single(query, 'bucket_width') ?? '1d';
  if (!isBucketWidth(v) || !allowed.includes(v)) throw invalid('bucket_width', `expected one of ${allowed.join(', ')}.`);
  return v;
}

export interface Range {
  start: number;
  end: number;
  width: number;
  limit: number;
  cursor: number | null;
}

/** The time range, page size and cursor of a query. */
export function range(query: Query, width: BucketWidth, limits: readonly [number, number], now: number): Range {
  const start = seconds(query, 'start_time', true) as number;
  const endTime = seconds(query, 'end_time', false);
  if (endTime !== undefined && endTime <= start) throw invalid('end_time', 'must be after start_time.');
  // Without end_time the range runs to now, the current second included (end_time is exclusive): `now` is whole
  // seconds, so ending at it left out what was recorded in this second, and at the first second of a minute (or hour,
  // or day) the whole current bucket, with the event just made in it.
  const end = endTime ?? now + 1;
  const [defaultLimit, maxLimit] = limits;
  const rawLimit = single(query, 'limit');
  const limit = rawLimit === undefined ? defaultLimit : decimalCount(rawLimit);
  if (limit === null || limit < 1 || limit > maxLimit) {
    throw invalid('limit', `expected an integer from 1 to ${maxLimit} for bucket_width ${width}.`);
  }
  const step = BUCKET_SECONDS[width];
  // `page=` given empty is the first page (a client passing on a null next_page), as no cursor at all.
  const page = query.page === '' ? undefined : single(query, 'page');
  let cursor: number | null = null;
  if (page !== undefined) {
    cursor = decodeCursor(page);
    if (cursor === null || cursor % step !== 0 || cursor < bucketFloor(start, step) || cursor >= bucketCeil(end, step)) {
      throw invalid('page', 'not a page cursor of this query (use next_page as returned).');
    }
  }
  return { start, end, width: step, limit, cursor };
}

/** [from, to) of the buckets a page shows. */
export function pageSpan(r: Range): { from: number; to: number } {
  const w = pageWindow(r);
  return { from: w.from, to: w.to };
}

/** A page of buckets, in the contract's shape. */
export type Page<T> = UsagePage<T>;

/** The page of buckets of a range, each with its results (every bucket shown, empty ones included). */
export function toPage<T>(r: Range, resultsOf: (start: number) => T[]): Page<T> {
  const w = pageWindow(r);
  return {
    object: 'page',
    data: w.starts.map((s) => ({ object: 'bucket', start_time: s, end_time: s + r.width, results: resultsOf(s) })),
    has_more: w.next !== null,
    next_page: w.next === null ? null : encodeCursor(w.next),
  };
}

/**
 * An answer already written as JSON (its results written by the database), sent as it is: its parts in order, text or
 * UTF-8 bytes, written one after the other (joining ~40 MB into one buffer first cost as much as writing it).
 */
export class JsonAnswer {
  constructor(readonly parts: ReadonlyArray<string | Buffer>) {}

  /** The whole answer as bytes. */
  bytes(): Buffer {
    return Buffer.concat(this.parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
  }

  /** The answer as objects (tests, the bench, callers in process). */
  parse<T>(): T {
    return JSON.parse(this.bytes().toString()) as T;
  }
}

/**
 * The parts of a page of buckets as JSON, each bucket's results given as JSON text (the members of its array): as text,
 * or as bytes (SQLite's, fetched undecoded: decoding ~40 MB into strings cost more than the database took to write it).
 */
export function pageJson(r: Range, resultsOf: (start: number) => string | Buffer): Array<string | Buffer> {
  const w = pageWindow(r);
  const parts: Array<string | Buffer> = ['{"object":"page","data":['];
  for (const [i, s] of w.starts.entries()) {
    parts.push(`${i ? ',' : ''}{"object":"bucket","start_time":${s},"end_time":${s + r.width},"results":[`, resultsOf(s), ']}');
  }
  parts.push(`],"has_more":${w.next !== null},"next_page":${w.next === null ? 'null' : JSON.stringify(encodeCursor(w.next))}}`);
  return parts;
}

/** Groups rows by bucket start, each bucket's rows in `order`. */
export function byBucket<T extends { bucket_start: number }>(rows: T[], order: (a: T, b: T) => number): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const r of rows) {
    const bucket = out.get(r.bucket_start);
    if (bucket) bucket.push(r);
    else out.set(r.bucket_start, [r]);
  }
  for (const bucket of out.values()) bucket.sort(order);
  return out;
}

/** Code-point order (not the locale's): the same on both databases, and fast for 10^5 results. */
export const cmp = (a: string | null, b: string | null) => {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
};
