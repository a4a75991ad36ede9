import { describe, expect, it } from 'vitest';
import { SeqGaps } from './seq-gaps.js';

const MIN = 60_000;

describe('SeqGaps', () => {
  it('awaits a seq skipped by a later one, hands it on once when it commits, and never again', () => {
    const gaps = new SeqGaps({ max: 100, windowMs: 5 * MIN });
    expect(gaps.see(1, 0)).toBe(true);
    // Seq 2's transaction is still open when 3 is polled.
    expect(gaps.see(3, 0)).toBe(true);
    expect(gaps.last).toBe(3);
    expect(gaps.awaited(1000)).toEqual([2]);
    expect(gaps.see(2, 1000)).toBe(true);
    expect(gaps.awaited(2000)).toEqual([]);
    expect(gaps.see(2, 2000)).toBe(false);
    expect(gaps.see(3, 2000)).toBe(false);
    expect(gaps.takeOverflow()).toBe(false);
  });

  it('gives up on a seq after the window (a rolled-back transaction never fills it), counted from when it was first missed', () => {
    const gaps = new SeqGaps({ max: 100, windowMs: 5 * MIN }, 10);
    gaps.see(12, 0);
    gaps.see(15, 2 * MIN);
    expect(gaps.awaited(5 * MIN - 1)).toEqual([11, 13, 14]);
    expect(gaps.awaited(5 * MIN)).toEqual([13, 14]);
    expect(gaps.see(11, 5 * MIN)).toBe(false);
    expect(gaps.awaited(7 * MIN)).toEqual([]);
    expect(gaps.size).toBe(0);
  });

  it('holds at most `max` gaps: the oldest go first, and the overflow is told once', () => {
    const gaps = new SeqGaps({ max: 3, windowMs: 5 * MIN });
    gaps.see(1, 0);
    gaps.see(4, 0); // 2, 3
    gaps.see(6, 1); // 5: 2, 3, 5
    expect(gaps.takeOverflow()).toBe(false);
    gaps.see(8, 2); // 7: 2 dropped
    expect(gaps.awaited(2)).toEqual([3, 5, 7]);
    expect(gaps.takeOverflow()).toBe(true);
    expect(gaps.takeOverflow()).toBe(false);
  });

  it('keeps only the newest `max` numbers of a wide jump, without walking the rest', () => {
    const gaps = new SeqGaps({ max: 3, windowMs: 5 * MIN });
    gaps.see(1, 0);
    gaps.see(1e12, 0);
    expect(gaps.awaited(0)).toEqual([1e12 - 3, 1e12 - 2, 1e12 - 1]);
    expect(gaps.takeOverflow()).toBe(true);
  });

  it('a jump of exactly `max` missing numbers keeps them all', () => {
    const gaps = new SeqGaps({ max: 3, windowMs: 5 * MIN });
    gaps.see(1, 0);
    gaps.see(5, 0);
    expect(gaps.awaited(0)).toEqual([2, 3, 4]);
    expect(gaps.takeOverflow()).toBe(false);
  });
});
