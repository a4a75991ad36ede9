import { z } from 'zod';
import type { AuditEventType } from '../core/audit-events.js';
import { TollgateError } from '../core/errors.js';
import type { ProjectPolicy } from '../core/limit-plan.js';
import { newId } from '../core/ids.js';
import type { Interval } from '../core/periods.js';
import { IntervalSchema, RateLimitsSchema } from './api-keys.js';
import { writeAudit } from './audit.js';
import type { Actor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { recordKeyChange } from './key-writes.js';
import { getProject } from './projects.js';
import { MAX_EMAIL_LENGTH, text } from './text-fields.js';
import { parseInput } from './validation.js';

// Project rate limits (OpenAI's project.rate_limit, per model or for all models), spend limit and spend alerts.

export interface RateLimitObject {
  object: 'project.rate_limit';
  id: string;
  /** '*' for the limit that applies to every model of the project. */
  model: string;
  max_requests_per_1_minute: number | null;
  max_tokens_per_1_minute: number | null;
  max_requests_per_1_day: number | null;
}

export type { ProjectPolicy, SpendPolicy } from '../core/limit-plan.js';

const CreateRateLimit = RateLimitsSchema.extend({ model: text({ min: 1, max: 256 }).optional() }).refine(
  (b) => !!(b.max_requests_per_1_minute || b.max_tokens_per_1_minute || b.max_requests_per_1_day),
  'give at least one of max_requests_per_1_minute, max_tokens_per_1_minute, max_requests_per_1_day',
);

const SpendLimitBody = z.strictObject({
  threshold_amount: z.number().int().positive().max(1e12).nullable(),
  interval: IntervalSchema.optional(),
  enforcement: z.strictObject({ status: z.enum(['enabled', 'disabled']) }).optional(),
});

const SpendAlertsBody = z.strictObject({
  thresholds: z.array(z.number().int().min(1).max(1000)).max(20),
  recipients: z.array(text({ max: MAX_EMAIL_LENGTH })).max(50).optional(),
});

type RateRow = {
  id: string;
  model: string;
  max_requests_per_1_minute: number | null;
  max_tokens_per_1_minute: number | null;
  max_requests_per_1_day: number | null;
};

const toRateLimit = (r: RateRow): RateLimitObject => ({
  object: 'project.rate_limit',
  id: r.id,
  model: r.model === '' ? '*' : r.model,
  max_requests_per_1_minute: r.max_requests_per_1_minute,
  max_tokens_per_1_minute: r.max_tokens_per_1_minute,
  max_requests_per_1_day: r.max_requests_per_1_day,
});

function changed(deps: ServiceDeps, projectId: string): void {
  deps.changes.projectChanged(projectId);
}

/** Lists a project's rate limits. */
export async function listRateLimits(deps: ServiceDeps, orgId: string, projectId: string) {
  await getProject(deps, orgId, projectId);
  const rows = await deps.database.db.selectFrom('rate_limits').selectAll().where('project_id', '=', projectId).orderBy('created_at').orderBy('id').execute();
  const data = rows.map(toRateLimit);
  return { object: 'list' as const, data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: false };
}

/** Adds a rate limit for one model (or '*' / omitted for all models). */
export async function createRateLimit(deps: ServiceDeps, orgId: string, projectId: string, input: unknown, actor: Actor): Promise<RateLimitObject> {
  const body = parseInput(CreateRateLimit, input);
  await getProject(deps, orgId, projectId);
  const model = !body.model || body.model === '*' ? '' : body.model;
  const db = deps.database.db;
  const clash = await db.selectFrom('rate_limits').select('id').where('project_id', '=', projectId).where('model', '=', model).executeTakeFirst();
  if (clash) throw new TollgateError('conflict', `A rate limit for ${model || 'all models'} exists: ${clash.id}; modify it instead.`, 'model');
  const now = nowSeconds(deps);
  const id = newId('rl_', deps.randomBytes);
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('rate_limits')
      .values({
        id,
        project_id: projectId,
        model,
        max_requests_per_1_minute: body.max_requests_per_1_minute ?? null,
        max_tokens_per_1_minute: body.max_tokens_per_1_minute ?? null,
        max_requests_per_1_day: body.max_requests_per_1_day ?? null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await recordKeyChange(trx, deps, projectId);
    await writeAudit(trx, deps, { orgId, type: 'rate_limit.created', actor, projectId, objectId: id, details: { data: { ...body, model: model || '*' } } });
  });
  changed(deps, projectId);
  return getRateLimit(deps, projectId, id);
}

async function getRateLimit(deps: ServiceDeps, projectId: string, id: string): Promise<RateLimitObject> {
  const row = await deps.database.db.selectFrom('rate_limits').selectAll().where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst();
  if (!row) throw new TollgateError('not_found', `No rate limit found with id '${id}'.`, 'rate_limit_id');
  return toRateLimit(row);
}

/** Modifies a rate limit (OpenAI's POST …/rate_limits/{rate_limit_id}); null removes one dimension. */
export async function modifyRateLimit(deps: ServiceDeps, orgId: string, projectId: string, id: string, input: unknown, actor: Actor) {
  const body = parseInput(RateLimitsSchema, input);
  await getProject(deps, orgId, projectId);
  await getRateLimit(deps, projectId, id);
  await deps.database.db.transaction().execute(async (trx) => {
    const patch: Record<string, number | null> = {};
    for (const k of ['max_requests_per_1_minute', 'max_tokens_per_1_minute', 'max_requests_per_1_day'] as const) if (body[k] !== undefined) patch[k] = body[k] ?? null;
    await trx.updateTable('rate_limits').set({ ...patch, updated_at: nowSeconds(deps) }).where('id', '=', id).execute();
    await recordKeyChange(trx, deps, projectId);
    await writeAudit(trx, deps, { orgId, type: 'rate_limit.updated', actor, projectId, objectId: id, details: { changes_requested: body } });
  });
  changed(deps, projectId);
  return getRateLimit(deps, projectId, id);
}

/** Removes a rate limit. */
export async function deleteRateLimit(deps: ServiceDeps, orgId: string, projectId: string, id: string, actor: Actor) {
  await getProject(deps, orgId, projectId);
  await getRateLimit(deps, projectId, id);
  await deps.database.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('rate_limits').where('id', '=', id).execute();
    await recordKeyChange(trx, deps, projectId);
    await writeAudit(trx, deps, { orgId, type: 'rate_limit.deleted', actor, projectId, objectId: id });
  });
  changed(deps, projectId);
  return { object: 'project.rate_limit.deleted' as const, id, deleted: true as const };
}

