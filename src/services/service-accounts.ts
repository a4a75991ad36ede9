import { z } from 'zod';
import { TollgateError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { writeAudit } from './audit.js';
import type { Actor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { insertKey, revokeKeyRow } from './key-writes.js';
import { afterSeq, type ListPage, pageQuery, toPage } from './pagination.js';
import { getProject } from './projects.js';
import { NameSchema } from './text-fields.js';
import { parseInput } from './validation.js';

export interface ServiceAccountObject {
  object: 'organization.project.service_account';
  id: string;
  name: string;
  role: 'owner' | 'member';
  created_at: number;
  is_default: boolean;
}

const CreateServiceAccount = z.strictObject({ name: NameSchema, role: z.enum(['owner', 'member']).optional() });

type Row = { id: string; name: string; role: 'owner' | 'member'; created_at: number; is_default: number };
const toObject = (r: Row): ServiceAccountObject => ({
  object: 'organization.project.service_account',
  id: r.id,
  name: r.name,
  role: r.role,
  created_at: r.created_at,
  is_default: r.is_default === 1,
});

/** Creates a service account and its first key, returned together as OpenAI does. */
export async function createServiceAccount(deps: ServiceDeps, orgId: string, projectId: string, input: unknown, actor: Actor) {
  const body = parseInput(CreateServiceAccount, input);
  const project = await getProject(deps, orgId, projectId);
  if (project.status === 'archived') throw new TollgateError('project_archived', `Project '${projectId}' is archived.`, 'project_id');
  const now = nowSeconds(deps);
  const id = newId('svc_acct_', deps.randomBytes);
  const role = body.role ?? 'member';
  const { keyId, secret } = await deps.database.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('service_accounts')
      .values({ id, project_id: projectId, name: body.name, role, is_default: 0, created_at: now, deleted_at: null })
      .execute();
    const key = await insertKey(
      trx,
      deps,
      {
        kind: 'project',
        orgId,
        projectId,
        name: 'Secret Key',
        ownerType: 'service_account',
        ownerId: id,
        permissions: 'all',
        expiresAt: null,
        allowedIps: null,
        allowedModels: null,
      },
      actor,
    );
    await writeAudit(trx, deps, {
      orgId,
      type: 'service_account.created',
      actor,
      projectId,
      objectId: id,
      details: { data: { name: body.name, role } },
    });
    await writeAudit(trx, deps, {
      orgId,
      type: 'api_key.created',
      actor,
      projectId,
      objectId: key.id,
      details: { data: { name: 'Secret Key', scopes: 'all', owner: { type: 'service_account', id } } },
    });
    return { keyId: key.id, secret: key.secret };
  });
  deps.changes.keyChanged(keyId);
  return {
    object: 'organization.project.service_account' as const,
    id,
    name: body.name,
    role,
    created_at: now,
    api_key: { object: 'organization.project.service_account.api_key' as const, value: secret, name: 'Secret Key', created_at: now, id: keyId },
  };
}

/** Lists a project's service accounts. */
export async function listServiceAccounts(
  deps: ServiceDeps,
  orgId: string,
  projectId: string,
  query: Record<string, unknown>,
): Promise<ListPage<ServiceAccountObject>> {
  await getProject(deps, orgId, projectId);
  const { limit, after } = pageQuery(query);
  const db = deps.database.db;
  let q = db.selectFrom('service_accounts').selectAll().where('project_id', '=', projectId).where('deleted_at', 'is', null);
  const from = await afterSeq(db, 'service_accounts', after, 'service account');
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
  if (!row) throw new TollgateError('not_found', `No service account found with id '${id}'.`, 'service_account_id');
  return toObject(row);
}

/** Deletes a service account and revokes its keys in one transaction. */
export async function deleteServiceAccount(deps: ServiceDeps, orgId: string, projectId: string, id: string, actor: Actor) {
  const svc = await getServiceAccount(deps, orgId, projectId, id);
  if (svc.is_default) {
    throw new TollgateError('invalid_value', 'The default service account of a project cannot be deleted.', 'service_account_id');
  }
  const keys = await deps.database.db.selectFrom('api_keys').select('id').where('owner_id', '=', id).execute();
  await deps.database.db.transaction().execute(async (trx) => {
    await trx.updateTable('service_accounts').set({ deleted_at: nowSeconds(deps) }).where('id', '=', id).execute();
    for (const k of keys) {
      if (await revokeKeyRow(trx, deps, k.id)) {
        await writeAudit(trx, deps, { orgId, type: 'api_key.deleted', actor, projectId, objectId: k.id });
      }
    }
    await writeAudit(trx, deps, { orgId, type: 'service_account.deleted', actor, projectId, objectId: id });
  });
  for (const k of keys) deps.changes.keyChanged(k.id);
  return { object: 'organization.project.service_account.deleted' as const, id, deleted: true as const };
}
