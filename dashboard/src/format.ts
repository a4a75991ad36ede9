// Display formatting in the browser's locale. API times are unix seconds.

const dateFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const numberFmt = new Intl.NumberFormat();
const usdFmt = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD', maximumFractionDigits: 2 });

/** "Mar 4, 2026". */
export function formatDate(seconds: number | null | undefined): string {
  return seconds ? dateFmt.format(new Date(seconds * 1000)) : '—';
}

/** "Mar 4, 2026, 10:15". */
export function formatDateTime(seconds: number | null | undefined): string {
  return seconds ? dateTimeFmt.format(new Date(seconds * 1000)) : '—';
}

/** "1,234". */
export function formatNumber(n: number): string {
  return numberFmt.format(n);
}

/** "$12.34". */
export function formatUsd(amount: number): string {
  return usdFmt.format(amount);
}

/** Local midnight of an <input type=date> value, in unix seconds (the audit log's days, which are the user's own). */
export function fromDateInput(value: string): number {
  const [y, m, d] = value.split('-').map(Number);
  return Math.floor(new Date(y, m - 1, d).getTime() / 1000);
}

// Usage buckets are UTC days and hours (the Usage and Costs APIs bucket by UTC, as OpenAI's do): they are picked,
// labelled and counted as UTC, whatever the browser's zone. Read in local time, a New York user's 01:29 request
// showed under the day before, and a 7-day range widened to 8 UTC days.
const utcDayFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });
const utcHourFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
const utcShortDayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
const utcClockFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' });

/** The UTC day a unix time falls in, "Mar 4, 2026": how a daily bucket is named. */
export function formatUtcDay(seconds: number): string {
  return utcDayFmt.format(new Date(seconds * 1000));
}

/** A UTC date and hour, "Mar 4, 2026, 10:00 AM": how an hourly bucket is named. */
export function formatUtcHour(seconds: number): string {
  return utcHourFmt.format(new Date(seconds * 1000));
}

/** A chart tick: "Mar 4" for a UTC day (an hourly chart's midnight too), "10:00 AM" for another UTC hour. */
export function formatUtcTick(seconds: number): string {
  return seconds % 86_400 === 0 ? utcShortDayFmt.format(new Date(seconds * 1000)) : utcClockFmt.format(new Date(seconds * 1000));
}

/** The UTC day of a unix time, as an <input type=date> value ("2026-03-04"). */
export function toUtcDateInput(seconds: number): string {
  return new Date(Math.floor(seconds / 86_400) * 86_400_000).toISOString().slice(0, 10);
}

/** The start (00:00 UTC) of an <input type=date> value's day, in unix seconds; NaN for an empty or malformed value. */
export function fromUtcDateInput(value: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return Number.NaN;
  return Date.parse(`${value}T00:00:00Z`) / 1000;
}

/** "$5.00" from cents. */
export function formatCents(cents: number): string {
  return usdFmt.format(cents / 100);
}

const DAY = 86_400;

/** "Expires in 3 days", "Expires today", "Expires Mar 4, 2026": how soon a key stops working. */
export function expiryLabel(expiresAt: number, nowSec: number): { text: string; soon: boolean } {
  const left = expiresAt - nowSec;
  if (left <= 0) return { text: 'Expired', soon: true };
  const days = Math.ceil(left / DAY);
  if (left < DAY) return { text: `Expires in ${Math.max(1, Math.round(left / 3600))} h`, soon: true };
  if (days <= 7) return { text: `Expires in ${days} day${days === 1 ? '' : 's'}`, soon: true };
  return { text: `Expires ${formatDate(expiresAt)}`, soon: false };
}

/** "per day", "per month", "in total", "per 7 days (rolling)": a limit's interval in words. */
export function intervalLabel(interval: string | undefined): string {
  if (!interval || interval === 'month') return 'per month';
  if (interval === 'day') return 'per day';
  if (interval === 'week') return 'per week';
  if (interval === 'total') return 'in total';
  const rolling = /^rolling_(\d+)d$/.exec(interval);
  return rolling ? `per ${rolling[1]} days (rolling)` : interval;
}