async function spendRow(deps: ServiceDeps, projectId: string) {
  return deps.database.db.selectFrom('spend_limits').selectAll().where('project_id', '=', projectId).executeTakeFirst();
}

/** The terms of a spend limit row (or the defaults when none is set). */
function spendTerms(row: Awaited<ReturnType<typeof spendRow>>) {
  return {
    threshold_amount: row?.threshold_amount ?? null,
    interval: (row?.interval ?? 'month') as Interval,
    enforcement: { status: (row?.enforcement ?? 'enabled') as 'enabled' | 'disabled' },
    updated_at: row?.updated_at ?? null,
  };
}

function spendAlertsObject(projectId: string, row: Awaited<ReturnType<typeof spendRow>>) {
  return {
    object: 'project.spend_alerts' as const,
    project_id: projectId,
    thresholds: row ? (JSON.parse(row.alert_thresholds) as number[]) : [],
    recipients: row ? (JSON.parse(row.alert_recipients) as string[]) : [],
    updated_at: row?.updated_at ?? null,
  };
}

/** A project's spend limit (threshold in cents; enforcement disabled = notify only). */
export async function getSpendLimit(deps: ServiceDeps, orgId: string, projectId: string) {
  await getProject(deps, orgId, projectId);
  return { object: 'project.spend_limit' as const, project_id: projectId, ...spendTerms(await spendRow(deps, projectId)) };
}

