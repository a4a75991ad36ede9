// Times in providers' headers, read strictly: `Date.parse` takes nearly anything (V8 reads '-1' as 2001-01-01, '1' as
// 2001 too), so a malformed header read as a date past made a 429 cool its key for 0 ms and hid the headers beside it
// (found by an outside review). Each parser takes exactly its grammar and answers null for anything else.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

// RFC 9110 §5.6.7: IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", rfc850-date "Sunday, 06-Nov-94 08:49:37 GMT",
// asctime-date "Sun Nov  6 08:49:37 1994" (the day two characters, space-padded). Case-sensitive, as the grammar is.
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

// RFC 3339 §5.6 date-time: "2026-12-04T10:00:30Z", "…T10:00:30.25+01:00" ("T" and "Z" in either case).
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Milliseconds since the epoch of a UTC date and time (`month` from 0), or null when a field is out of its range (31
 * February, hour 24). A leap second (60) reads as the next minute's start. Years below 100 never reach here (Date.UTC
 * would take them for 1900–1999): every grammar below gives four digits, or two resolved to a century first.
 */
function utc(year: number, month: number, day: number, hour: number, minute: number, second: number, ms = 0): number | null {
  if (hour > 23 || minute > 59 || second > 60) return null;
  const t = Date.UTC(year, month, day, hour, minute, second, ms);
  const date = new Date(Date.UTC(year, month, day));
  return month >= 0 && month <= 11 && date.getUTCMonth() === month && date.getUTCDate() === day ? t : null;
}

/**
 * An HTTP-date (RFC 9110 §5.6.7) in milliseconds since the epoch, or null for anything else. A two-digit RFC 850 year
 * is the most recent year with those digits not more than 50 years after `nowMs`, as the RFC tells recipients to read it.
 */
export function parseHttpDate(v: string, nowMs: number): number | null {
  let m = IMF_FIXDATE.exec(v);
  if (m) return utc(Number(m[3]), MONTHS.indexOf(m[2]), Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  m = RFC850_DATE.exec(v);
  if (m) {
    const thisYear = new Date(nowMs).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    return utc(year, MONTHS.indexOf(m[2]), Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = ASCTIME_DATE.exec(v);
  if (m) return utc(Number(m[6]), MONTHS.indexOf(m[1]), Number(m[2].trim()), Number(m[3]), Number(m[4]), Number(m[5]));
  return null;
}

/** An RFC 3339 date-time (Anthropic's `anthropic-ratelimit-*-reset`) in milliseconds since the epoch, or null. */
export function parseRfc3339(v: string): number | null {
  const m = RFC3339.exec(v);
  if (!m) return null;
  const ms = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  const t = utc(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms);
  if (t === null) return null;
  if (m[8]) return t;
  const hours = Number(m[10]);
  const minutes = Number(m[11]);
  if (hours > 23 || minutes > 59) return null;
  // The local time is `offset` ahead of UTC: UTC is the local time less it.
  return t - (m[9] === '+' ? 1 : -1) * (hours * 60 + minutes) * 60_000;
}
