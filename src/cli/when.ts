import { CliError } from './admin-client.js';

// The times the CLI's options take (`--expires`, `--since`, `--until`): unix seconds, a span from now, or ISO 8601
// exactly. Found by review: V8's Date.parse reads nearly anything (`2027-02-30` as 2 March, `foo 2030` as 1 January
// 2030, `Dec 1` as 1 December 2001) and reads a time without a zone in the machine's time zone, so each of those made
// a key or a filter other than the one asked for, without a word.

// YYYY-MM-DD, optionally THH:MM[:SS[.fraction]], optionally Z or ±HH:MM (the zone only after a time).
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

const SPAN_SECONDS = { m: 60, h: 3600, d: 86_400 } as const;

/** The days of a month of the proleptic Gregorian calendar (month 1-12). */
function daysIn(year: number, month: number): number {
  // setUTCFullYear, not Date.UTC, which reads years 0-99 as 1900-1999.
  const day = new Date(0);
  day.setUTCFullYear(year, month, 0);
  return day.getUTCDate();
}

/**
 * Unix seconds of an ISO 8601 date or time as the CLI takes it, or null when it is not one or names a day or hour that
 * does not exist (2027-02-30, 24:00, +25:00). A date alone, or a time without a zone, is read as UTC, the same on any
 * machine; fractions of a second are dropped.
 */
export function isoSeconds(text: string): number | null {
  const m = ISO.exec(text);
  if (!m) return null;
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map((v) => (v === undefined ? undefined : Number(v))) as number[];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  let offsetMinutes = 0;
  const zone = m[7];
  if (zone && zone !== 'Z') {
    const [h, mm] = zone.slice(1).split(':').map(Number);
    if (h > 23 || mm > 59) return null;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (h * 60 + mm);
  }
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day); // Date.UTC would read years 0-99 as 1900-1999
  utc.setUTCHours(hour, minute, second, 0);
  return utc.getTime() / 1000 - offsetMinutes * 60;
}

/**
 * The unix seconds an option's time names: whole unix seconds, a span (`90m`, `12h`, `30d`) back from now (`ago`: the
 * filters) or ahead of it (`ahead`: an expiry), or an ISO 8601 date or time (isoSeconds). Anything else is refused,
 * naming the flag.
 */
export function parseWhen(value: string, nowSec: number, flag: string, spans: 'ago' | 'ahead'): number {
  const span = /^(\d+)([mhd])$/.exec(value);
  const seconds = span
    ? nowSec + (spans === 'ago' ? -1 : 1) * Number(span[1]) * SPAN_SECONDS[span[2] as keyof typeof SPAN_SECONDS]
    : /^\d+$/.test(value)
      ? Number(value)
      : isoSeconds(value);
  if (seconds === null || !Number.isSafeInteger(seconds)) {
    const example = spans === 'ago' ? '7d/12h/30m ago' : '30d/12h/90m from now';
    throw new CliError(
      `${flag} expects unix seconds, an ISO 8601 date or time (2030-01-31, 2030-01-31T12:00, 2030-01-31T12:00:00+02:00; UTC without a zone) or ${example}, got '${value}'`,
    );
  }
  return seconds;
}