async function upsertSpend(
  deps: ServiceDeps,
  orgId: string,
  projectId: string,
  patch: Record<string, string | number | null>,
  type: AuditEventType,
  actor: Actor,
  details: unknown,
) {
  const current = await spendRow(deps, projectId);
  const now = nowSeconds(deps);
  await deps.database.db.transaction().execute(async (trx) => {
    if (current) await trx.updateTable('spend_limits').set({ ...patch, updated_at: now }).where('project_id', '=', projectId).execute();
    else {
      await trx
        .insertInto('spend_limits')
        .values({ project_id: projectId, threshold_amount: null, interval: 'month', enforcement: 'enabled', alert_thresholds: '[50,80,100]', alert_recipients: '[]', updated_at: now, ...patch })
        .execute();
    }
    await recordKeyChange(trx, deps, projectId);
    // The organization's own limit is stored under its id: no project in the audit entry then.
    const auditProject = projectId === orgId ? null : projectId;
    await writeAudit(trx, deps, { orgId, type, actor, projectId: auditProject, objectId: projectId, details: { changes_requested: details } });
  });
  deps.changes.projectChanged(projectId);
}

/** The organization-wide spend limit (every project together); stored like a project's, under the org id. */
export async function getOrgSpendLimit(deps: ServiceDeps, orgId: string) {
  return { object: 'organization.spend_limit' as const, organization_id: orgId, ...spendTerms(await spendRow(deps, orgId)) };
}

/** Sets the organization-wide spend limit (429 organization_spend_limit_exceeded at the cap). */
export async function setOrgSpendLimit(deps: ServiceDeps, orgId: string, input: unknown, actor: Actor) {
  const body = parseInput(SpendLimitBody, input);
  const patch = spendPatch(body);
  await upsertSpend(deps, orgId, orgId, patch, 'organization.spend_limit.updated', actor, body);
  return getOrgSpendLimit(deps, orgId);
}

/** The columns a spend limit body changes. */
function spendPatch(body: z.infer<typeof SpendLimitBody>): Record<string, string | number | null> {
  const patch: Record<string, string | number | null> = { threshold_amount: body.threshold_amount };
  if (body.interval) patch.interval = body.interval;
  if (body.enforcement) patch.enforcement = body.enforcement.status;
  return patch;
}

/** Sets a project's spend limit. */
export async function setSpendLimit(deps: ServiceDeps, orgId: string, projectId: string, input: unknown, actor: Actor) {
  const body = parseInput(SpendLimitBody, input);
  await getProject(deps, orgId, projectId);
  const patch = spendPatch(body);
  await upsertSpend(deps, orgId, projectId, patch, 'spend_limit.updated', actor, body);
  return getSpendLimit(deps, orgId, projectId);
}

/** A project's spend alert thresholds (percent of the spend limit) and recipients. */
export async function getSpendAlerts(deps: ServiceDeps, orgId: string, projectId: string) {
  await getProject(deps, orgId, projectId);
  return spendAlertsObject(projectId, await spendRow(deps, projectId));
}

/** Sets alert thresholds and recipients (alerts fire with or without enforcement). */
export async function setSpendAlerts(deps: ServiceDeps, orgId: string, projectId: string, input: unknown, actor: Actor) {
  const body = parseInput(SpendAlertsBody, input);
  await getProject(deps, orgId, projectId);
  const thresholds = [...new Set(body.thresholds)].sort((a, b) => a - b);
  const patch: Record<string, string> = { alert_thresholds: JSON.stringify(thresholds) };
  if (body.recipients) patch.alert_recipients = JSON.stringify(body.recipients);
  await upsertSpend(deps, orgId, projectId, patch, 'spend_alerts.updated', actor, body);
  return getSpendAlerts(deps, orgId, projectId);
}

/** Loads what the gateway enforces for a project (cached by the caller, invalidated on change). */
export async function loadProjectPolicy(deps: ServiceDeps, projectId: string): Promise<ProjectPolicy> {
  const rows = await deps.database.db.selectFrom('rate_limits').selectAll().where('project_id', '=', projectId).execute();
  const spend = await spendRow(deps, projectId);
  return {
    rateLimits: rows.map(toRateLimit),
    spend: spend
      ? {
          thresholdCents: spend.threshold_amount,
          interval: spend.interval as Interval,
          enforced: spend.enforcement === 'enabled',
          alertThresholds: JSON.parse(spend.alert_thresholds),
          recipients: JSON.parse(spend.alert_recipients),
        }
      : null,
  };
}
