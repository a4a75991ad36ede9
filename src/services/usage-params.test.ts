import { describe, expect, it } from 'vitest';
import { pageSpan, range, toPage } from './usage-params.js';

const MINUTE_LIMITS = [60, 1440] as const;

describe('usage query range', () => {
  it('without end_time, includes the current second: at the first second of a minute, that minute is a bucket', () => {
    const boundary = 1_800_000_000 - (1_800_000_000 % 60); // a whole minute
    const r = range({ start_time: String(boundary - 1), bucket_width: '1m' }, '1m', MINUTE_LIMITS, boundary);
    const starts = toPage(r, () => []).data.map((b) => b.start_time);
    expect(starts).toEqual([boundary - 60, boundary]);
    expect(pageSpan(r).to).toBe(boundary + 60);
  });

  it('an end_time given is exclusive, as OpenAI documents it', () => {
    const boundary = 1_800_000_000 - (1_800_000_000 % 60);
    const r = range({ start_time: String(boundary - 60), end_time: String(boundary), bucket_width: '1m' }, '1m', MINUTE_LIMITS, boundary + 600);
    expect(toPage(r, () => []).data.map((b) => b.start_time)).toEqual([boundary - 60]);
  });

  it('a day query at midnight shows that day', () => {
    const midnight = 1_800_000_000 - (1_800_000_000 % 86_400);
    const r = range({ start_time: String(midnight - 86_400) }, '1d', [7, 31], midnight);
    expect(toPage(r, () => []).data.map((b) => b.start_time)).toEqual([midnight - 86_400, midnight]);
  });
});
