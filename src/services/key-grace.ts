import { TollgateError } from '../core/errors.js';
import { checkKeyManager, getProjectKey, lockKeyManager, ownerOfKey } from './api-keys.js';
import { writeAudit } from './audit.js';
import type { Actor, Executor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import type { GraceEndedKey } from '../contract/api-keys.js';
import { recordKeyChange } from './key-writes.js';
import { getProject, projectArchived, requireActiveProject } from './projects.js';

// A rotation leaves the previous secrets working for a grace period (api-keys.ts rotateProjectKey). Once every
// system has the new secret, the grace can be ended at once instead of waiting it out (issue 19).

/** When each key's previous secrets stop working, for the keys that still have one working (a rotation's grace). */
export async function previousSecretEnds(db: Executor, keyIds: string[], now: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (keyIds.length === 0) return out;
  const rows = await db
    .selectFrom('api_key_secrets')
    .select(['key_id'])
    .select((eb) => eb.fn.max('expires_at').as('ends'))
    .where('key_id', 'in', keyIds)
    .where('expires_at', '>', now)
    .groupBy('key_id')
    .execute();
  for (const r of rows) out.set(r.key_id, Number(r.ends));
  return out;
}

/**
 * Ends the grace period of a rotated key: its previous secrets are refused from the moment this returns (the current
 * one keeps working). Idempotent: a key without a previous secret in grace is answered as it is, and not audited.
 */
export async function endRotationGrace(
  deps: ServiceDeps,
  orgId: string,
  projectId: string,
  keyId: string,
  actor: Actor,
): Promise<GraceEndedKey> {
  const project = await getProject(deps, orgId, projectId);
  const key = await getProjectKey(deps, orgId, projectId, keyId);
  // A project member ends the grace of their own keys only, as for every other key change.
  const keyOwner = await ownerOfKey(deps, keyId);
  await checkKeyManager(deps, projectId, keyOwner, actor);
  if (project.status === 'archived') throw projectArchived(projectId);
  if (key.status !== 'active') {
    throw new TollgateError('key_revoked', `API key '${keyId}' is ${key.status}; it has no secret to end.`, 'api_key_id');
  }
  const now = nowSeconds(deps);
  const ended = await deps.database.db.transaction().execute(async (trx) => {
    // Archived since the check above: refused as it would have been (grace_ended was logged after project.archived).
    await requireActiveProject(trx, deps, projectId);
    await lockKeyManager(trx, deps, projectId, keyOwner, actor);
    const res = await trx
      .updateTable('api_key_secrets')
      .set({ expires_at: now })
      .where('key_id', '=', keyId)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return false;
    await recordKeyChange(trx, deps, keyId);
    await writeAudit(trx, deps, {
      orgId,
      type: 'api_key.grace_ended',
      actor,
      projectId,
      objectId: keyId,
      details: { previous_secret_expires_at: now },
    });
    return true;
  });
  if (ended) deps.changes.keyChanged(keyId);
  return { ...key, previous_secret_expires_at: null };
}
