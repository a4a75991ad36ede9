import { sql } from 'kysely';
import type { KeyLimits } from '../core/key-limits.js';
import { type Interval, periodStart, rollingDays } from '../core/periods.js';
import { BUDGET_REFUSAL_CODES } from '../core/refusal-reasons.js';
import { nanoToUsd } from '../core/pricing.js';
import type { ServiceDeps } from './context.js';
import { getProjectKey } from './api-keys.js';
import { countRefusals } from './refusal-counts.js';
import { getProject } from './projects.js';
import type { Standing } from '../contract/dashboard.js';
import { ROLLUP_COST_SQL, UNCHARGED_KIND } from '../storage/schema-rollups.js';

export type { Standing } from '../contract/dashboard.js';

// Where each budget and quota stands in its current period, for the dashboard (issue 19): what was spent (from the
// daily rollups, as the limits guard seeds its counters), when the period resets, and whether it is blocking requests.
// A budget blocks once spend reached it, and also short of it: the guard reserves a request's largest cost before
// forwarding it, so a budget at 99 % refuses every call that could cost more than the rest. A refusal by the budget
// since its limit was last set says so; raising the limit clears it.

const DAY = 86_400;

/** When the period containing `nowSec` starts over. */
export function periodReset(interval: Interval, nowSec: number): number | null {
  const start = Math.floor(periodStart(interval, nowSec * 1000) / 1000);
  if (rollingDays(interval) !== null || interval === 'day') return Math.floor(nowSec / DAY) * DAY + DAY;
  if (interval === 'week') return start + 7 * DAY;
  if (interval === 'month') {
    const d = new Date(start * 1000);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 1000;
  }
  return null;
}

interface Scope {
  scope: Standing['scope'];
  id: string;
  orgId: string;
  projectId: string | null;
  keyId: string | null;
}

async function sumSince(deps: ServiceDeps, s: Scope, from: number, what: 'cost' | 'requests'): Promise<number> {
  let q = deps.database.db.selectFrom(s.keyId ? 'usage_rollups_1d' : 'usage_rollups_project_1d').where('org_id', '=', s.orgId).where('bucket_start', '>=', from);
  if (s.projectId) q = q.where('project_id', '=', s.projectId);
  if (s.keyId) q = q.where('api_key_id', '=', s.keyId);
  // As the guard counts them (limit-seeding.ts): cost of billed requests; forwarded requests for quotas, but the
  // listings of models, which no quota is charged for (the standing showed a quota used up that still admitted).
  if (what === 'requests') q = q.where('endpoint_kind', '!=', UNCHARGED_KIND);
  const sum = what === 'cost' ? sql`sum(${sql.raw(ROLLUP_COST_SQL)})` : sql`sum(num_requests - num_refused_requests)`;
  const row = await q.select(sql<number>`coalesce(${sum}, 0)`.as('v')).executeTakeFirst();
  return Number(row?.v ?? 0);
}

async function standing(
  deps: ServiceDeps,
  s: Scope,
  kind: Standing['kind'],
  terms: { limit: number; interval: Interval; enforced: boolean; setAt: number },
  code: string,
  nowSec: number,
): Promise<Standing> {
  const start = Math.floor(periodStart(terms.interval, nowSec * 1000) / 1000);
  const raw = await sumSince(deps, s, start, kind === 'spend' ? 'cost' : 'requests');
  const used = kind === 'spend' ? nanoToUsd(raw) : raw;
  const refusals = await countRefusals(deps, s.orgId, {
    // Refusals in the second the limit was set may have come before it: not counted (the next one will be).
    from: Math.max(start, terms.setAt + 1),
    to: nowSec + 1,
    codes: [code],
    apiKeyIds: s.keyId ? [s.keyId] : undefined,
    projectIds: s.projectId && !s.keyId ? [s.projectId] : undefined,
  });
  const refused = refusals.reduce((a, r) => a + r.count, 0);
  return {
    kind,
    scope: s.scope,
    id: s.id,
    project_id: s.projectId,
    interval: terms.interval,
    period_start: start,
    resets_at: periodReset(terms.interval, nowSec),
    limit: terms.limit,
    used,
    enforced: terms.enforced,
    blocked: terms.enforced && (used >= terms.limit || refused > 0),
    refused,
    last_refused_at: refusals.length ? Math.max(...refusals.map((r) => r.last_at)) : null,
  };
}

