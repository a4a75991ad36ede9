import { INTERVAL_PATTERN } from '../core/periods.js';
import { typedCents } from '../core/dollars.js';
import { CliError } from './admin-client.js';

// What `tollgate budget set` will write, worked out and checked in full before the first write: a flag that does not
// apply to what is being set is refused, never dropped, and so is an amount the admin API would refuse part-way.

/** The options of `budget set`, as commander parses them. */
export interface BudgetOptions {
  project: string;
  key?: string;
  usd?: string;
  interval: string;
  notifyOnly?: boolean;
  alerts?: string;
  requests?: number;
  requestsInterval: string;
}

/** The admin API's bounds on an amount in cents: `threshold_amount` of spend limits and spend alerts (src/services). */
export const MAX_CENTS = 1e12;

/** The admin API's bound on a key's request quota (RequestQuotaSchema). */
const MAX_REQUESTS = 1e12;

const REQUEST_QUOTA_INTERVALS = ['day', 'month', 'total'];

export type BudgetPlan =
  | { kind: 'key'; keyId: string; body: Record<string, unknown> }
  | { kind: 'project'; spendLimit: Record<string, unknown>; alerts: Array<Record<string, unknown>> | null };

/** Dollars and cents, as `--usd` takes them. */
const dollars = (cents: number) => `$${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;

/** Checks the options against each other and the admin API's bounds; `given` says whether the user typed a flag. */
export function planBudget(o: BudgetOptions, given: (flag: keyof BudgetOptions) => boolean): BudgetPlan {
  if (given('requestsInterval') && o.requests === undefined) throw new CliError('--requests-interval needs --requests');
  // Request quotas are a key's: a project has none (its requests are bounded by rate limits and its spend limit).
  if (o.requests !== undefined && !o.key) throw new CliError("--requests sets a key's request quota (a project has none): give --key <key_id>");
  if (o.usd === undefined && o.requests === undefined) throw new CliError('give --usd or (with --key) --requests');
  if (o.usd === undefined) {
    for (const [flag, name] of [['interval', '--interval'], ['notifyOnly', '--notify-only'], ['alerts', '--alerts']] as const) {
      if (given(flag)) throw new CliError(`${name} needs --usd: it is of the spend limit`);
    }
  }
  if (o.key) {
    // A key's spend limit has no enforcement setting and no alerts of its own (docs/admin-api.md, Spend alerts).
    if (o.notifyOnly) throw new CliError("--notify-only applies to a project's spend limit: a key's spend limit always refuses what would pass it");
    if (given('alerts')) throw new CliError("--alerts sets a project's spend alerts: a key's spend limit tells at 50, 80 and 100 % of it by itself");
  }

  let cents: number | undefined;
  if (o.usd !== undefined) {
    const read = typedCents(o.usd);
    const c = read.ok ? read.cents : read.problem === 'too_large' ? Number.POSITIVE_INFINITY : null;
    if (c === null || c < 1) throw new CliError(`--usd expects an amount above zero in dollars and cents (e.g. 25 or 0.50), got '${o.usd}'`);
    if (c > MAX_CENTS) throw new CliError(`--usd ${o.usd} is too large: a spend limit is at most ${dollars(MAX_CENTS)}`);
    if (!INTERVAL_PATTERN.test(o.interval)) throw new CliError(`--interval expects day, week, month, total or rolling_<N>d (N from 1 to 90), got '${o.interval}'`);
    cents = c;
  }
  if (o.requests !== undefined) {
    if (o.requests > MAX_REQUESTS) throw new CliError(`--requests is at most ${MAX_REQUESTS}, got ${o.requests}`);
    if (!REQUEST_QUOTA_INTERVALS.includes(o.requestsInterval)) throw new CliError(`--requests-interval expects day, month or total, got '${o.requestsInterval}'`);
  }

  if (o.key) {
    return {
      kind: 'key',
      keyId: o.key,
      body: {
        ...(cents !== undefined ? { spend_limit: { threshold_amount: cents, interval: o.interval } } : {}),
        ...(o.requests !== undefined ? { request_quota: { max_requests: o.requests, interval: o.requestsInterval } } : {}),
      },
    };
  }
  // Not a key: the checks above leave a spend limit to set.
  const limit = cents as number;
  const spendLimit = { threshold_amount: limit, currency: 'USD', interval: o.interval, enforcement: { status: o.notifyOnly ? 'inactive' : 'enforcing' } };
  return { kind: 'project', spendLimit, alerts: o.alerts === undefined ? null : alertBodies(o.alerts, limit, o.interval) };
}

/** The spend alerts of `--alerts` (percents of the limit), each amount within the admin API's bounds. */
function alertBodies(alerts: string, cents: number, interval: string): Array<Record<string, unknown>> {
  const parts = alerts.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 1000)) throw new CliError(`--alerts expects whole percents from 1 to 1000, e.g. 50,80,100, got '${alerts}'`);
  if (interval !== 'month') throw new CliError("--alerts needs a monthly limit: spend alerts are of the month's spend");
  // Alerts are whole cents: two percents that round to one amount made two alerts of that amount (1 % and 2 % of $0.50
  // were both 1 cent), one of them not the alert asked for.
  const byAmount = new Map<number, number>();
  return [...new Set(parts.map(Number))]
    .sort((x, y) => x - y)
    .map((p) => {
      const amount = Math.round((cents * p) / 100);
      if (amount < 1) throw new CliError(`--alerts ${p} % of ${dollars(cents)} is less than a cent`);
      if (amount > MAX_CENTS) throw new CliError(`--alerts ${p} % of ${dollars(cents)} is more than the largest spend alert, ${dollars(MAX_CENTS)}`);
      const same = byAmount.get(amount);
      if (same !== undefined) {
        throw new CliError(`--alerts ${same} % and ${p} % of ${dollars(cents)} are both ${dollars(amount)}: alerts are in whole cents, give percents that make different amounts`);
      }
      byAmount.set(amount, p);
      return { threshold_amount: amount, currency: 'USD', interval: 'month', notification_channel: { type: 'email', recipients: [] } };
    });
}
