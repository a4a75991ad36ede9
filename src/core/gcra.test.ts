import { describe, expect, it } from 'vitest';
import { formatResetDuration, gcra, gcraAdjust } from './gcra.js';

const spec = { limit: 10, periodMs: 60_000 };

function run(times: number[], cost = 1) {
  let tat = 0;
  return times.map((now) => {
    const d = gcra(spec, tat, cost, now);
    if (d.allowed) tat = d.tat;
    return d;
  });
}

describe('GCRA', () => {
  it('admits a burst of N at once, then refuses', () => {
    const ds = run(Array.from({ length: 11 }, () => 1_000_000));
    expect(ds.filter((d) => d.allowed)).toHaveLength(10);
    expect(ds[9].remaining).toBe(0);
    expect(ds[0].remaining).toBe(9);
    expect(ds[10].allowed).toBe(false);
    expect(ds[10].retryAfterMs).toBe(6000);
  });

  it('refills at N per period (one every period/N), never 2N across a window boundary', () => {
    const t0 = 1_000_000;
    const burst = run([...Array.from({ length: 10 }, () => t0), t0 + 5999, t0 + 6000]);
    expect(burst.slice(10).map((d) => d.allowed)).toEqual([false, true]);
    // Over any 60 s window at most 10 + 60s/6s refills... a steady hammer every 100 ms for 2 minutes:
    const hammer = Array.from({ length: 1200 }, (_, i) => t0 + i * 100);
    const allowed = run(hammer).filter((d) => d.allowed).length;
    expect(allowed).toBe(10 + Math.floor((1199 * 100) / 6000));
  });

  it('charges token costs and refuses a request larger than the whole limit', () => {
    let tat = 0;
    const a = gcra(spec, tat, 7, 0);
    expect(a.allowed).toBe(true);
    expect(a.remaining).toBe(3);
    tat = a.tat;
    expect(gcra(spec, tat, 4, 0).allowed).toBe(false);
    expect(gcra(spec, tat, 3, 0).allowed).toBe(true);
    expect(gcra(spec, 0, 11, 0)).toMatchObject({ allowed: false, retryAfterMs: Number.POSITIVE_INFINITY });
  });

  it('settles an estimate down (refund) or up', () => {
    const a = gcra(spec, 0, 8, 0);
    const refunded = gcraAdjust(spec, a.tat, -6, 0);
    expect(gcra(spec, refunded, 8, 0).allowed).toBe(true);
    expect(gcraAdjust(spec, 0, -5, 100)).toBe(100);
  });

  it('formats reset durations as OpenAI does', () => {
    expect(formatResetDuration(20)).toBe('20ms');
    expect(formatResetDuration(1000)).toBe('1s');
    expect(formatResetDuration(360_000)).toBe('6m0s');
    expect(formatResetDuration(3_723_000)).toBe('1h2m3s');
  });
});