async function spendRows(deps: ServiceDeps, ids: string[]) {
  if (ids.length === 0) return [];
  return deps.database.db
    .selectFrom('spend_limits')
    .select(['project_id', 'threshold_amount', 'interval', 'enforcement', 'updated_at'])
    .where('project_id', 'in', ids)
    .where('threshold_amount', 'is not', null)
    .execute();
}

/** When a key's limits were last set (its creation or latest change), from the audit log. */
async function keyLimitsSetAt(deps: ServiceDeps, orgId: string, keyId: string): Promise<number> {
  const row = await deps.database.db
    .selectFrom('audit_logs')
    .select((eb) => eb.fn.max('effective_at').as('at'))
    .where('org_id', '=', orgId)
    .where('object_id', '=', keyId)
    .where('type', 'in', ['api_key.created', 'api_key.updated'])
    .executeTakeFirst();
  return Number(row?.at ?? 0);
}

/**
 * Budgets and quotas in force: the organization's, and those of the projects asked (every active one when none is
 * named); with a key, also the key's own spend limit and request quota.
 */
export async function budgetStandings(
  deps: ServiceDeps,
  orgId: string,
  opts: { projectId?: string | null; keyId?: string | null },
): Promise<Standing[]> {
  const nowSec = Math.floor(deps.clock() / 1000);
  let projectIds: string[];
  if (opts.projectId) {
    await getProject(deps, orgId, opts.projectId);
    projectIds = [opts.projectId];
  } else {
    const rows = await deps.database.db.selectFrom('projects').select('id').where('org_id', '=', orgId).where('status', '=', 'active').orderBy('seq').execute();
    projectIds = rows.map((r) => r.id);
  }
  const rows = await spendRows(deps, [orgId, ...projectIds]);
  const out: Standing[] = [];
  const ordered = [...rows.filter((r) => r.project_id === orgId), ...projectIds.flatMap((p) => rows.filter((r) => r.project_id === p))];
  for (const r of ordered) {
    const isOrg = r.project_id === orgId;
    const scope: Scope = { scope: isOrg ? 'organization' : 'project', id: r.project_id, orgId, projectId: isOrg ? null : r.project_id, keyId: null };
    const terms = { limit: (r.threshold_amount as number) / 100, interval: r.interval as Interval, enforced: r.enforcement === 'enabled', setAt: r.updated_at };
    out.push(await standing(deps, scope, 'spend', terms, isOrg ? BUDGET_REFUSAL_CODES.organization : BUDGET_REFUSAL_CODES.project, nowSec));
  }
  if (opts.keyId && opts.projectId) {
    const key = await getProjectKey(deps, orgId, opts.projectId, opts.keyId);
    const limits: KeyLimits = { spend_limit: key.spend_limit, request_quota: key.request_quota };
    const scope: Scope = { scope: 'api_key', id: key.id, orgId, projectId: opts.projectId, keyId: key.id };
    const setAt = limits.spend_limit || limits.request_quota ? await keyLimitsSetAt(deps, orgId, key.id) : 0;
    if (limits.spend_limit) {
      const terms = { limit: limits.spend_limit.threshold_amount / 100, interval: limits.spend_limit.interval ?? 'month', enforced: true, setAt };
      out.push(await standing(deps, scope, 'spend', terms, BUDGET_REFUSAL_CODES.api_key, nowSec));
    }
    if (limits.request_quota) {
      const terms = { limit: limits.request_quota.max_requests, interval: limits.request_quota.interval ?? 'total', enforced: true, setAt };
      out.push(await standing(deps, scope, 'quota', terms, 'api_key_quota_exceeded', nowSec));
    }
  }
  return out;
}
