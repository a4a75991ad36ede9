import { describe, expect, it } from 'vitest';
import { formatResetDuration, gcra, gcraAdjust, gcraStanding, seedSpanStarts, seedTat, type UsedSpan } from './gcra.js';

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

  it('tells the state a bucket stands at without charging it (for a request another check refused)', () => {
    const a = gcra(spec, 0, 3, 1000);
    expect(gcraStanding(spec, a.tat, 1000)).toEqual({ allowed: true, tat: a.tat, remaining: 7, resetMs: 18_000, retryAfterMs: 0 });
    // As the charged decision would have said one request earlier, and full once refilled.
    expect(gcraStanding(spec, a.tat, 1000).remaining).toBe(gcra(spec, a.tat, 0, 1000).remaining);
    expect(gcraStanding(spec, a.tat, 60_000)).toMatchObject({ remaining: 10, resetMs: 0 });
  });

  it('formats reset durations as OpenAI does', () => {
    expect(formatResetDuration(20)).toBe('20ms');
    expect(formatResetDuration(1000)).toBe('1s');
    expect(formatResetDuration(360_000)).toBe('6m0s');
    expect(formatResetDuration(3_723_000)).toBe('1h2m3s');
  });
});

describe('GCRA state seeded from stored usage', () => {
  const HOUR = 3_600_000;
  const DAY = 86_400_000;
  const rpd = (limit: number) => ({ limit, periodMs: DAY });
  const now = Date.UTC(2026, 4, 4, 12, 30);
  const from = seedSpanStarts(DAY, HOUR, now)[0];
  const thisHour = (count: number): UsedSpan => ({ endMs: Date.UTC(2026, 4, 4, 13), count });

  it('refuses a key that used all N in the last hour, at once, until one request has refilled', () => {
    const tat = seedTat(rpd(3), from, [thisHour(3)], now);
    expect(tat).toBe(now + DAY);
    expect(gcra(rpd(3), tat, 1, now)).toMatchObject({ allowed: false, remaining: 0, resetMs: DAY, retryAfterMs: DAY / 3 });
    expect(gcra(rpd(3), tat, 1, now + DAY / 3).allowed).toBe(true);
  });

  it('leaves a key that used half its N the other half', () => {
    let tat = seedTat(rpd(4), from, [thisHour(2)], now);
    const seen: number[] = [];
    for (;;) {
      const d = gcra(rpd(4), tat, 1, now);
      if (!d.allowed) break;
      tat = d.tat;
      seen.push(d.remaining);
    }
    expect(seen).toEqual([1, 0]);
  });

  it('leaves the bucket full without stored usage, and counts what refilled since', () => {
    expect(seedTat(rpd(3), from, [], now)).toBeLessThanOrEqual(now);
    expect(seedTat(rpd(3), from, [thisHour(0)], now)).toBeLessThanOrEqual(now);
    // Three requests 20 h ago (their hour ends 19.5 h ago): two have refilled since (one every 8 h), one not yet.
    const tat = seedTat(rpd(3), from, [{ endMs: now - 19.5 * HOUR, count: 3 }], now);
    expect(tat).toBe(now + 4.5 * HOUR);
    expect(gcra(rpd(3), tat, 1, now)).toMatchObject({ allowed: true, remaining: 1 });
  });

  it('keeps a key refused that has run at its limit for longer than a day (its debt is older than the window)', () => {
    // One request every 8 h, each as it refilled, since long before the window: the bucket stays empty.
    const spans = [-24, -16, -8, 0].map((h) => ({ endMs: Math.min(now, now + h * HOUR), count: 1 }));
    const tat = seedTat(rpd(3), from, spans, now);
    expect(tat).toBe(now + DAY);
    expect(gcra(rpd(3), tat, 1, now).allowed).toBe(false);
  });

  it('empties the bucket for one refill, no longer, when more were counted than the limit holds', () => {
    const tat = seedTat(rpd(10), from, [thisHour(100)], now);
    expect(tat).toBe(now + DAY);
    expect(gcra(rpd(10), tat, 1, now + DAY / 10).allowed).toBe(true);
  });

  it('is never looser than the state it replaces, nor tighter than every counted request spent now (random traffic)', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const starts = seedSpanStarts(DAY, HOUR, now);
    for (let run = 0; run < 300; run++) {
      const spec = rpd(1 + Math.floor(random() * 40));
      // Up to three days of traffic, denser or sparser than the limit, the bucket full before it.
      const begin = now - 3 * DAY;
      const times = Array.from({ length: Math.floor(random() * 200) }, () => begin + Math.floor(random() * 3 * DAY)).sort((a, b) => a - b);
      let real = 0;
      const spans = new Map<number, UsedSpan>();
      for (const t of times) {
        const d = gcra(spec, real, 1, t);
        if (!d.allowed) continue; // refused requests are stored as refused, not counted
        real = d.tat;
        const start = Math.floor(t / HOUR) * HOUR;
        if (!starts.includes(start)) continue;
        const span = spans.get(start) ?? { endMs: start + HOUR, count: 0 };
        span.count++;
        spans.set(start, span);
      }
      const counted = [...spans.values()].reduce((n, s) => n + s.count, 0);
      const seeded = seedTat(spec, starts[0], [...spans.values()], now);
      expect(Math.max(seeded, now)).toBeGreaterThanOrEqual(Math.max(real, now));
      expect(seeded).toBeLessThanOrEqual(Math.min(now + counted * (DAY / spec.limit), now + DAY));
    }
  });

  it('reads the spans from the one holding a period ago to the one holding now', () => {
    const starts = seedSpanStarts(DAY, HOUR, now);
    expect(starts).toHaveLength(25);
    expect(starts[0]).toBe(Date.UTC(2026, 4, 3, 12));
    expect(starts.at(-1)).toBe(Date.UTC(2026, 4, 4, 12));
    expect(seedSpanStarts(DAY, HOUR, Date.UTC(2026, 4, 4, 12))).toHaveLength(25);
  });
});
