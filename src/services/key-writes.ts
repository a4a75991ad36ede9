import { newId } from '../core/ids.js';
import { generateSecret, hashSecret, redactSecret } from '../core/key-format.js';
import { hasLimits, type KeyLimits } from '../core/key-limits.js';
import type { PermissionsSpec } from '../core/permissions.js';
import { TollgateError } from '../core/errors.js';
import type { Actor, Executor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';

// Writes shared by project keys, admin keys and service-account keys. The caller owns the transaction.

export interface NewKeyFields {
  kind: 'project' | 'admin';
  orgId: string;
  projectId: string | null;
  name: string;
  ownerType: 'user' | 'service_account' | null;
  ownerId: string | null;
  permissions: PermissionsSpec;
  expiresAt: number | null;
  /** The key's lifetime from its creation instead of an absolute expiresAt: both read from the same clock reading. */
  expiresInSeconds?: number | null;
  allowedIps: string[] | null;
  allowedModels: string[] | null;
  limits?: KeyLimits | null;
}

/** Creator of a key as recorded in `created_by`. */
export function createdBy(actor: Actor): { type: string; id: string | null } {
  if (actor.type === 'api_key') return { type: actor.keyType === 'admin' ? 'admin_api_key' : 'api_key', id: actor.id };
  if (actor.type === 'session') return { type: 'user', id: actor.id };
  return { type: actor.type, id: actor.id };
}

/**
 * Checks, in the key's own transaction, that its owner is still there (a user not removed, and an owner for an admin
 * key; a service account not deleted), holding the owner's row until the key is in (FOR SHARE: keys of one owner may
 * still be made side by side). Removing a user or a service account, or demoting an owner, writes that row first and
 * then revokes the keys it finds, so a key created at the same moment is either seen and revoked or refused here:
 * checked only before the transaction, every key a removed user was creating while being removed survived the removal
 * on PostgreSQL. SQLite runs one transaction at a time.
 */
async function lockLiveOwner(trx: Executor, deps: ServiceDeps, f: NewKeyFields): Promise<void> {
  if (!f.ownerType || !f.ownerId) return;
  const lock = deps.database.dialect === 'postgres';
  if (f.ownerType === 'user') {
    let q = trx.selectFrom('users').select('id').where('id', '=', f.ownerId).where('deleted_at', 'is', null);
    if (f.kind === 'admin') q = q.where('role', '=', 'owner');
    if (await (lock ? q.forShare() : q).executeTakeFirst()) return;
    if (f.kind === 'admin') throw new TollgateError('insufficient_permissions', 'Only organization owners can make admin keys.');
    throw new TollgateError('invalid_value', `Invalid value for 'owner': user '${f.ownerId}' was removed from the organization.`, 'owner');
  }
  const q = trx.selectFrom('service_accounts').select('id').where('id', '=', f.ownerId).where('deleted_at', 'is', null);
  if (await (lock ? q.forShare() : q).executeTakeFirst()) return;
  throw new TollgateError('not_found', `Service account '${f.ownerId}' was deleted.`, 'service_account_id');
}

/** Inserts a key and its first secret; returns the id and the secret (shown once by the caller). */
export async function insertKey(
  trx: Executor,
  deps: ServiceDeps,
  f: NewKeyFields,
  actor: Actor,
): Promise<{ id: string; secret: string; createdAt: number; expiresAt: number | null }> {
  await lockLiveOwner(trx, deps, f);
  const now = nowSeconds(deps);
  const expiresAt = f.expiresInSeconds ? now + f.expiresInSeconds : f.expiresAt;
  const id = newId('key_', deps.randomBytes);
  const secret = generateSecret(f.kind, deps.randomBytes);
  const redacted = redactSecret(secret);
  const by = createdBy(actor);
  await trx
    .insertInto('api_keys')
    .values({
      id,
      kind: f.kind,
      org_id: f.orgId,
      project_id: f.projectId,
      name: f.name,
      redacted_value: redacted,
      owner_type: f.ownerType,
      owner_id: f.ownerId,
      created_by_type: by.type,
      created_by_id: by.id,
      created_at: now,
      last_used_at: null,
      expires_at: expiresAt,
      status: 'active',
      revoked_at: null,
      permissions: JSON.stringify(f.permissions),
      allowed_models: f.allowedModels?.length ? JSON.stringify(f.allowedModels) : null,
      allowed_ips: f.allowedIps?.length ? JSON.stringify(f.allowedIps) : null,
      exposed_at: null,
      exposed_url: null,
      rotated_at: null,
      limits: f.limits && hasLimits(f.limits) ? JSON.stringify(f.limits) : null,
    })
    .execute();
  await trx
    .insertInto('api_key_secrets')
    .values({ secret_hash: hashSecret(secret), key_id: id, redacted_value: redacted, created_at: now, expires_at: null })
    .execute();
  await recordKeyChange(trx, deps, id);
  return { id, secret, createdAt: now, expiresAt };
}

/** Appends to the change feed that other instances (and a running server, for CLI writes) poll. */
export async function recordKeyChange(trx: Executor, deps: ServiceDeps, keyId: string): Promise<void> {
  await trx.insertInto('key_changes').values({ key_id: keyId, changed_at: nowSeconds(deps) }).execute();
}

/**
 * Marks a key revoked, whatever its status (active, suspended, exposed: issue 16 §3, a suspended or exposed key was
 * answered `deleted` and left as it was, to be reinstated or to linger); returns false when it already was revoked.
 */
export async function revokeKeyRow(trx: Executor, deps: ServiceDeps, keyId: string): Promise<boolean> {
  const res = await trx
    .updateTable('api_keys')
    .set({ status: 'revoked', revoked_at: nowSeconds(deps) })
    .where('id', '=', keyId)
    .where('status', '!=', 'revoked')
    .executeTakeFirst();
  await recordKeyChange(trx, deps, keyId);
  return Number(res.numUpdatedRows) > 0;
}
