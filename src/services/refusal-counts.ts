import { sql } from 'kysely';
import { TollgateError } from '../core/errors.js';
import { refusalReason } from '../core/refusal-reasons.js';
import type { ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import type { RefusalCount, RefusalReport } from '../contract/dashboard.js';

export type { RefusalCount } from '../contract/dashboard.js';

// Requests the gateway refused, counted by reason (usage_events with outcome 'refused', over their own partial index,
// migration 092). The Usage API counts them (num_refused_requests) but cannot say why; the dashboard shows why.

export interface RefusalFilter {
  from: number;
  to: number;
  projectIds?: string[];
  apiKeyIds?: string[];
  codes?: string[];
}

/** Refusals in [from, to) (unix seconds), by error code, most frequent first. */
export async function countRefusals(deps: ServiceDeps, orgId: string, f: RefusalFilter): Promise<RefusalCount[]> {
  // The literal (not a bound parameter) lets SQLite match the partial index's own WHERE clause.
  let q = deps.database.db
    .selectFrom('usage_events')
    .where(sql<boolean>`outcome = 'refused'`)
    .where('created_at_ms', '>=', f.from * 1000)
    .where('created_at_ms', '<', f.to * 1000)
    .where('org_id', '=', orgId);
  if (f.projectIds?.length) q = q.where('project_id', 'in', f.projectIds);
  if (f.apiKeyIds?.length) q = q.where('api_key_id', 'in', f.apiKeyIds);
  if (f.codes?.length) q = q.where('error_code', 'in', f.codes);
  const rows = await q
    .select(['error_code', sql<number>`count(*)`.as('n'), sql<number>`max(created_at_ms)`.as('last_ms')])
    .groupBy('error_code')
    .execute();
  return rows
    .map((r) => ({ error_code: r.error_code, reason: refusalReason(r.error_code), count: Number(r.n), last_at: Math.floor(Number(r.last_ms) / 1000) }))
    .sort((a, b) => b.count - a.count || (a.error_code ?? '').localeCompare(b.error_code ?? ''));
}

const MAX_SPAN = 400 * 86_400;

function seconds(query: Record<string, unknown>, name: string): number | null {
  const v = query[name];
  if (v === undefined || v === '') return null;
  if (typeof v !== 'string' || !/^\d{1,12}$/.test(v)) throw new TollgateError('invalid_value', `Invalid value for '${name}': expected unix seconds.`, name);
  return Number(v);
}

function ids(query: Record<string, unknown>, name: string): string[] {
  const out: string[] = [];
  for (const key of [name, `${name}[]`]) {
    const v = query[key];
    for (const item of Array.isArray(v) ? v : v === undefined ? [] : [v]) out.push(...String(item).split(',').map((s) => s.trim()).filter(Boolean));
  }
  return [...new Set(out)];
}

/** The query parameters refusalsReport reads; the route refuses any other. */
export const REFUSAL_PARAMS = ['start_time', 'end_time', 'project_ids', 'project_ids[]', 'api_key_ids', 'api_key_ids[]'] as const;

/** GET /auth/dashboard/refusals: `start_time` (required), `end_time` (exclusive; default just after now), `project_ids`, `api_key_ids`. */
export async function refusalsReport(deps: ServiceDeps, orgId: string, query: Record<string, unknown>): Promise<RefusalReport> {
  const from = seconds(query, 'start_time');
  if (from === null) throw new TollgateError('missing_required_parameter', "Missing required parameter: 'start_time'.", 'start_time');
  // Without an end, up to now inclusive: the range's end is exclusive, and this second's refusals count.
  const to = seconds(query, 'end_time') ?? nowSeconds(deps) + 1;
  if (to <= from) throw new TollgateError('invalid_value', "Invalid value for 'end_time': must be after start_time.", 'end_time');
  if (to - from > MAX_SPAN) throw new TollgateError('invalid_value', "Invalid value for 'start_time': a range spans at most 400 days.", 'start_time');
  const data = await countRefusals(deps, orgId, { from, to, projectIds: ids(query, 'project_ids'), apiKeyIds: ids(query, 'api_key_ids') });
  return { object: 'list', data, total: data.reduce((sum, r) => sum + r.count, 0), start_time: from, end_time: to };
}
