import { z } from 'zod';
import { TollgateError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { PermissionsSpec } from '../core/permissions.js';
import { permissionsFromScopes, SCOPE_EXAMPLES } from '../core/scopes.js';
import { checkKeyManager, lockKeyManager } from './api-keys.js';
import { writeAudit } from './audit.js';
import { changedMembers, changesAnything } from './changed-members.js';
import { asActingOwner } from './acting-owner.js';
import type { Actor, Executor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { insertKey, revokeKeyRow } from './key-writes.js';
import { afterSeq, type ListPage, toPage } from './pagination.js';
import { getActiveProject, getProject, requireActiveProject } from './projects.js';
import { pageOf, pageParams } from './query-params.js';
import { NameSchema, text } from './text-fields.js';
import type { CreatedServiceAccount, ServiceAccountApiKey, ServiceAccountObject, ServiceAccountRole } from '../contract/service-accounts.js';

export type { ServiceAccountApiKey, ServiceAccountObject } from '../contract/service-accounts.js';

/** Ten years: a bound on `expires_in_seconds`, not a policy. */
const MAX_EXPIRES_IN_SECONDS = 10 * 365 * 24 * 3600;

// OpenAI's bodies. A new account is a member, or has no role (`none`) when made with create_service_account_only
// ("without default roles or an API key": OpenAI's ProjectServiceAccountCreateResponse); update sets the role.
// `expires_in_seconds` is not in the published spec yet but OpenAI's Python SDK sends it: the key's lifetime.
const ExpiresIn = z.number().int().min(1).max(MAX_EXPIRES_IN_SECONDS).nullable();
/** The body of POST /projects/{project_id}/service_accounts. */
export const CreateServiceAccountBody = z.strictObject({
  name: NameSchema,
  create_service_account_only: z.boolean().nullable().optional(),
  expires_in_seconds: ExpiresIn.optional(),
});
export type CreateServiceAccountBody = z.output<typeof CreateServiceAccountBody>;
/** The body of POST /projects/{project_id}/service_accounts/{service_account_id}. */
export const UpdateServiceAccountBody = z.strictObject({ name: NameSchema.optional(), role: z.enum(['owner', 'member']).optional() });
export type UpdateServiceAccountBody = z.output<typeof UpdateServiceAccountBody>;
/** The body of POST /projects/{project_id}/service_accounts/{service_account_id}/api_keys. */
export const CreateServiceAccountKeyBody = z.strictObject({
  name: NameSchema.optional(),
  scopes: z.array(text({ max: 128 })).max(100).optional(),
  expires_in_seconds: ExpiresIn.optional(),
});
export type CreateServiceAccountKeyBody = z.output<typeof CreateServiceAccountKeyBody>;
/** The query of GET /projects/{project_id}/service_accounts. */
export const ListServiceAccountsQuery = z.strictObject(pageParams);
export type ListServiceAccountsQuery = z.output<typeof ListServiceAccountsQuery>;

const FIRST_KEY_NAME = 'Secret Key';

type Row = { id: string; name: string; role: ServiceAccountRole; created_at: number; is_default: number };
const toObject = (r: Row): ServiceAccountObject => ({
  object: 'organization.project.service_account',
  id: r.id,
  name: r.name,
  role: r.role,
  created_at: r.created_at,
  is_default: r.is_default === 1,
});

const accountNotFound = (id: string) => new TollgateError('not_found', `No service account found with id '${id}'.`, 'service_account_id');

/** Inserts a key owned by a service account and its audit entry (caller owns the transaction). */
async function insertAccountKey(
  trx: Executor,
  deps: ServiceDeps,
  a: { orgId: string; projectId: string; accountId: string; name: string; permissions: PermissionsSpec; scopes?: string[]; expiresInSeconds: number | null },
  actor: Actor,
): Promise<ServiceAccountApiKey> {
  const key = await insertKey(
    trx,
    deps,
    {
      kind: 'project',
      orgId: a.orgId,
      projectId: a.projectId,
      name: a.name,
      ownerType: 'service_account',
      ownerId: a.accountId,
      permissions: a.permissions,
      expiresAt: null,
      expiresInSeconds: a.expiresInSeconds,
      allowedIps: null,
      allowedModels: null,
    },
    actor,
  );
  await writeAudit(trx, deps, {
    orgId: a.orgId,
    type: 'api_key.created',
    actor,
    projectId: a.projectId,
    objectId: key.id,
    // OpenAI's scopes as given (none given: the audit log shows the permissions' scopes), Tollgate's permissions beside.
    details: { data: { name: a.name, ...(a.scopes ? { scopes: a.scopes } : {}), permissions: a.permissions, owner: { type: 'service_account', id: a.accountId } } },
  });
  return { object: 'organization.project.service_account.api_key', value: key.secret, name: a.name, created_at: key.createdAt, id: key.id };
}

/** Creates a service account and (unless `create_service_account_only`) its first key, returned together as OpenAI does. */
export async function createServiceAccount(
  deps: ServiceDeps,
  orgId: string,
  projectId: string,
  body: CreateServiceAccountBody,
  actor: Actor,
): Promise<CreatedServiceAccount> {
  if (body.create_service_account_only && body.expires_in_seconds != null) {
    throw new TollgateError('invalid_value', "'expires_in_seconds' sets the first key's lifetime; with create_service_account_only there is no key.", 'expires_in_seconds');
  }
  await getActiveProject(deps, orgId, projectId);
  const now = nowSeconds(deps);
  const id = newId('svc_acct_', deps.randomBytes);
  const role: CreatedServiceAccount['role'] = body.create_service_account_only ? 'none' : 'member';
  const apiKey = await asActingOwner(deps, actor, async (trx) => {
    await requireActiveProject(trx, deps, projectId);
    await trx
      .insertInto('service_accounts')
      .values({ id, project_id: projectId, name: body.name, role, is_default: 0, created_at: now, deleted_at: null })
      .execute();
    await writeAudit(trx, deps, {
      orgId,
      type: 'service_account.created',
      actor,
      projectId,
      objectId: id,
      details: { data: { name: body.name, role } },
    });
    if (body.create_service_account_only) return null;
    return insertAccountKey(
      trx,
      deps,
      { orgId, projectId, accountId: id, name: FIRST_KEY_NAME, permissions: 'all', expiresInSeconds: body.expires_in_seconds ?? null },
      actor,
    );
  });
  if (apiKey) deps.changes.keyChanged(apiKey.id);
  return { object: 'organization.project.service_account', id, name: body.name, role, created_at: now, api_key: apiKey };
}

/** Lists a project's service accounts. */
export async function listServiceAccounts(
  deps: ServiceDeps,
  orgId: string,
  projectId: string,
  params: ListServiceAccountsQuery,
): Promise<ListPage<ServiceAccountObject>> {
  await getProject(deps, orgId, projectId);
  const { limit, after } = pageOf(params);
  const db = deps.database.db;
  let q = db.selectFrom('service_accounts').selectAll().where('project_id', '=', projectId).where('deleted_at', 'is', null);
  const from = await afterSeq(db, 'service_accounts', after, 'service account', { project_id: projectId });
  if (from !== null) q = q.where('seq', '>', from);
  const rows = await q.orderBy('seq').limit(limit + 1).execute();
  return toPage(rows.map(toObject), limit);
}

/** One service account, or 404. */
export async function getServiceAccount(deps: ServiceDeps, orgId: string, projectId: string, id: string): Promise<ServiceAccountObject> {
  await getProject(deps, orgId, projectId);
  const row = await deps.database.db
    .selectFrom('service_accounts')
    .selectAll()
    .where('id', '=', id)
    .where('project_id', '=', projectId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row) throw accountNotFound(id);
  return toObject(row);
}

/** Renames a service account or changes its project role. */
export async function updateServiceAccount(deps: ServiceDeps, orgId: string, projectId: string, id: string, body: UpdateServiceAccountBody, actor: Actor) {
  await getActiveProject(deps, orgId, projectId);
  await getServiceAccount(deps, orgId, projectId, id);
  return asActingOwner(deps, actor, async (trx) => {
    await requireActiveProject(trx, deps, projectId);
    // Deleted meanwhile: a 404 as before the transaction, with nothing written (service_account.updated was logged
    // after service_account.deleted). The row stays locked until this commits, so a delete waits for it.
    const live = trx.selectFrom('service_accounts').select(['name', 'role']).where('id', '=', id).where('deleted_at', 'is', null);
    const before = await (deps.database.dialect === 'postgres' ? live.forUpdate() : live).executeTakeFirst();
    if (!before) throw accountNotFound(id);
    // A member sent with the value it has is no change; an update that changes nothing writes no entry.
    const changed = changedMembers(body, before);
    if (changesAnything(changed)) {
      await trx.updateTable('service_accounts').set(changed).where('id', '=', id).execute();
      await writeAudit(trx, deps, { orgId, type: 'service_account.updated', actor, projectId, objectId: id, details: { changes_requested: changed } });
    }
    // Read here: a delete committed just after is not a 404 for a change that was made.
    return toObject(await trx.selectFrom('service_accounts').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
  });
}

/** Issues another key for a service account; `scopes` (OpenAI's) restrict it, none means every permission. */
export async function createServiceAccountKey(
  deps: ServiceDeps,
  orgId: string,
  projectId: string,
  id: string,
  body: CreateServiceAccountKeyBody,
  actor: Actor,
): Promise<ServiceAccountApiKey> {
  let permissions: PermissionsSpec = 'all';
  if (body.scopes !== undefined) {
    if (body.scopes.length === 0) {
      throw new TollgateError('empty_array', "Invalid value for 'scopes': give at least one scope, or leave it out for every permission.", 'scopes');
    }
    const read = permissionsFromScopes(body.scopes);
    if (!read.ok) {
      const param = `scopes.${read.index}`;
      const hint = `use api.<resource>.read or api.<resource>.write (e.g. ${SCOPE_EXAMPLES.join(', ')}); docs/admin-api.md lists the resources`;
      throw new TollgateError('invalid_value', `Invalid value for '${param}': unknown scope '${body.scopes[read.index]}'; ${hint}.`, param);
    }
    permissions = read.permissions;
  }
  await getActiveProject(deps, orgId, projectId);
  await getServiceAccount(deps, orgId, projectId, id);
  // The rule of POST …/api_keys with this service account as owner: a project owner may, a member may not.
  await checkKeyManager(deps, projectId, { type: 'service_account', id }, actor);
  const key = await deps.database.db.transaction().execute(async (trx) => {
    await requireActiveProject(trx, deps, projectId);
    await lockKeyManager(trx, deps, projectId, { type: 'service_account', id }, actor);
    return insertAccountKey(
      trx,
      deps,
      { orgId, projectId, accountId: id, name: body.name ?? FIRST_KEY_NAME, permissions, scopes: body.scopes, expiresInSeconds: body.expires_in_seconds ?? null },
      actor,
    );
  });
  deps.changes.keyChanged(key.id);
  return key;
}

/** Deletes a service account and revokes its keys in one transaction. */
export async function deleteServiceAccount(deps: ServiceDeps, orgId: string, projectId: string, id: string, actor: Actor) {
  const svc = await getServiceAccount(deps, orgId, projectId, id);
  if (svc.is_default) {
    throw new TollgateError('invalid_value', 'The default service account of a project cannot be deleted.', 'service_account_id');
  }
  const keys = await asActingOwner(deps, actor, async (trx) => {
    // The row first, then the keys: a key being made for the account waits for the row and is refused, or is in and
    // found here (key-writes.ts lockLiveOwner).
    // Deleted meanwhile by another request: that one revoked the keys and wrote the entries.
    const res = await trx
      .updateTable('service_accounts')
      .set({ deleted_at: nowSeconds(deps) })
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw accountNotFound(id);
    const owned = await trx.selectFrom('api_keys').select('id').where('owner_id', '=', id).execute();
    for (const k of owned) {
      if (await revokeKeyRow(trx, deps, k.id)) {
        await writeAudit(trx, deps, { orgId, type: 'api_key.deleted', actor, projectId, objectId: k.id });
      }
    }
    await writeAudit(trx, deps, { orgId, type: 'service_account.deleted', actor, projectId, objectId: id });
    return owned;
  });
  for (const k of keys) deps.changes.keyChanged(k.id);
  return { object: 'organization.project.service_account.deleted' as const, id, deleted: true as const };
}
