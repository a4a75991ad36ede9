import { z } from 'zod';
import { TollgateError } from '../core/errors.js';
import { generateSecret, hashSecret, redactSecret } from '../core/key-format.js';
import { hasLimits, type KeyLimits } from '../core/key-limits.js';
import { INTERVAL_PATTERN, type Interval } from '../core/periods.js';
import { type PermissionsSpec, RESOURCES } from '../core/permissions.js';
import { lockActingRoles } from './acting-owner.js';
import { writeAudit } from './audit.js';
import type { Actor, Executor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { loadOwners, ownerHasProjectAccess, type ProjectApiKeyObject, toProjectKeyObject } from './key-objects.js';
import { changedSettings, lockedKeySettings } from './key-changes.js';
import { insertKey, recordKeyChange, revokeKeyRow } from './key-writes.js';
import { newLimitRev, quotaIntervalOf, rpdOf, spendIntervalOf } from './limits.js';
import { afterSeq, type ListPage, toPage } from './pagination.js';
import { BoolParam, pageOf, pageParams } from './query-params.js';
import { getActiveProject, getProject, IpListSchema, requireActiveProject } from './projects.js';
import { decideKeyManagement, decideKeyOwnerAssignment, keyActions } from '../core/roles.js';
import { IdSchema, NameSchema, text } from './text-fields.js';
import type { CreatedProjectKey, RotatedProjectKey } from '../contract/api-keys.js';

export type { CreatedProjectKey } from '../contract/api-keys.js';

const Level = z.enum(['none', 'read', 'write']);
export const PermissionsSchema = z.union([
  z.literal('all'),
  z.literal('read_only'),
  z.strictObject({ restricted: z.partialRecord(z.enum(RESOURCES), Level) }),
]);

// An empty list was stored as none: a key sent `allowed_models: []` could use every model (found by a review).
const ModelList = z
  .array(text({ min: 1, max: 256 }))
  .min(1, 'An empty list would allow no model: send null (or leave the member out) for every model.')
  .max(1000);
/** The last second of the year 9999 (UTC): a later `expires_at` is milliseconds or a mistake, not a time in seconds. */
export const MAX_EXPIRES_AT = 253_402_300_799;

/**
 * An absolute expiry in seconds since the epoch, or null for none. One given in milliseconds (`Date.now()`,
 * 4102444800000 for 2100) was stored as it came, a key meant to expire that never would: anything past the year 9999
 * is refused, saying it is read as seconds.
 */
export const ExpiresAtSchema = z
  .number()
  .int()
  .positive()
  .superRefine((at, ctx) => {
    if (at <= MAX_EXPIRES_AT) return;
    const asMs = at / 1000 <= MAX_EXPIRES_AT ? `; in milliseconds that is ${new Date(at).toISOString()}, which is ${Math.floor(at / 1000)} in seconds` : '';
    ctx.addIssue({ code: 'custom', message: `must be in seconds since the epoch (unix seconds), at most ${MAX_EXPIRES_AT} (9999-12-31T23:59:59Z)${asMs}` });
  })
  .nullable();
const MAX_GRACE_SECONDS = 30 * 24 * 3600;
export const DEFAULT_GRACE_SECONDS = 3600;

const PositiveOrNull = z.number().int().positive().max(1e12).nullable().optional();
export const RateLimitsSchema = z.strictObject({
  max_requests_per_1_minute: PositiveOrNull,
  max_tokens_per_1_minute: PositiveOrNull,
  max_requests_per_1_day: PositiveOrNull,
});
export const IntervalSchema = text({ max: 32 })
  .regex(INTERVAL_PATTERN, 'must be day, week, month, total or rolling_<N>d (N ≤ 90)')
  .transform((v) => v as Interval);
export const SpendLimitSchema = z.strictObject({
  threshold_amount: z.number().int().positive().max(1e12),
  interval: IntervalSchema.optional(),
});
export const RequestQuotaSchema = z.strictObject({
  max_requests: z.number().int().positive().max(1e12),
  interval: z.enum(['day', 'month', 'total']).optional(),
});
const LimitFields = {
  rate_limits: RateLimitsSchema.nullable().optional(),
  spend_limit: SpendLimitSchema.nullable().optional(),
  request_quota: RequestQuotaSchema.nullable().optional(),
};

/** The body of POST /projects/{project_id}/api_keys. */
export const CreateProjectKeyBody = z.strictObject({
  name: NameSchema.optional(),
  permissions: PermissionsSchema.optional(),
  expires_at: ExpiresAtSchema.optional(),
  allowed_ips: IpListSchema.nullable().optional(),
  allowed_models: ModelList.nullable().optional(),
  owner: z.union([IdSchema, z.strictObject({ type: z.enum(['user', 'service_account']), id: IdSchema })]).optional(),
  ...LimitFields,
});

export type CreateProjectKeyBody = z.output<typeof CreateProjectKeyBody>;

/** The body of POST /projects/{project_id}/api_keys/{key_id}. */
export const UpdateProjectKeyBody = z.strictObject({
  name: NameSchema.optional(),
  permissions: PermissionsSchema.optional(),
  expires_at: ExpiresAtSchema.optional(),
  allowed_ips: IpListSchema.nullable().optional(),
  allowed_models: ModelList.nullable().optional(),
  ...LimitFields,
});

export type UpdateProjectKeyBody = z.output<typeof UpdateProjectKeyBody>;

/** The body of POST /projects/{project_id}/api_keys/{key_id}/rotate. */
export const RotateProjectKeyBody = z.strictObject({
  grace_period_seconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).optional(),
});
export type RotateProjectKeyBody = z.output<typeof RotateProjectKeyBody>;

