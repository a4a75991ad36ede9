import { randomBase62 } from '../core/base62.js';
import type { KeyLimits } from '../core/key-limits.js';
import type { ProjectPolicy } from '../core/limit-plan.js';
import type { Interval } from '../core/periods.js';
import type { ServiceDeps } from './context.js';

// What the gateway enforces for a project, or for the organization (its spend limit and alerts are stored under its
// id): the rate limits it enforces (services/rate-limits.ts), the spend limit (spend-limits.ts) and the spend alerts
// (spend-alerts.ts).

export type { ProjectPolicy, SpendPolicy } from '../core/limit-plan.js';

/** Loads a project's (or the organization's) policy; cached by the caller, invalidated on change. */
export async function loadProjectPolicy(deps: ServiceDeps, scopeId: string): Promise<ProjectPolicy> {
  const db = deps.database.db;
  const rows = await db.selectFrom('rate_limits').selectAll().where('project_id', '=', scopeId).execute();
  const spend = await db.selectFrom('spend_limits').selectAll().where('project_id', '=', scopeId).executeTakeFirst();
  const alerts = await db.selectFrom('spend_alerts').selectAll().where('project_id', '=', scopeId).orderBy('seq').execute();
  const limit = spend?.threshold_amount ? Number(spend.threshold_amount) : null;
  return {
    // A row with only dimensions Tollgate does not enforce (images, audio, batch tokens) plans nothing.
    rateLimits: rows
      .filter((r) => r.max_requests_per_1_minute || r.max_tokens_per_1_minute || r.max_requests_per_1_day)
      .map((r) => ({
      model: r.model === '' ? '*' : r.model,
      max_requests_per_1_minute: r.max_requests_per_1_minute,
      max_tokens_per_1_minute: r.max_tokens_per_1_minute,
      max_requests_per_1_day: r.max_requests_per_1_day,
      rpdRev: r.rpd_rev,
    })),
    spend:
      limit !== null || alerts.length > 0
        ? {
            thresholdCents: limit,
            interval: (spend?.interval ?? 'month') as Interval,
            rev: spend?.spend_rev ?? null,
            enforced: spend?.enforcement === 'enabled',
            alerts: alerts.map((a) => ({
              id: a.id,
              thresholdCents: Number(a.threshold_amount),
              recipients: JSON.parse(a.recipients) as string[],
              subjectPrefix: a.subject_prefix,
            })),
          }
        : null,
  };
}

/**
 * A new setting of a limit whose store state holds only what was used under it (core/limit-plan.ts): of a key's or a
 * project's requests-per-day limit (api_keys.rpd_rev, rate_limits.rpd_rev) whenever it changes, of a request quota's or
 * spend limit's interval (api_keys.quota_rev and spend_rev, spend_limits.spend_rev) whenever it changes or the limit is
 * set again (a project's or the organization's also when it is removed: its spend alerts' counter is named by it). The store keys name it, so that a limit set back to a value or interval it had earlier gets a bucket or
 * counter counted from stored usage, not the one it had then.
 */
export function newLimitRev(deps: ServiceDeps): string {
  return randomBase62(12, deps.randomBytes);
}

/** The interval a key's request quota is counted over, or null for none. */
export function quotaIntervalOf(limits: KeyLimits | null | undefined): string | null {
  return limits?.request_quota ? (limits.request_quota.interval ?? 'total') : null;
}

/** The interval a key's spend limit is counted over, or null for none. */
export function spendIntervalOf(limits: KeyLimits | null | undefined): string | null {
  return limits?.spend_limit ? (limits.spend_limit.interval ?? 'month') : null;
}

/** A requests-per-day limit as it is enforced: a positive number, or null for none. */
export function rpdOf(rateLimits: { max_requests_per_1_day?: number | null } | null | undefined): number | null {
  const n = rateLimits?.max_requests_per_1_day;
  return n ? Number(n) : null;
}
