import { z } from 'zod';
import { TollgateError } from '../core/errors.js';
import type { CreatedAdminKey } from '../contract/api-keys.js';
import { checkFutureExpiry, ExpiresAtSchema } from './api-keys.js';
import { writeAudit } from './audit.js';
import { asActingOwner } from './acting-owner.js';
import type { Actor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { type AdminApiKeyObject, loadAdminKeyOwners, type OrgRef, toAdminKeyObject } from './key-objects.js';
import { withdrawInvitesBy } from './invites.js';
import { insertKey, revokeKeyRow } from './key-writes.js';
import { afterSeq, type ListPage, toPage } from './pagination.js';
import { IpListSchema } from './projects.js';
import { BoolParam, OrderParam, pageOf, pageParams } from './query-params.js';
import { NameSchema } from './text-fields.js';

/** OpenAI's limit on `expires_in_seconds`: one year. */
const MAX_EXPIRES_IN_SECONDS = 31_536_000;

/** The body of POST /admin_api_keys: OpenAI's (name, expires_in_seconds) plus Tollgate's expires_at (an absolute time) and allowed_ips. */
export const CreateAdminKeyBody = z.strictObject({
  name: NameSchema,
  expires_in_seconds: z.number().int().min(1).max(MAX_EXPIRES_IN_SECONDS).optional(),
  expires_at: ExpiresAtSchema.optional(),
  allowed_ips: IpListSchema.nullable().optional(),
});

export type CreateAdminKeyBody = z.output<typeof CreateAdminKeyBody>;

// A deleted admin key is shown as OpenAI shows one, that is not at all, unless `include_revoked=true` (Tollgate's).
/** The query of GET /admin_api_keys. */
export const ListAdminKeysQuery = z.strictObject({ ...pageParams, order: OrderParam.optional(), include_revoked: BoolParam.optional() });
export type ListAdminKeysQuery = z.output<typeof ListAdminKeysQuery>;
/** The query of GET /admin_api_keys/{key_id}. */
export const RetrieveAdminKeyQuery = z.strictObject({ include_revoked: BoolParam.optional() });
export type RetrieveAdminKeyQuery = z.output<typeof RetrieveAdminKeyQuery>;

/**
 * Who owns a new admin key: the signed-in user who makes it, or the owner of the admin key that makes it; a key made
 * without a user (the CLI on the server, the first start) belongs to the organization.
 */
async function ownerFor(deps: ServiceDeps, actor: Actor): Promise<string | null> {
  if (actor.type === 'session') return actor.id;
  if (actor.type === 'api_key' && actor.keyType === 'admin' && actor.id) {
    const maker = await deps.database.db.selectFrom('api_keys').select(['owner_type', 'owner_id']).where('id', '=', actor.id).executeTakeFirst();
    return maker?.owner_type === 'user' ? maker.owner_id : null;
  }
  return null;
}

async function orgRef(deps: ServiceDeps, orgId: string): Promise<OrgRef> {
  return deps.database.db.selectFrom('organizations').select(['id', 'name', 'created_at']).where('id', '=', orgId).executeTakeFirstOrThrow();
}

/** Creates an admin key (`sk-tg-admin-…`); the returned `value` is shown this once. */
export async function createAdminKey(
  deps: ServiceDeps,
  orgId: string,
  body: CreateAdminKeyBody,
  actor: Actor,
): Promise<CreatedAdminKey> {
  const now = nowSeconds(deps);
  // Both given, even `expires_at: null` (no expiry), contradict each other: one would be ignored without a word.
  if (body.expires_in_seconds !== undefined && body.expires_at !== undefined) {
    throw new TollgateError('invalid_value', "Give either 'expires_in_seconds' or 'expires_at', not both (an 'expires_at' of null means no expiry).", 'expires_in_seconds');
  }
  checkFutureExpiry(body.expires_at, now);
  const expiresAt = body.expires_in_seconds !== undefined ? now + body.expires_in_seconds : (body.expires_at ?? null);
  const ownerId = await ownerFor(deps, actor);
  const { id, secret } = await asActingOwner(deps, actor, async (trx) => {
    const created = await insertKey(
      trx,
      deps,
      {
        kind: 'admin',
        orgId,
        projectId: null,
        name: body.name,
        ownerType: ownerId ? 'user' : null,
        ownerId,
        permissions: 'all',
        // A lifetime is counted from the creation time the key records (one clock reading for both).
        expiresAt: body.expires_in_seconds !== undefined ? null : expiresAt,
        expiresInSeconds: body.expires_in_seconds ?? null,
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
      details: { data: { name: body.name, expires_at: created.expiresAt, allowed_ips: body.allowed_ips ?? null } },
    });
    return created;
  });
  deps.changes.keyChanged(id);
  return { ...(await getAdminKey(deps, orgId, id)), value: secret };
}

/** Lists admin keys, oldest first (`order=desc`: newest first); deleted ones only with include_revoked=true. */
export async function listAdminKeys(deps: ServiceDeps, orgId: string, params: ListAdminKeysQuery): Promise<ListPage<AdminApiKeyObject>> {
  const { limit, after } = pageOf(params);
  const desc = params.order === 'desc';
  const db = deps.database.db;
  let q = db.selectFrom('api_keys').selectAll().where('org_id', '=', orgId).where('kind', '=', 'admin');
  if (!params.include_revoked) q = q.where('status', '!=', 'revoked');
  const from = await afterSeq(db, 'api_keys', after, 'key', { org_id: orgId, kind: 'admin' });
  if (from !== null) q = q.where('seq', desc ? '<' : '>', from);
  const rows = await q.orderBy('seq', desc ? 'desc' : 'asc').limit(limit + 1).execute();
  const owners = await loadAdminKeyOwners(db, rows);
  const now = nowSeconds(deps);
  const org = await orgRef(deps, orgId);
  return toPage(
    rows.map((r) => toAdminKeyObject(r, owners, now, org)),
    limit,
  );
}

/** GET /admin_api_keys/{key_id}: a deleted key is a 404 unless `include_revoked=true`. */
export async function retrieveAdminKey(deps: ServiceDeps, orgId: string, keyId: string, params: RetrieveAdminKeyQuery): Promise<AdminApiKeyObject> {
  return getAdminKey(deps, orgId, keyId, { includeRevoked: params.include_revoked ?? false });
}

/** One admin key, or 404 (a deleted one too, unless asked for). */
export async function getAdminKey(deps: ServiceDeps, orgId: string, keyId: string, opts: { includeRevoked?: boolean } = {}): Promise<AdminApiKeyObject> {
  const db = deps.database.db;
  let q = db.selectFrom('api_keys').selectAll().where('id', '=', keyId).where('org_id', '=', orgId).where('kind', '=', 'admin');
  if (!opts.includeRevoked) q = q.where('status', '!=', 'revoked');
  const row = await q.executeTakeFirst();
  if (!row) throw new TollgateError('not_found', `No admin API key found with id '${keyId}'.`, 'key_id');
  return toAdminKeyObject(row, await loadAdminKeyOwners(db, [row]), nowSeconds(deps), await orgRef(deps, orgId));
}

/** Deletes (revokes) an admin key; a deleted one is a 404, as it is gone from the API. */
export async function deleteAdminKey(
  deps: ServiceDeps,
  orgId: string,
  keyId: string,
  actor: Actor,
): Promise<{ object: 'organization.admin_api_key.deleted'; id: string; deleted: true }> {
  await getAdminKey(deps, orgId, keyId);
  await asActingOwner(deps, actor, async (trx) => {
    // Revoked by another request since the check above: a 404 as a second DELETE gets, and that one wrote the entry.
    if (!(await revokeKeyRow(trx, deps, keyId))) throw new TollgateError('not_found', `No admin API key found with id '${keyId}'.`, 'key_id');
    await writeAudit(trx, deps, { orgId, type: 'admin_api_key.deleted', actor, objectId: keyId });
    // Its pending invitations go with it, as a removed owner's do (users.ts): a key deleted because it leaked may have
    // sent some, an owner's role among them, to whoever holds it.
    await withdrawInvitesBy(trx, deps, orgId, [keyId], actor);
  });
  deps.changes.keyChanged(keyId);
  return { object: 'organization.admin_api_key.deleted', id: keyId, deleted: true };
}
