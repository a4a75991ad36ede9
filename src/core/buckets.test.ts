import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUCKET_SECONDS, bucketCeil, bucketFloor, bucketOfMs, decodeCursor, encodeCursor, isBucketWidth, pageWindow } from './buckets.js';

const DAY = 86_400;
const D = 1_736_121_600; // 2025-01-06T00:00:00Z

describe('bucket maths', () => {
  it('aligns to UTC minute, hour and day boundaries', () => {
    const t = D + 10 * 3600 + 15 * 60 + 42;
    expect(bucketFloor(t, BUCKET_SECONDS['1d'])).toBe(D);
    expect(bucketFloor(t, BUCKET_SECONDS['1h'])).toBe(D + 10 * 3600);
    expect(bucketFloor(t, BUCKET_SECONDS['1m'])).toBe(D + 10 * 3600 + 15 * 60);
    expect(bucketCeil(t, DAY)).toBe(D + DAY);
    expect(bucketCeil(D, DAY)).toBe(D);
    expect(bucketOfMs(t * 1000 + 999, 3600)).toBe(D + 10 * 3600);
  });

  it('recognises only the widths OpenAI accepts', () => {
    expect(['1m', '1h', '1d'].every(isBucketWidth)).toBe(true);
    expect(isBucketWidth('1w')).toBe(false);
    expect(isBucketWidth(undefined)).toBe(false);
  });

  it('floor ≤ t < floor + width, and ceil is the next boundary', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000 }), fc.constantFrom(60, 3600, DAY), (t, w) => {
        const f = bucketFloor(t, w);
        const c = bucketCeil(t, w);
        return f % w === 0 && f <= t && t < f + w && c % w === 0 && c >= t && c - t < w;
      }),
    );
  });
});

describe('pageWindow', () => {
  it('widens the range to whole buckets and pages through it', () => {
    const first = pageWindow({ start: D + 5, end: D + 3 * DAY + 1, width: DAY, limit: 3, cursor: null });
    expect(first.starts).toEqual([D, D + DAY, D + 2 * DAY]);
    expect(first).toMatchObject({ from: D, to: D + 3 * DAY, next: D + 3 * DAY });
    const second = pageWindow({ start: D + 5, end: D + 3 * DAY + 1, width: DAY, limit: 3, cursor: first.next });
    expect(second.starts).toEqual([D + 3 * DAY]);
    expect(second.next).toBeNull();
  });

  it('answers no buckets when the range starts in the future', () => {
    const w = pageWindow({ start: D + 10 * DAY, end: D, width: DAY, limit: 7, cursor: null });
    expect(w.starts).toEqual([]);
    expect(w.next).toBeNull();
    expect(w.to).toBe(w.from);
  });

  it('covers every bucket of the range exactly once across pages', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 1, max: 500_000 }),
        fc.constantFrom(60, 3600, DAY),
        fc.integer({ min: 1, max: 40 }),
        (start, span, width, limit) => {
          const end = start + span;
          const seen: number[] = [];
          let cursor: number | null = null;
          for (let i = 0; i < 100_000; i++) {
            const w = pageWindow({ start, end, width, limit, cursor });
            if (w.starts.length > limit) return false;
            seen.push(...w.starts);
            if (w.next === null) break;
            cursor = w.next;
          }
          const expected: number[] = [];
          for (let s = bucketFloor(start, width); s < bucketCeil(end, width); s += width) expected.push(s);
          return JSON.stringify(seen) === JSON.stringify(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('page cursor', () => {
  it('round-trips bucket starts and refuses anything else', () => {
    expect(decodeCursor(encodeCursor(D))).toBe(D);
    expect(decodeCursor(encodeCursor(0))).toBe(0);
    expect(decodeCursor('nope')).toBeNull();
    expect(decodeCursor(Buffer.from('tgb1:-5').toString('base64url'))).toBeNull();
    expect(decodeCursor(Buffer.from('other:5').toString('base64url'))).toBeNull();
    expect(decodeCursor('a/b')).toBeNull();
  });
});