/** Refuses an expiry that is not in the future. */
export function checkFutureExpiry(expiresAt: number | null | undefined, now: number): void {
  if (expiresAt != null && expiresAt <= now) {
    throw new TollgateError('invalid_value', "Invalid value for 'expires_at': must be in the future (unix seconds).", 'expires_at');
  }
}

const keyNotFound = (keyId: string, projectId: string) =>
  new TollgateError('not_found', `No API key found with id '${keyId}' in project '${projectId}'.`, 'api_key_id');

/**
 * Checks a key's stored status again in the transaction that changes it, its row locked on PostgreSQL until that
 * commits, and refuses as the check before the transaction would have: a key revoked meanwhile is gone (404), one
 * exposed (or, for a rotation, suspended) cannot be changed. Checked only before, a rotation racing a revoke answered
 * 404 yet gave the revoked key a new secret and logged api_key.rotated after api_key.deleted.
 */
async function lockChangeableKey(trx: Executor, deps: ServiceDeps, projectId: string, keyId: string, change: 'changed' | 'rotated'): Promise<void> {
  const q = trx.selectFrom('api_keys').select('status').where('id', '=', keyId);
  const row = await (deps.database.dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirst();
  if (!row || row.status === 'revoked') throw keyNotFound(keyId, projectId);
  if (row.status === 'exposed' || (change === 'rotated' && row.status !== 'active')) {
    throw new TollgateError('key_revoked', `API key '${keyId}' is ${row.status} and cannot be ${change}.`, 'api_key_id');
  }
}

type OwnerRef = { type: 'user' | 'service_account'; id: string };

/**
 * Refuses a signed-in user who may not manage a key owned by `owner` in this project: a member manages only their own
 * keys (core/roles.ts). Admin keys and the CLI act for the organization and are not asked.
 */
export async function checkKeyManager(deps: ServiceDeps, projectId: string, owner: OwnerRef | null, actor: Actor): Promise<void> {
  if (actor.type !== 'session') return;
  const db = deps.database.db;
  const userId = actor.id ?? '';
  const user = await db.selectFrom('users').select('role').where('id', '=', userId).where('deleted_at', 'is', null).executeTakeFirst();
  const member = await db.selectFrom('project_members').select('role').where('project_id', '=', projectId).where('user_id', '=', userId).executeTakeFirst();
  const decision = decideKeyManagement({ userId, orgRole: user?.role ?? null, projectRole: member?.role ?? null, owner });
  if (!decision.allowed) throw new TollgateError('insufficient_permissions', decision.message);
}

/** Who owns a stored key. */
export async function ownerOfKey(deps: ServiceDeps, keyId: string): Promise<OwnerRef | null> {
  const row = await deps.database.db.selectFrom('api_keys').select(['owner_type', 'owner_id']).where('id', '=', keyId).executeTakeFirst();
  return row?.owner_type && row.owner_id ? { type: row.owner_type, id: row.owner_id } : null;
}

/**
 * checkKeyManager again in the transaction that writes the key, on the roles read there with the person's user row and
 * membership held until it commits (services/acting-owner.ts): a member taken out of the project, or an owner demoted,
 * a moment before is refused, not let through on the role they had when the request came in. `creating`: a key owned
 * by another user takes an organization owner as well (decideKeyOwnerAssignment). An admin key revoked meanwhile is
 * refused too.
 */
export async function lockKeyManager(trx: Executor, deps: ServiceDeps, projectId: string, owner: OwnerRef | null, actor: Actor, creating = false): Promise<void> {
  const roles = await lockActingRoles(trx, deps, actor, projectId);
  if (!roles) return;
  const decision = decideKeyManagement({ ...roles, owner });
  if (!decision.allowed) throw new TollgateError('insufficient_permissions', decision.message);
  if (creating && owner?.type === 'user') {
    const assignment = decideKeyOwnerAssignment(roles.userId, roles.orgRole, owner.id);
    if (!assignment.allowed) throw new TollgateError('insufficient_permissions', assignment.message, 'owner');
  }
}

async function resolveOwner(
  deps: ServiceDeps,
  orgId: string,
  projectId: string,
  owner: CreateProjectKeyBody['owner'],
  actor: Actor,
): Promise<{ type: 'user' | 'service_account'; id: string }> {
  const db = deps.database.db;
  let ref = typeof owner === 'string' ? { type: owner.startsWith('user-') ? 'user' : 'service_account', id: owner } : owner;
  if (!ref && actor.type === 'session' && actor.id) ref = { type: 'user', id: actor.id };
  if (!ref) {
    const svc = await db
      .selectFrom('service_accounts')
      .select('id')
      .where('project_id', '=', projectId)
      .where('is_default', '=', 1)
      .executeTakeFirstOrThrow();
    return { type: 'service_account', id: svc.id };
  }
  if (ref.type === 'user') {
    // A member may own keys for themself only; assigning a key to someone else takes an organization owner.
    if (actor.type === 'session' && ref.id !== actor.id) {
      const me = await db.selectFrom('users').select('role').where('id', '=', actor.id ?? '').executeTakeFirst();
      const decision = decideKeyOwnerAssignment(actor.id ?? '', me?.role ?? null, ref.id);
      if (!decision.allowed) throw new TollgateError('insufficient_permissions', decision.message, 'owner');
    }
    const user = await db.selectFrom('users').select('id').where('id', '=', ref.id).where('org_id', '=', orgId).where('deleted_at', 'is', null).executeTakeFirst();
    if (!user) throw new TollgateError('invalid_value', `Invalid value for 'owner': no user '${ref.id}'.`, 'owner');
    return { type: 'user', id: user.id };
  }
  const svc = await db
    .selectFrom('service_accounts')
    .select('id')
    .where('id', '=', ref.id)
    .where('project_id', '=', projectId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!svc) throw new TollgateError('invalid_value', `Invalid value for 'owner': no service account '${ref.id}' in this project.`, 'owner');
  return { type: 'service_account', id: svc.id };
}

/** Creates a project key; the returned `value` is the only time the secret is ever shown. */
export async function createProjectKey(
  deps: ServiceDeps,
  orgId: string,
  projectId: string,
  body: CreateProjectKeyBody,
  actor: Actor,
): Promise<CreatedProjectKey> {
  checkFutureExpiry(body.expires_at, nowSeconds(deps));
  await getActiveProject(deps, orgId, projectId);
  const owner = await resolveOwner(deps, orgId, projectId, body.owner, actor);
  await checkKeyManager(deps, projectId, owner, actor);
  const permissions: PermissionsSpec = body.permissions ?? 'all';
  const { id, secret } = await deps.database.db.transaction().execute(async (trx) => {
    await requireActiveProject(trx, deps, projectId);
    await lockKeyManager(trx, deps, projectId, owner, actor, true);
    const created = await insertKey(
      trx,
      deps,
      {
        kind: 'project',
        orgId,
        projectId,
        name: body.name ?? 'Secret key',
        ownerType: owner.type,
        ownerId: owner.id,
        permissions,
        expiresAt: body.expires_at ?? null,
        allowedIps: body.allowed_ips ?? null,
        allowedModels: body.allowed_models ?? null,
        limits: { rate_limits: body.rate_limits ?? null, spend_limit: body.spend_limit ?? null, request_quota: body.request_quota ?? null },
      },
      actor,
    );
    await writeAudit(trx, deps, {
      orgId,
      type: 'api_key.created',
      actor,
      projectId,
      objectId: created.id,
      details: {
        data: {
          name: body.name ?? 'Secret key',
          permissions,
          expires_at: body.expires_at ?? null,
          allowed_ips: body.allowed_ips ?? null,
          owner,
        },
      },
    });
    return created;
  });
  deps.changes.keyChanged(id);
  return { ...(await getProjectKey(deps, orgId, projectId, id)), value: secret };
}

// Deleting a key (DELETE …/api_keys/{id}) revokes it: the row stays, for the audit log, usage by key and the
// dashboard, but the API shows it as OpenAI does a deleted key, that is not at all (404 on GET, left out of lists),
// unless `include_revoked=true` asks (Tollgate's). Keys disabled by Tollgate itself (exposed, suspended) stay shown.
/** The query of GET /projects/{project_id}/api_keys. */
export const ListProjectKeysQuery = z.strictObject({
  ...pageParams,
  owner_project_access: z.enum(['active', 'inactive', 'any']).optional(),
  include_revoked: BoolParam.optional(),
  status: z.enum(['active', 'expired', 'revoked', 'exposed', 'suspended']).optional(),
});
export type ListProjectKeysQuery = z.output<typeof ListProjectKeysQuery>;
/** The query of GET /projects/{project_id}/api_keys/{key_id}. */
export const RetrieveProjectKeyQuery = z.strictObject({ include_revoked: BoolParam.optional() });
export type RetrieveProjectKeyQuery = z.output<typeof RetrieveProjectKeyQuery>;

function projectKeyQuery(deps: ServiceDeps) {
  return deps.database.db
    .selectFrom('api_keys')
    .selectAll('api_keys')
    .select((eb) => ownerHasProjectAccess(eb).as('owner_access'))
    .where('api_keys.kind', '=', 'project');
}

/**
 * Lists a project's keys, oldest first: every key not deleted; `owner_project_access` (OpenAI's) keeps those whose
 * owner has (`active`) or has lost (`inactive`) access to the project; `include_revoked` and `status` are Tollgate's.
 */
export async function listProjectKeys(
  deps: ServiceDeps,
  orgId: string,
  projectId: string,
  params: ListProjectKeysQuery,
): Promise<ListPage<ProjectApiKeyObject>> {
  await getProject(deps, orgId, projectId);
  const { limit, after } = pageOf(params);
  const db = deps.database.db;
  const now = nowSeconds(deps);
  let q = projectKeyQuery(deps).where('api_keys.project_id', '=', projectId);
  const from = await afterSeq(db, 'api_keys', after, 'key', { project_id: projectId, kind: 'project' });
  if (from !== null) q = q.where('api_keys.seq', '>', from);
  if (params.status === 'revoked') q = q.where('api_keys.status', '=', 'revoked');
  else if (!params.include_revoked) q = q.where('api_keys.status', '!=', 'revoked');
  if (params.status === 'exposed' || params.status === 'suspended') q = q.where('api_keys.status', '=', params.status);
  if (params.status === 'active') {
    q = q.where('api_keys.status', '=', 'active').where((eb) => eb.or([eb('api_keys.expires_at', 'is', null), eb('api_keys.expires_at', '>', now)]));
  }
  if (params.status === 'expired') q = q.where('api_keys.status', '=', 'active').where('api_keys.expires_at', '<=', now);
  if (params.owner_project_access === 'active') q = q.where((eb) => ownerHasProjectAccess(eb));
  if (params.owner_project_access === 'inactive') q = q.where((eb) => eb.not(ownerHasProjectAccess(eb)));
  const rows = await q.orderBy('api_keys.seq').limit(limit + 1).execute();
  const owners = await loadOwners(db, rows);
  return toPage(
    rows.map((r) => toProjectKeyObject(r, owners, now)),
    limit,
  );
}

/** GET …/api_keys/{key_id}: a deleted key is a 404 unless `include_revoked=true`. */
export async function retrieveProjectKey(
  deps: ServiceDeps,
  orgId: string,
  projectId: string,
  keyId: string,
  params: RetrieveProjectKeyQuery,
): Promise<ProjectApiKeyObject> {
  return getProjectKey(deps, orgId, projectId, keyId, { includeRevoked: params.include_revoked ?? false });
}

/** One project key, or 404 (a deleted one too, unless asked for). */
export async function getProjectKey(
  deps: ServiceDeps,
  orgId: string,
  projectId: string,
  keyId: string,
  opts: { includeRevoked?: boolean } = {},
): Promise<ProjectApiKeyObject> {
  const db = deps.database.db;
  let q = projectKeyQuery(deps).where('api_keys.id', '=', keyId).where('api_keys.project_id', '=', projectId).where('api_keys.org_id', '=', orgId);
  if (!opts.includeRevoked) q = q.where('api_keys.status', '!=', 'revoked');
  const row = await q.executeTakeFirst();
  if (!row) throw keyNotFound(keyId, projectId);
  return toProjectKeyObject(row, await loadOwners(db, [row]), nowSeconds(deps));
}

/** Renames a key or changes its scope, expiry, IP or model lists. */
export async function updateProjectKey(
  deps: ServiceDeps,
  orgId: string,
  projectId: string,
  keyId: string,
  body: UpdateProjectKeyBody,
  actor: Actor,
): Promise<ProjectApiKeyObject> {
  checkFutureExpiry(body.expires_at, nowSeconds(deps));
  // An archived project's keys are not changed, as they are not rotated (docs/dashboard.md); they may be revoked.
  await getActiveProject(deps, orgId, projectId);
  const current = await getProjectKey(deps, orgId, projectId, keyId);
  const keyOwner = await ownerOfKey(deps, keyId);
  await checkKeyManager(deps, projectId, keyOwner, actor);
  if (!keyActions(current.status).edit) {
    throw new TollgateError('key_revoked', `API key '${keyId}' is ${current.status} and cannot be changed.`, 'api_key_id');
  }
  await deps.database.db.transaction().execute(async (trx) => {
    await requireActiveProject(trx, deps, projectId);
    await lockKeyManager(trx, deps, projectId, keyOwner, actor);
    await lockChangeableKey(trx, deps, projectId, keyId, 'changed');
    const before = await lockedKeySettings(trx, deps, keyId);
    const patch: Record<string, string | number | null> = {};
    if (body.name !== undefined) patch.name = body.name;
    if (body.permissions !== undefined) patch.permissions = JSON.stringify(body.permissions);
    if (body.expires_at !== undefined) patch.expires_at = body.expires_at;
    if (body.allowed_ips !== undefined) patch.allowed_ips = body.allowed_ips?.length ? JSON.stringify(body.allowed_ips) : null;
    if (body.allowed_models !== undefined) patch.allowed_models = body.allowed_models?.length ? JSON.stringify(body.allowed_models) : null;
    if (body.rate_limits !== undefined || body.spend_limit !== undefined || body.request_quota !== undefined) {
      const merged: KeyLimits = {
        rate_limits: body.rate_limits !== undefined ? body.rate_limits : before.rate_limits,
        spend_limit: body.spend_limit !== undefined ? body.spend_limit : before.spend_limit,
        request_quota: body.request_quota !== undefined ? body.request_quota : before.request_quota,
      };
      patch.limits = hasLimits(merged) ? JSON.stringify(merged) : null;
      // A changed RPD, or a quota's or spend limit's interval changed or set again, is a new setting: its bucket or
      // counter is a new one, counted from stored usage (core/limit-plan.ts).
      if (rpdOf(merged.rate_limits) !== rpdOf(before.rate_limits)) patch.rpd_rev = newLimitRev(deps);
      if (quotaIntervalOf(merged) !== quotaIntervalOf(before)) patch.quota_rev = newLimitRev(deps);
      if (spendIntervalOf(merged) !== spendIntervalOf(before)) patch.spend_rev = newLimitRev(deps);
    }
    if (Object.keys(patch).length) await trx.updateTable('api_keys').set(patch).where('id', '=', keyId).execute();
    await recordKeyChange(trx, deps, keyId);
    // The entry names what changes, not every field sent: a field sent with the value it has is left out, and an
    // update that changes nothing writes no entry.
    const changed = changedSettings(body, before);
    if (Object.keys(changed).length) {
      await writeAudit(trx, deps, { orgId, type: 'api_key.updated', actor, projectId, objectId: keyId, details: { changes_requested: changed } });
    }
  });
  deps.changes.keyChanged(keyId);
  // A revoke committed just after this change is shown as such, not as a 404 for a change that was made.
  return getProjectKey(deps, orgId, projectId, keyId, { includeRevoked: true });
}

/** Issues a new secret; the old one keeps working for `grace_period_seconds` (default one hour). */
export async function rotateProjectKey(
  deps: ServiceDeps,
  orgId: string,
  projectId: string,
  keyId: string,
  body: RotateProjectKeyBody,
  actor: Actor,
): Promise<RotatedProjectKey> {
  const grace = body.grace_period_seconds ?? DEFAULT_GRACE_SECONDS;
  await getActiveProject(deps, orgId, projectId);
  const current = await getProjectKey(deps, orgId, projectId, keyId);
  const keyOwner = await ownerOfKey(deps, keyId);
  await checkKeyManager(deps, projectId, keyOwner, actor);
  if (!keyActions(current.status).rotate) {
    throw new TollgateError('key_revoked', `API key '${keyId}' is ${current.status} and cannot be rotated.`, 'api_key_id');
  }
  const now = nowSeconds(deps);
  const secret = generateSecret('project', deps.randomBytes);
  const redacted = redactSecret(secret);
  await deps.database.db.transaction().execute(async (trx) => {
    await requireActiveProject(trx, deps, projectId);
    await lockKeyManager(trx, deps, projectId, keyOwner, actor);
    await lockChangeableKey(trx, deps, projectId, keyId, 'rotated');
    // Old secrets end at now + grace (or sooner, if an earlier rotation already set an end).
    await trx
      .updateTable('api_key_secrets')
      .set({ expires_at: now + grace })
      .where('key_id', '=', keyId)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now + grace)]))
      .execute();
    await trx
      .insertInto('api_key_secrets')
      .values({ secret_hash: hashSecret(secret), key_id: keyId, redacted_value: redacted, created_at: now, expires_at: null })
      .execute();
    await trx.updateTable('api_keys').set({ redacted_value: redacted, rotated_at: now }).where('id', '=', keyId).execute();
    await recordKeyChange(trx, deps, keyId);
    await writeAudit(trx, deps, {
      orgId,
      type: 'api_key.rotated',
      actor,
      projectId,
      objectId: keyId,
      details: { grace_period_seconds: grace, previous_secret_expires_at: now + grace },
    });
  });
  deps.changes.keyChanged(keyId);
  const key = await getProjectKey(deps, orgId, projectId, keyId, { includeRevoked: true });
  return { ...key, value: secret, previous_secret_expires_at: now + grace };
}

/** Revokes a key: refused everywhere from the moment this returns. A key already deleted is a 404 (docs/admin-api.md). */
export async function revokeProjectKey(
  deps: ServiceDeps,
  orgId: string,
  projectId: string,
  keyId: string,
  actor: Actor,
): Promise<{ object: 'organization.project.api_key.deleted'; id: string; deleted: true }> {
  await getProjectKey(deps, orgId, projectId, keyId);
  const keyOwner = await ownerOfKey(deps, keyId);
  await checkKeyManager(deps, projectId, keyOwner, actor);
  await deps.database.db.transaction().execute(async (trx) => {
    await lockKeyManager(trx, deps, projectId, keyOwner, actor);
    // Revoked by another request since the check above (a second DELETE, its owner's removal): a 404 as a second
    // DELETE gets, and that one wrote the entry.
    if (!(await revokeKeyRow(trx, deps, keyId))) throw keyNotFound(keyId, projectId);
    await writeAudit(trx, deps, { orgId, type: 'api_key.deleted', actor, projectId, objectId: keyId });
  });
  deps.changes.keyChanged(keyId);
  return { object: 'organization.project.api_key.deleted', id: keyId, deleted: true };
}

