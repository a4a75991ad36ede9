// Time buckets of the usage and costs APIs: UTC-aligned, unix seconds, `start` inclusive and `end` exclusive.
// A range is widened to whole buckets (start rounded down, end rounded up) because rollups hold whole buckets.

export type BucketWidth = '1m' | '1h' | '1d';

export const BUCKET_SECONDS: Readonly<Record<BucketWidth, number>> = { '1m': 60, '1h': 3600, '1d': 86_400 };

/** True when `value` is one of the bucket widths OpenAI's Usage API accepts. */
export function isBucketWidth(value: unknown): value is BucketWidth {
  return value === '1m' || value === '1h' || value === '1d';
}

/** The start of the bucket holding `t` (seconds). */
export function bucketFloor(t: number, width: number): number {
  return Math.floor(t / width) * width;
}

/** The first bucket boundary at or after `t` (seconds). */
export function bucketCeil(t: number, width: number): number {
  return Math.ceil(t / width) * width;
}

/** The start of the bucket holding a millisecond timestamp. */
export function bucketOfMs(ms: number, width: number): number {
  return Math.floor(ms / (width * 1000)) * width;
}

export interface PageWindow {
  /** Bucket starts shown on this page, oldest first. */
  starts: number[];
  /** [from, to) in seconds: the span the page's buckets cover. */
  from: number;
  to: number;
  /** The start of the first bucket of the next page, or null on the last page. */
  next: number | null;
}

/**
 * The buckets of one page: from the cursor (or the range start) for at most `limit` buckets, never past `end`.
 * `start` and `end` are seconds; `end` is exclusive and rounded up to a whole bucket.
 */
export function pageWindow(o: { start: number; end: number; width: number; limit: number; cursor: number | null }): PageWindow {
  const first = o.cursor ?? bucketFloor(o.start, o.width);
  const end = bucketCeil(o.end, o.width);
  const to = Math.min(end, first + o.limit * o.width);
  const starts: number[] = [];
  for (let s = first; s < to; s += o.width) starts.push(s);
  return { starts, from: first, to: Math.max(first, to), next: to < end ? to : null };
}

// The cursor is opaque to clients (OpenAI's `next_page`); it carries the next bucket's start.
const CURSOR_PREFIX = 'tgb1:';

/** Encodes a bucket start as an opaque page cursor. */
export function encodeCursor(bucketStart: number): string {
  return Buffer.from(`${CURSOR_PREFIX}${bucketStart}`, 'utf8').toString('base64url');
}

/** Decodes a page cursor, or returns null when it is not one of ours. */
export function decodeCursor(cursor: string): number | null {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(CURSOR_PREFIX)) return null;
  const digits = text.slice(CURSOR_PREFIX.length);
  if (!/^\d{1,15}$/.test(digits)) return null;
  return Number(digits);
}
