import { describe, expect, it } from 'vitest';
import { parseHttpDate, parseRfc3339 } from './header-times.js';

const NOW = Date.UTC(2026, 11, 4, 10, 0, 0);

describe('parseHttpDate: RFC 9110 §5.6.7 only', () => {
  it('reads the three forms to the same instant', () => {
    const at = Date.UTC(1994, 10, 6, 8, 49, 37);
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT', NOW)).toBe(at);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).toBe(at);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994', NOW)).toBe(at);
    expect(parseHttpDate('Sun, 29 Feb 2032 00:00:00 GMT', NOW)).toBe(Date.UTC(2032, 1, 29));
  });

  it('reads a two-digit year as the most recent one not more than 50 years ahead', () => {
    expect(parseHttpDate('Friday, 04-Dec-26 10:01:00 GMT', NOW)).toBe(Date.UTC(2026, 11, 4, 10, 1));
    expect(parseHttpDate('Wednesday, 01-Jan-76 00:00:00 GMT', NOW)).toBe(Date.UTC(2076, 0, 1));
    expect(parseHttpDate('Saturday, 01-Jan-77 00:00:00 GMT', NOW)).toBe(Date.UTC(1977, 0, 1));
  });

  it('answers null for anything else, however Date.parse would read it', () => {
    for (const v of ['-1', '1', '60', '2026-12-04', '2026-12-04T10:00:00Z', 'Fri, 04 Dec 2026 10:01:00', 'fri, 04 dec 2026 10:01:00 gmt', 'Fri, 4 Dec 2026 10:01:00 GMT', 'Fri, 30 Feb 2026 10:01:00 GMT', 'Fri, 04 Dec 2026 24:00:00 GMT', 'Fri, 04 Dec 2026 10:60:00 GMT', 'Fri, 04 Dec 2026 10:01:00 UTC', ' Fri, 04 Dec 2026 10:01:00 GMT', 'Fri Dec 4 10:01:00 2026', '']) {
      expect([v, parseHttpDate(v, NOW)]).toEqual([v, null]);
    }
  });
});

describe('parseRfc3339: date-times only', () => {
  it('reads UTC, offsets and fractions', () => {
    expect(parseRfc3339('2026-12-04T10:00:30Z')).toBe(Date.UTC(2026, 11, 4, 10, 0, 30));
    expect(parseRfc3339('2026-12-04T10:00:30.5Z')).toBe(Date.UTC(2026, 11, 4, 10, 0, 30, 500));
    expect(parseRfc3339('2026-12-04T05:30:30-04:30')).toBe(Date.UTC(2026, 11, 4, 10, 0, 30));
    expect(parseRfc3339('2026-12-04t10:00:30z')).toBe(Date.UTC(2026, 11, 4, 10, 0, 30));
  });

  it('answers null for anything else', () => {
    for (const v of ['-1', '1', '2026-12-04', '2026-12-04T10:00:30', '2026-12-04 10:00:30Z', '2026-02-30T10:00:30Z', '2026-12-04T10:00:30+24:00', '2026-12-04T10:00:30+0100', 'Fri, 04 Dec 2026 10:01:00 GMT', '+002026-12-04T10:00:30Z']) {
      expect([v, parseRfc3339(v)]).toEqual([v, null]);
    }
  });
});
