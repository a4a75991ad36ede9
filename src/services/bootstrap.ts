import { newId } from '../core/ids.js';
import { withGlobalLock } from '../storage/database.js';
import { writeAudit } from './audit.js';
import type { Executor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';

const BOOTSTRAP_LOCK = 748_401;

export interface Organization {
  id: string;
  name: string;
  created_at: number;
}

/** Creates the organization, its "Default project" and that project's default service account, once. */
export async function ensureInitialized(deps: ServiceDeps): Promise<{ org: Organization; created: boolean }> {
  const existing = await deps.database.db.selectFrom('organizations').selectAll().orderBy('created_at').executeTakeFirst();
  if (existing) return { org: existing, created: false };
  return withGlobalLock(deps.database, BOOTSTRAP_LOCK, async (trx) => {
    const again = await trx.selectFrom('organizations').selectAll().executeTakeFirst();
    if (again) return { org: again, created: false };
    const now = nowSeconds(deps);
    const org = { id: newId('org-', deps.randomBytes), name: 'Default organization', created_at: now };
    await trx.insertInto('organizations').values(org).execute();
    await insertProject(trx, deps, org.id, 'Default project', null, { type: 'system', id: null });
    return { org, created: true };
  });
}

/** Inserts a project with its default service account and audit entry (caller owns the transaction). */
export async function insertProject(
  trx: Executor,
  deps: ServiceDeps,
  orgId: string,
  name: string,
  allowedIps: string[] | null,
  actor: Parameters<typeof writeAudit>[2]['actor'],
  extra: { residency: string | null; geography: string | null; externalKeyId: string | null } = { residency: null, geography: null, externalKeyId: null },
): Promise<string> {
  const now = nowSeconds(deps);
  const id = newId('proj_', deps.randomBytes);
  await trx
    .insertInto('projects')
    .values({
      id,
      org_id: orgId,
      name,
      status: 'active',
      allowed_ips: allowedIps?.length ? JSON.stringify(allowedIps) : null,
      created_at: now,
      archived_at: null,
      residency: extra.residency,
      geography: extra.geography,
      external_key_id: extra.externalKeyId,
    })
    .execute();
  await trx
    .insertInto('service_accounts')
    .values({
      id: newId('svc_acct_', deps.randomBytes),
      project_id: id,
      name: 'Default service account',
      role: 'member',
      is_default: 1,
      created_at: now,
      deleted_at: null,
    })
    .execute();
  await writeAudit(trx, deps, {
    orgId,
    type: 'project.created',
    actor,
    projectId: id,
    objectId: id,
    details: {
      data: {
        name,
        allowed_ips: allowedIps ?? null,
        ...(extra.residency ? { residency: extra.residency } : {}),
        ...(extra.geography ? { geography: extra.geography } : {}),
        ...(extra.externalKeyId ? { external_key_id: extra.externalKeyId } : {}),
      },
    },
  });
  return id;
}
