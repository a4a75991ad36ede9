import { z } from 'zod';
import type { AuditEventType } from '../core/audit-events.js';
import { TollgateError } from '../core/errors.js';
import type { Interval } from '../core/periods.js';
import { IntervalSchema } from './api-keys.js';
import { writeAudit } from './audit.js';
import { changedMembers, changesAnything } from './changed-members.js';
import { asActingOwner } from './acting-owner.js';
import type { Actor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { recordKeyChange } from './key-writes.js';
import { newLimitRev } from './limits.js';
import { getActiveProject, getProject, requireActiveProject } from './projects.js';
import { CurrencySchema } from './spend-fields.js';
import { parseInput } from './validation.js';
import type {
  OrganizationSpendLimitDeleted,
  OrganizationSpendLimitObject,
  ProjectSpendLimitDeleted,
  ProjectSpendLimitObject,
  SpendLimitTerms,
} from '../contract/limits.js';

export type { OrganizationSpendLimitObject, ProjectSpendLimitObject } from '../contract/limits.js';

// OpenAI's hard spend limits of a project and of the organization (get, create or replace, delete). The
// organization's is stored like a project's, under the organization's id. Tollgate's additions: intervals besides
// `month` (day, week, total, rolling_<N>d) and `enforcement.status` in the body: `inactive` watches the limit
// (dashboard, headers) without refusing anything.

/** OpenAI's enforcement words; the older `enabled`/`disabled` (stored) are still taken. */
const EnforcementStatus = z.enum(['enforcing', 'inactive', 'enabled', 'disabled']).transform((s) => (s === 'enforcing' || s === 'enabled' ? 'enabled' : 'disabled'));

/** The body of POST /spend_limit and /projects/{project_id}/spend_limit: OpenAI's UpdateProjectSpendLimitBody / UpdateOrganizationSpendLimitBody, and Tollgate's `enforcement`. */
export const SpendLimitBody = z.strictObject({
  threshold_amount: z.number().int().min(1).max(1e12),
  currency: CurrencySchema.optional(),
  interval: IntervalSchema.optional(),
  enforcement: z.strictObject({ status: EnforcementStatus }).optional(),
});

export type SpendLimitBody = z.output<typeof SpendLimitBody>;

type SpendRow = { threshold_amount: number | null; interval: string; enforcement: string; updated_at: number };

async function spendRow(deps: ServiceDeps, scopeId: string): Promise<SpendRow | undefined> {
  const row = await deps.database.db.selectFrom('spend_limits').selectAll().where('project_id', '=', scopeId).executeTakeFirst();
  return row && row.threshold_amount !== null ? row : undefined;
}

function terms(row: SpendRow): SpendLimitTerms {
  return {
    threshold_amount: Number(row.threshold_amount),
    currency: 'USD',
    interval: row.interval as Interval,
    enforcement: { status: row.enforcement === 'enabled' ? 'enforcing' : 'inactive' },
    updated_at: row.updated_at,
  };
}

/** Parses a spend limit's body (SpendLimitBody), saying what to do instead when the amount is null. */
export function parseSpendLimitBody(input: unknown): SpendLimitBody {
  // A null amount cleared the limit before DELETE was served: say what to do instead of "expected number".
  if (input && typeof input === 'object' && (input as Record<string, unknown>).threshold_amount === null) {
    throw new TollgateError('invalid_value', "Invalid value for 'threshold_amount': expected an amount in cents from 1; to remove the spend limit, DELETE it.", 'threshold_amount');
  }
  return parseInput(SpendLimitBody, input);
}

const noLimit = (what: string) => new TollgateError('not_found', `No spend limit is set for ${what}.`, null);

/** Creates or replaces the limit stored under `scopeId`; members left out keep their value (new: month, enforcing). */
async function upsert(deps: ServiceDeps, orgId: string, scopeId: string, body: SpendLimitBody, type: AuditEventType, actor: Actor): Promise<void> {
  const now = nowSeconds(deps);
  const values = {
    threshold_amount: body.threshold_amount,
    ...(body.interval ? { interval: body.interval } : {}),
    ...(body.enforcement ? { enforcement: body.enforcement.status } : {}),
    updated_at: now,
  };
  const wrote = await asActingOwner(deps, actor, async (trx) => {
    // A project archived since the check before: refused (the organization's limit is stored under its id).
    if (scopeId !== orgId) await requireActiveProject(trx, deps, scopeId);
    // The limit as it is now, held until this commits: a limit set again with the terms it has is no change, and
    // writes nothing (its updated_at, from which refusals are counted, stays) and no entry.
    const current = trx.selectFrom('spend_limits').selectAll().where('project_id', '=', scopeId);
    const row = await (deps.database.dialect === 'postgres' ? current.forUpdate() : current).executeTakeFirst();
    let changed: Partial<SpendLimitBody> = body;
    const held = row && row.threshold_amount !== null;
    if (held) {
      changed = changedMembers(body, { threshold_amount: Number(row.threshold_amount), currency: 'USD', interval: row.interval as Interval, enforcement: { status: row.enforcement as 'enabled' | 'disabled' } });
      if (!changesAnything(changed)) return false;
    }
    // A limit set anew, or its interval changed, is a new setting: its counters are new ones, counted from stored usage
    // (core/limit-plan.ts), not those of an interval it had before.
    const interval = body.interval ?? row?.interval ?? 'month';
    const set = !held || interval !== row.interval ? { ...values, spend_rev: newLimitRev(deps) } : values;
    await trx
      .insertInto('spend_limits')
      .values({ project_id: scopeId, interval: 'month', enforcement: 'enabled', ...set })
      .onConflict((oc) => oc.column('project_id').doUpdateSet(set))
      .execute();
    await recordKeyChange(trx, deps, scopeId);
    // The organization's limit is stored under its id: no project in the audit entry then.
    await writeAudit(trx, deps, { orgId, type, actor, projectId: scopeId === orgId ? null : scopeId, objectId: scopeId, details: { changes_requested: changed } });
    return true;
  });
  if (wrote) deps.changes.projectChanged(scopeId);
}

/**
 * Removes the limit stored under `scopeId`. The row stays, without an amount (no limit: spendRow), with a new spend_rev
 * and the terms a new limit starts from: the spend alerts' month counter is named by the rev (core/limit-plan.ts), and
 * deleting the row sent them back to the counter they had before the limit was set, which had missed everything spent
 * under it (found by a review: a $3 alert silent at $3.75 spent). The new rev's counter is counted from stored usage.
 */
async function remove(deps: ServiceDeps, orgId: string, scopeId: string, type: AuditEventType, actor: Actor): Promise<boolean> {
  const deleted = await asActingOwner(deps, actor, async (trx) => {
    const res = await trx
      .updateTable('spend_limits')
      .set({ threshold_amount: null, interval: 'month', enforcement: 'enabled', updated_at: nowSeconds(deps), spend_rev: newLimitRev(deps) })
      .where('project_id', '=', scopeId)
      .where('threshold_amount', 'is not', null)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return false;
    await recordKeyChange(trx, deps, scopeId);
    await writeAudit(trx, deps, { orgId, type, actor, projectId: scopeId === orgId ? null : scopeId, objectId: scopeId });
    return true;
  });
  if (deleted) deps.changes.projectChanged(scopeId);
  return deleted;
}

/** A project's spend limit (404 when none is set). */
export async function getSpendLimit(deps: ServiceDeps, orgId: string, projectId: string): Promise<ProjectSpendLimitObject> {
  await getProject(deps, orgId, projectId);
  const row = await spendRow(deps, projectId);
  if (!row) throw noLimit(`project ${projectId}`);
  return { object: 'project.spend_limit', project_id: projectId, ...terms(row) };
}

/** Creates or replaces a project's spend limit. */
export async function setSpendLimit(deps: ServiceDeps, orgId: string, projectId: string, body: SpendLimitBody, actor: Actor): Promise<ProjectSpendLimitObject> {
  await getActiveProject(deps, orgId, projectId);
  await upsert(deps, orgId, projectId, body, 'spend_limit.updated', actor);
  return getSpendLimit(deps, orgId, projectId);
}

/** Deletes a project's spend limit (404 when none is set); allowed in an archived project. */
export async function deleteSpendLimit(deps: ServiceDeps, orgId: string, projectId: string, actor: Actor): Promise<ProjectSpendLimitDeleted> {
  await getProject(deps, orgId, projectId);
  if (!(await remove(deps, orgId, projectId, 'spend_limit.deleted', actor))) throw noLimit(`project ${projectId}`);
  return { object: 'project.spend_limit.deleted', project_id: projectId, deleted: true };
}

/** The organization-wide spend limit (every project together; 404 when none is set). */
export async function getOrgSpendLimit(deps: ServiceDeps, orgId: string): Promise<OrganizationSpendLimitObject> {
  const row = await spendRow(deps, orgId);
  if (!row) throw noLimit('the organization');
  return { object: 'organization.spend_limit', organization_id: orgId, ...terms(row) };
}

/** Creates or replaces the organization-wide spend limit (429 organization_spend_limit_exceeded at the cap). */
export async function setOrgSpendLimit(deps: ServiceDeps, orgId: string, body: SpendLimitBody, actor: Actor): Promise<OrganizationSpendLimitObject> {
  await upsert(deps, orgId, orgId, body, 'organization.spend_limit.updated', actor);
  return getOrgSpendLimit(deps, orgId);
}

/** Deletes the organization-wide spend limit. */
export async function deleteOrgSpendLimit(deps: ServiceDeps, orgId: string, actor: Actor): Promise<OrganizationSpendLimitDeleted> {
  if (!(await remove(deps, orgId, orgId, 'organization.spend_limit.deleted', actor))) throw noLimit('the organization');
  return { object: 'organization.spend_limit.deleted', organization_id: orgId, deleted: true };
}
