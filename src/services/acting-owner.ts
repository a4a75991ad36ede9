import { TollgateError } from '../core/errors.js';
import { MESSAGES, type OrgRole, type ProjectRole } from '../core/roles.js';
import type { Actor, Executor, ServiceDeps } from './context.js';

// Who may make a change is decided when the request comes in (http/auth/session-resolver.ts, by the session's role),
// and decided again here, in the change's own transaction, with the rows the decision rests on held (FOR SHARE on
// PostgreSQL) until it commits. Demoting or removing an owner writes their user row, taking someone out of a project
// writes (or deletes) their membership, and revoking a key writes its row: so a change authorised a moment before
// either commits first, or waits and is refused here. Decided only at the door, a demoted owner's request in flight
// still made an accomplice an owner after the demotion committed (an outside review). SQLite runs one transaction at
// a time. The CLI and the system act for the organization itself and are not asked. A report of exposed keys is the
// exception: its actor is asked once, as it starts (services/exposure.ts reportExposed says why).
//
// One lock order, on PostgreSQL, for every transaction that holds rows of users and of api_keys:
//   1. the owners' advisory lock (users.ts OWNERS_LOCK), when taken: demotions, removals, the start's sweep;
//   2. users rows: the user a demotion or removal writes (users.ts lockTargetUser), then the acting user (a session's
//      user, or the owner of the acting admin key), then a new key's owner (key-writes.ts lockLiveOwner);
//   3. api_keys rows: the acting admin key, then the keys written.
// Taken the other way (the acting key's row, then its owner's user row for the new key, against a demotion writing
// the user row, then revoking the key), PostgreSQL broke the deadlock by failing one side 500, sometimes the
// demotion (an outside review).

const forShare = <Q extends { forShare(): Q }>(deps: ServiceDeps, q: Q): Q => (deps.database.dialect === 'postgres' ? q.forShare() : q);

/**
 * Refuses an admin key revoked since the request was authenticated (its owner demoted, or the key deleted). Its
 * owner's user row is held first, then the key's (the lock order above): a demotion or removal under way, which writes
 * that user row before it revokes the key, commits first and the key is found revoked, or waits for this transaction.
 */
async function lockLiveKey(trx: Executor, deps: ServiceDeps, actor: Actor): Promise<void> {
  const keyId = actor.id ?? '';
  const owner = await trx.selectFrom('api_keys').select(['owner_type', 'owner_id']).where('id', '=', keyId).executeTakeFirst();
  if (owner?.owner_type === 'user' && owner.owner_id) await forShare(deps, trx.selectFrom('users').select('id').where('id', '=', owner.owner_id)).execute();
  const q = trx.selectFrom('api_keys').select('id').where('id', '=', keyId).where('status', '=', 'active');
  if (!(await forShare(deps, q).executeTakeFirst())) throw new TollgateError('invalid_api_key');
}

/** A session user's organization role, their row held; null when they were removed. */
async function lockOrgRole(trx: Executor, deps: ServiceDeps, userId: string): Promise<OrgRole | null> {
  const q = trx.selectFrom('users').select('role').where('id', '=', userId).where('deleted_at', 'is', null);
  return (await forShare(deps, q).executeTakeFirst())?.role ?? null;
}

/**
 * Checks, in the caller's transaction, that the actor may still make an organization owner's change: a session's user
 * still an owner and not removed, an admin key still live. Refused 403 (`message`), or 401 for a key revoked meanwhile.
 */
export async function lockActingOwner(trx: Executor, deps: ServiceDeps, actor: Actor, message: string = MESSAGES.ownerOnlyChange): Promise<void> {
  if (actor.type === 'api_key') return lockLiveKey(trx, deps, actor);
  if (actor.type !== 'session') return;
  if ((await lockOrgRole(trx, deps, actor.id ?? '')) !== 'owner') throw new TollgateError('insufficient_permissions', message);
}

/** Runs an owner-only write in a transaction whose first step is lockActingOwner. */
export function asActingOwner<T>(deps: ServiceDeps, actor: Actor, fn: (trx: Executor) => Promise<T>): Promise<T> {
  return deps.database.db.transaction().execute(async (trx) => {
    await lockActingOwner(trx, deps, actor);
    return fn(trx);
  });
}

/** What a signed-in actor is in the organization and one project, read with their rows held. */
export interface ActingRoles {
  userId: string;
  orgRole: OrgRole | null;
  projectRole: ProjectRole | null;
}

/**
 * The acting session user's organization and project roles, read in the caller's transaction with their user row and
 * membership held, for the caller to decide on (a project key's write: core/roles.ts decideKeyManagement); null for
 * actors who are not asked. An admin key revoked meanwhile is refused here.
 */
export async function lockActingRoles(trx: Executor, deps: ServiceDeps, actor: Actor, projectId: string): Promise<ActingRoles | null> {
  if (actor.type === 'api_key') await lockLiveKey(trx, deps, actor);
  if (actor.type !== 'session') return null;
  const userId = actor.id ?? '';
  const orgRole = await lockOrgRole(trx, deps, userId);
  // Removed from the organization: no role anywhere (removal ends the memberships too, in its own transaction).
  if (orgRole === null) return { userId, orgRole, projectRole: null };
  const member = trx.selectFrom('project_members').select('role').where('project_id', '=', projectId).where('user_id', '=', userId);
  const projectRole = (await forShare(deps, member).executeTakeFirst())?.role ?? null;
  return { userId, orgRole, projectRole };
}
