import { z } from 'zod';
import { TollgateError } from '../core/errors.js';
import { writeAudit } from './audit.js';
import type { Actor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { type AdminApiKeyObject, loadOwners, toAdminKeyObject } from './key-objects.js';
import { insertKey, revokeKeyRow } from './key-writes.js';
import { afterSeq, type ListPage, pageQuery, toPage } from './pagination.js';
import { IpListSchema } from './projects.js';
import { NameSchema } from './text-fields.js';
import { checkFutureExpiry } from './api-keys.js';
import { parseInput } from './validation.js';

const CreateAdminKey = z.strictObject({
  name: NameSchema,
  expires_at: z.number().int().positive().nullable().optional(),
  allowed_ips: IpListSchema.nullable().optional(),
});

/** Creates an admin key (`sk-tg-admin-…`); the returned `value` is shown this once. */
export async function createAdminKey(
  deps: ServiceDeps,
  orgId: string,
  input: unknown,
  actor: Actor,
): Promise<AdminApiKeyObject & { value: string }> {
  const body = parseInput(CreateAdminKey, input);
  checkFutureExpiry(body.expires_at, nowSeconds(deps));
  const owner = actor.type === 'session' && actor.id ? { type: 'user' as const, id: actor.id } : null;
  const { id, secret } = await deps.database.db.transaction().execute(async (trx) => {
    const created = await insertKey(
      trx,
      deps,
      {
        kind: 'admin',
        orgId,
        projectId: null,
        name: body.name,
        ownerType: owner?.type ?? null,
        ownerId: owner?.id ?? null,
        permissions: 'all',
        expiresAt: body.expires_at ?? null,
        allowedIps: body.allowed_ips ?? null,
        allowedModels: null,
      },
      actor,
    );
    await writeAudit(trx, deps, {
      orgId,
      type: 'admin_api_key.created',
      actor,
      objectId: created.id,
      details: { data: { name: body.name, expires_at: body.expires_at ?? null, allowed_ips: body.allowed_ips ?? null } },
    });
    return created;
  });
  deps.changes.keyChanged(id);
  return { ...(await getAdminKey(deps, orgId, id)), value: secret };
}

/** Lists admin keys, oldest first. */
export async function listAdminKeys(deps: ServiceDeps, orgId: string, query: Record<string, unknown>): Promise<ListPage<AdminApiKeyObject>> {
  const { limit, after } = pageQuery(query);
  const db = deps.database.db;
  let q = db.selectFrom('api_keys').selectAll().where('org_id', '=', orgId).where('kind', '=', 'admin');
  const from = await afterSeq(db, 'api_keys', after, 'key');
  if (from !== null) q = q.where('seq', '>', from);
  const rows = await q.orderBy('seq').limit(limit + 1).execute();
  const owners = await loadOwners(db, rows);
  const now = nowSeconds(deps);
  return toPage(rows.map((r) => toAdminKeyObject(r, owners, now)), limit);
}

/** One admin key, or 404. */
export async function getAdminKey(deps: ServiceDeps, orgId: string, keyId: string): Promise<AdminApiKeyObject> {
  const db = deps.database.db;
  const row = await db
    .selectFrom('api_keys')
    .selectAll()
    .where('id', '=', keyId)
    .where('org_id', '=', orgId)
    .where('kind', '=', 'admin')
    .executeTakeFirst();
  if (!row) throw new TollgateError('not_found', `No admin API key found with id '${keyId}'.`, 'key_id');
  return toAdminKeyObject(row, await loadOwners(db, [row]), nowSeconds(deps));
}

/** Revokes an admin key. Idempotent. */
export async function deleteAdminKey(
  deps: ServiceDeps,
  orgId: string,
  keyId: string,
  actor: Actor,
): Promise<{ object: 'organization.admin_api_key.deleted'; id: string; deleted: true }> {
  await getAdminKey(deps, orgId, keyId);
  await deps.database.db.transaction().execute(async (trx) => {
    const changed = await revokeKeyRow(trx, deps, keyId);
    if (changed) await writeAudit(trx, deps, { orgId, type: 'admin_api_key.deleted', actor, objectId: keyId });
  });
  deps.changes.keyChanged(keyId);
  return { object: 'organization.admin_api_key.deleted', id: keyId, deleted: true };
}
