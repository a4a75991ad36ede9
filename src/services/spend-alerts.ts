import { z } from 'zod';
import { TollgateError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { SpendAlertsTable } from '../storage/schema-limits.js';
import { writeAudit } from './audit.js';
import { changedMembers, changesAnything } from './changed-members.js';
import { asActingOwner } from './acting-owner.js';
import type { Actor, Executor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { recordKeyChange } from './key-writes.js';
import { markRemoved, removedPlace } from './list-removals.js';
import { getActiveProject, getProject, requireActiveProject } from './projects.js';
import { AfterParam, decimalCount, OrderParam } from './query-params.js';
import { CurrencySchema } from './spend-fields.js';
import { EmailSchema, text } from './text-fields.js';
import type { ListPage } from './pagination.js';
import type { SpendAlertDeleted, SpendAlertObject } from '../contract/limits.js';

export type { SpendAlertObject } from '../contract/limits.js';

// OpenAI's spend alerts of a project and of the organization: an amount in cents of the calendar month's spend (UTC),
// told once per month when crossed, as a signed `budget.threshold_crossed` webhook event and an audit entry. Tollgate
// sends no email: the notification channel's recipients and subject prefix are stored, shown and passed on in the
// event, for a relay to mail (docs/admin-api.md). The organization's alerts are stored under its id, as its spend limit.

export type SpendAlertScope = { kind: 'project'; projectId: string } | { kind: 'organization' };

const MAX_RECIPIENTS = 50;

/** `limit` of the spend alert lists: 0 to 100 (the spec's bounds), 20 by default. */
const AlertLimit = text({ max: 32 }).transform((v, ctx) => {
  const n = decimalCount(v);
  if (n === null || n > 100) {
    ctx.addIssue({ code: 'custom', message: 'expected an integer from 0 to 100.' });
    return z.NEVER;
  }
  return n;
});

/** The query of GET /spend_alerts and /projects/{project_id}/spend_alerts. */
export const ListSpendAlertsQuery = z.strictObject({ limit: AlertLimit.optional(), order: OrderParam.optional(), after: AfterParam.optional(), before: AfterParam.optional() });
export type ListSpendAlertsQuery = z.output<typeof ListSpendAlertsQuery>;

const Channel = z.strictObject({
  type: z.literal('email', { error: "Tollgate's spend alerts notify by email recipients passed on in a webhook event: type must be email." }),
  recipients: z.array(EmailSchema).max(MAX_RECIPIENTS),
  subject_prefix: text({ max: 256 }).nullable().optional(),
});

/** OpenAI's CreateSpendAlertBody. */
const AlertFields = {
  threshold_amount: z.number().int().min(0).max(1e12),
  currency: CurrencySchema,
  interval: text({ max: 32 }).refine((v) => v === 'month', "spend alerts are of the calendar month's spend (UTC): interval must be month."),
  notification_channel: Channel,
};
/** The body of POST …/spend_alerts. */
export const CreateSpendAlertBody = z.strictObject(AlertFields);
export type CreateSpendAlertBody = z.output<typeof CreateSpendAlertBody>;
/** The body of POST …/spend_alerts/{alert_id}: the create body's members, those left out keeping their value. */
export const UpdateSpendAlertBody = z.strictObject(AlertFields).partial();
export type UpdateSpendAlertBody = z.output<typeof UpdateSpendAlertBody>;

type AlertRow = Omit<SpendAlertsTable, 'seq'> & { seq: number };

function scopeIdOf(orgId: string, scope: SpendAlertScope): string {
  return scope.kind === 'project' ? scope.projectId : orgId;
}

function toObject(row: AlertRow, scope: SpendAlertScope): SpendAlertObject {
  const terms = {
    threshold_amount: Number(row.threshold_amount),
    currency: 'USD' as const,
    interval: 'month' as const,
    notification_channel: { type: 'email' as const, recipients: JSON.parse(row.recipients) as string[], subject_prefix: row.subject_prefix },
  };
  const times = { created_at: Number(row.created_at), updated_at: Number(row.updated_at) };
  // Members in the order the API has always answered them (the project's id before the times).
  return scope.kind === 'project'
    ? { id: row.id, object: 'project.spend_alert', ...terms, project_id: scope.projectId, ...times }
    : { id: row.id, object: 'organization.spend_alert', ...terms, ...times };
}

async function checkScope(deps: ServiceDeps, orgId: string, scope: SpendAlertScope): Promise<void> {
  if (scope.kind === 'project') await getProject(deps, orgId, scope.projectId);
}

/** checkScope for a create or update: an archived project's alerts are not made or changed (deleted they may be). */
async function checkWritableScope(deps: ServiceDeps, orgId: string, scope: SpendAlertScope): Promise<void> {
  if (scope.kind === 'project') await getActiveProject(deps, orgId, scope.projectId);
}

/** The same, in the write's transaction: a project archived since the check before is refused. */
async function lockWritableScope(trx: Executor, deps: ServiceDeps, scope: SpendAlertScope): Promise<void> {
  if (scope.kind === 'project') await requireActiveProject(trx, deps, scope.projectId);
}

async function findAlert(deps: ServiceDeps, orgId: string, scope: SpendAlertScope, id: string): Promise<AlertRow | undefined> {
  return (await deps.database.db
    .selectFrom('spend_alerts')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('project_id', '=', scopeIdOf(orgId, scope))
    .where('id', '=', id)
    .executeTakeFirst()) as AlertRow | undefined;
}

const alertNotFound = (id: string) => new TollgateError('not_found', `No spend alert found with id '${id}'.`, 'alert_id');

async function getAlertRow(deps: ServiceDeps, orgId: string, scope: SpendAlertScope, id: string): Promise<AlertRow> {
  const row = await findAlert(deps, orgId, scope, id);
  if (!row) throw alertNotFound(id);
  return row;
}

/** Lists spend alerts, oldest first (`order=desc`: newest first), with `after` and `before` cursors. */
export async function listSpendAlerts(deps: ServiceDeps, orgId: string, scope: SpendAlertScope, q: ListSpendAlertsQuery): Promise<ListPage<SpendAlertObject>> {
  if (q.after && q.before) throw new TollgateError('invalid_value', "Give 'after' or 'before', not both.", 'before');
  await checkScope(deps, orgId, scope);
  const limit = q.limit ?? 20;
  const desc = q.order === 'desc';
  const cursorParam = q.after ? 'after' : 'before';
  const cursorId = q.after || q.before;
  let cursor: number | null = null;
  if (cursorId) {
    // An alert deleted since the page before: on from where it stood (services/list-removals.ts).
    const seq = (await findAlert(deps, orgId, scope, cursorId))?.seq ?? (await removedPlace(deps.database.db, 'spend_alerts', scopeIdOf(orgId, scope), cursorId))?.seq;
    if (seq === undefined) throw new TollgateError('invalid_value', `Invalid value for '${cursorParam}': no spend alert ${cursorId}.`, cursorParam);
    cursor = Number(seq);
  }
  // `before` reads backwards from the cursor (then turns the page round); `after`, or no cursor, forwards.
  const backwards = !!q.before;
  const ascending = desc === backwards;
  let sel = deps.database.db.selectFrom('spend_alerts').selectAll().where('org_id', '=', orgId).where('project_id', '=', scopeIdOf(orgId, scope));
  if (cursor !== null) sel = sel.where('seq', ascending ? '>' : '<', cursor);
  const rows = (await sel.orderBy('seq', ascending ? 'asc' : 'desc').limit(limit + 1).execute()) as AlertRow[];
  const page = rows.slice(0, limit);
  if (backwards) page.reverse();
  const data = page.map((r) => toObject(r, scope));
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: rows.length > limit };
}

/** Creates a spend alert. */
export async function createSpendAlert(deps: ServiceDeps, orgId: string, scope: SpendAlertScope, body: CreateSpendAlertBody, actor: Actor): Promise<SpendAlertObject> {
  await checkWritableScope(deps, orgId, scope);
  const now = nowSeconds(deps);
  const scopeId = scopeIdOf(orgId, scope);
  const id = newId('alert_', deps.randomBytes);
  await asActingOwner(deps, actor, async (trx) => {
    await lockWritableScope(trx, deps, scope);
    await trx
      .insertInto('spend_alerts')
      .values({
        id,
        org_id: orgId,
        project_id: scopeId,
        threshold_amount: body.threshold_amount,
        currency: body.currency,
        interval: 'month',
        channel_type: 'email',
        recipients: JSON.stringify(body.notification_channel.recipients),
        subject_prefix: body.notification_channel.subject_prefix ?? null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await recordKeyChange(trx, deps, scopeId);
    await writeAudit(trx, deps, { orgId, type: 'spend_alert.created', actor, projectId: scope.kind === 'project' ? scopeId : null, objectId: id, details: { data: body } });
  });
  deps.changes.projectChanged(scopeId);
  return toObject(await getAlertRow(deps, orgId, scope, id), scope);
}

/** One spend alert. */
export async function getSpendAlert(deps: ServiceDeps, orgId: string, scope: SpendAlertScope, id: string): Promise<SpendAlertObject> {
  await checkScope(deps, orgId, scope);
  return toObject(await getAlertRow(deps, orgId, scope, id), scope);
}

/** Updates a spend alert: the members given (a new amount may be told again this month, once crossed). */
export async function updateSpendAlert(deps: ServiceDeps, orgId: string, scope: SpendAlertScope, id: string, body: UpdateSpendAlertBody, actor: Actor): Promise<SpendAlertObject> {
  await checkWritableScope(deps, orgId, scope);
  await getAlertRow(deps, orgId, scope, id);
  const scopeId = scopeIdOf(orgId, scope);
  const wrote = await asActingOwner(deps, actor, async (trx) => {
    await lockWritableScope(trx, deps, scope);
    // The alert as it is now, held until this commits (deleted meanwhile: the 404 a delete before it gives). Members
    // sent with the value they have are no change: one that changes nothing writes nothing and no entry.
    const current = trx.selectFrom('spend_alerts').selectAll().where('id', '=', id).where('org_id', '=', orgId).where('project_id', '=', scopeId);
    const row = (await (deps.database.dialect === 'postgres' ? current.forUpdate() : current).executeTakeFirst()) as AlertRow | undefined;
    if (!row) throw alertNotFound(id);
    const shown = toObject(row, scope);
    const before: CreateSpendAlertBody = { threshold_amount: shown.threshold_amount, currency: shown.currency, interval: shown.interval, notification_channel: shown.notification_channel };
    const changed = changedMembers(body, before);
    if (!changesAnything(changed)) return false;
    const patch: { threshold_amount?: number; recipients?: string; subject_prefix?: string | null } = {};
    if (changed.threshold_amount !== undefined) patch.threshold_amount = changed.threshold_amount;
    if (changed.notification_channel) {
      patch.recipients = JSON.stringify(changed.notification_channel.recipients);
      patch.subject_prefix = changed.notification_channel.subject_prefix ?? null;
    }
    await trx.updateTable('spend_alerts').set({ ...patch, updated_at: nowSeconds(deps) }).where('id', '=', id).execute();
    await recordKeyChange(trx, deps, scopeId);
    await writeAudit(trx, deps, { orgId, type: 'spend_alert.updated', actor, projectId: scope.kind === 'project' ? scopeId : null, objectId: id, details: { changes_requested: changed } });
    return true;
  });
  if (wrote) deps.changes.projectChanged(scopeId);
  return toObject(await getAlertRow(deps, orgId, scope, id), scope);
}

/** Deletes a spend alert. */
export async function deleteSpendAlert(deps: ServiceDeps, orgId: string, scope: SpendAlertScope, id: string, actor: Actor): Promise<SpendAlertDeleted> {
  await checkScope(deps, orgId, scope);
  const row = await getAlertRow(deps, orgId, scope, id);
  const scopeId = scopeIdOf(orgId, scope);
  await asActingOwner(deps, actor, async (trx) => {
    // Deleted by another request since the check above: a 404 as a second DELETE gets, and that one wrote the entry.
    const res = await trx.deleteFrom('spend_alerts').where('id', '=', id).where('org_id', '=', orgId).where('project_id', '=', scopeId).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw alertNotFound(id);
    await markRemoved(trx, 'spend_alerts', scopeId, id, { seq: Number(row.seq) }, nowSeconds(deps));
    await recordKeyChange(trx, deps, scopeId);
    await writeAudit(trx, deps, { orgId, type: 'spend_alert.deleted', actor, projectId: scope.kind === 'project' ? scopeId : null, objectId: id });
  });
  deps.changes.projectChanged(scopeId);
  return { id, object: scope.kind === 'project' ? 'project.spend_alert.deleted' : 'organization.spend_alert.deleted', deleted: true };
}
