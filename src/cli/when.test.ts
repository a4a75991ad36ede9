import { describe, expect, it } from 'vitest';
import { isoSeconds, parseWhen } from './when.js';

describe('isoSeconds', () => {
  it('reads a date, or a time without a zone, as UTC (whatever the machine\'s time zone)', () => {
    expect(isoSeconds('2030-01-02')).toBe(Date.UTC(2030, 0, 2) / 1000);
    expect(isoSeconds('2030-01-02T03:04')).toBe(Date.UTC(2030, 0, 2, 3, 4) / 1000);
    expect(isoSeconds('2030-01-02T03:04:05.123456')).toBe(Date.UTC(2030, 0, 2, 3, 4, 5) / 1000);
    expect(isoSeconds('2030-01-02T03:04:05Z')).toBe(Date.UTC(2030, 0, 2, 3, 4, 5) / 1000);
    expect(isoSeconds('2030-01-02T00:30+01:00')).toBe(Date.UTC(2030, 0, 1, 23, 30) / 1000);
    expect(isoSeconds('2030-01-02T23:30-00:45')).toBe(Date.UTC(2030, 0, 3, 0, 15) / 1000);
    expect(isoSeconds('1970-01-01')).toBe(0);
    expect(isoSeconds('0050-01-01')).toBe(Date.parse('0050-01-01T00:00:00Z') / 1000); // not 1950, as Date.UTC reads 50
  });

  it('takes leap days only in leap years', () => {
    expect(isoSeconds('2028-02-29')).toBe(Date.UTC(2028, 1, 29) / 1000);
    expect(isoSeconds('2000-02-29')).not.toBeNull();
    expect(isoSeconds('2100-02-29')).toBeNull();
    expect(isoSeconds('2027-02-29')).toBeNull();
    // Years 0-99 are theirs, not 1900-1999's (Date.UTC's reading): year 0 is a leap year, 100 is not.
    expect(isoSeconds('0000-02-29')).not.toBeNull();
    expect(isoSeconds('0100-02-29')).toBeNull();
    expect(isoSeconds('0004-02-29')).not.toBeNull();
  });

  it('refuses what Date.parse would have read some way', () => {
    for (const text of [
      '2027-02-30', '2027-04-31', '2027-00-10', '2027-13-01', '2027-01-00', '2027-01-32',
      '2030-01-02T24:00', '2030-01-02T23:60', '2030-01-02T23:59:60', '2030-01-02T03:04+24:00', '2030-01-02T03:04+01:60',
      'foo 2030', 'Dec 1', 'Dec 1 2030', '2030', '2030-01', '2030-1-2', '02/01/2030', '2030-01-02 03:04', '2030-01-02T3:04',
      '2030-01-02Z', '2030-01-02T03:04:05.', '2030-01-02T03:04+0100', '2030-01-02t03:04', ' 2030-01-02', '2030-01-02\n', '+002030-01-02',
      'Thu, 01 Jan 2030 00:00:00 GMT', '',
    ]) {
      expect(isoSeconds(text), text).toBeNull();
    }
  });
});

describe('parseWhen', () => {
  const now = 1_900_000_000;
  it('takes unix seconds, spans back from now or ahead of it, and ISO 8601', () => {
    expect(parseWhen('1893456000', now, '--since', 'ago')).toBe(1_893_456_000);
    expect(parseWhen('7d', now, '--since', 'ago')).toBe(now - 7 * 86_400);
    expect(parseWhen('90m', now, '--expires', 'ahead')).toBe(now + 90 * 60);
    expect(parseWhen('12h', now, '--expires', 'ahead')).toBe(now + 12 * 3600);
    expect(parseWhen('2030-01-02', now, '--until', 'ago')).toBe(Date.UTC(2030, 0, 2) / 1000);
  });

  it('refuses anything else naming the flag, and a number too large to be a time', () => {
    expect(() => parseWhen('2027-02-30', now, '--expires', 'ahead')).toThrow(/^--expires expects unix seconds, an ISO 8601 date or time .* or 30d\/12h\/90m from now, got '2027-02-30'$/);
    expect(() => parseWhen('Dec 1', now, '--since', 'ago')).toThrow(/^--since expects .* or 7d\/12h\/30m ago, got 'Dec 1'$/);
    for (const text of ['99999999999999999999', '9999999999999999d', '-5', '1.5', '1e9', '7 d', '7D', '7w']) {
      expect(() => parseWhen(text, now, '--since', 'ago'), text).toThrow(/--since expects/);
    }
  });
});
