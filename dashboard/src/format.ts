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

/** The local calendar date of a unix time, as an <input type=date> value ("2026-03-04"). */
export function toDateInput(seconds: number): string {
  const d = new Date(seconds * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Local midnight of an <input type=date> value, in unix seconds. */
export function fromDateInput(value: string): number {
  const [y, m, d] = value.split('-').map(Number);
  return Math.floor(new Date(y, m - 1, d).getTime() / 1000);
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
