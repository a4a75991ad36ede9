import { describe, expect, it } from 'vitest';
import { keyRange, periodKeys, periodStart } from './periods.js';

const now = Date.UTC(2026, 10, 26, 15, 30); // Thursday 26 Nov 2026

describe('periods', () => {
  it('names calendar periods in UTC', () => {
    expect(periodKeys('day', now)).toEqual(['d2026-11-26']);
    expect(periodKeys('week', now)).toEqual(['w2026-11-23']);
    expect(periodKeys('month', now)).toEqual(['m2026-11']);
    expect(periodKeys('total', now)).toEqual(['total']);
    expect(periodKeys('rolling_3d', now)).toEqual(['d2026-11-26', 'd2026-11-25', 'd2026-11-24']);
  });

  it('rolls over at the period boundary', () => {
    expect(periodKeys('month', Date.UTC(2026, 11, 1, 0, 0, 0))).toEqual(['m2026-12']);
    expect(periodKeys('month', Date.UTC(2026, 10, 30, 23, 59, 59))).toEqual(['m2026-11']);
    expect(periodKeys('week', Date.UTC(2026, 10, 30))).toEqual(['w2026-11-30']);
  });

  it('gives period starts and key ranges', () => {
    expect(periodStart('month', now)).toBe(Date.UTC(2026, 10, 1));
    expect(periodStart('week', now)).toBe(Date.UTC(2026, 10, 23));
    expect(periodStart('rolling_3d', now)).toBe(Date.UTC(2026, 10, 24));
    expect(keyRange('m2026-12')).toEqual({ start: Date.UTC(2026, 11, 1), end: Date.UTC(2027, 0, 1) });
    expect(keyRange('d2026-11-26')).toEqual({ start: Date.UTC(2026, 10, 26), end: Date.UTC(2026, 10, 27) });
  });
});
