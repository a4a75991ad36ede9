import { sql } from 'kysely';
import { z } from 'zod';
import { TollgateError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { ORG_ROLES, type OrgRole, PROJECT_ROLES, type ProjectRole } from '../core/roles.js';
import { withGlobalLock } from '../storage/database.js';
import { asActingOwner, lockActingOwner } from './acting-owner.js';
import { writeAudit } from './audit.js';
import { changedMembers, changesAnything } from './changed-members.js';
import type { Actor, Executor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { revokeKeyRow } from './key-writes.js';
import { markRemoved, removedPlace } from './list-removals.js';
import { afterSeq, type ListPage, toPage } from './pagination.js';
import { listParam, listValues, pageOf, pageParams } from './query-params.js';
import { withdrawInvitesBy, withdrawInvitesTo } from './invites.js';
import { deleteUserSessions } from './sessions.js';
import { getActiveProject, getProject, requireActiveProject } from './projects.js';
import { EmailSchema, IdSchema, NameSchema, text } from './text-fields.js';
import type { ProjectUserObject, UserObject } from '../contract/users.js';

export type { ProjectUserObject, UserObject } from '../contract/users.js';


/** A user's role in a project, or null when they are not its member. */
export async function projectRoleOf(deps: ServiceDeps, userId: string, projectId: string): Promise<ProjectRole | null> {
  const row = await deps.database.db
    .selectFrom('project_members')
    .select('role')
    .where('project_id', '=', projectId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row?.role ?? null;
}

/** The body of POST /users. */
export const CreateUserBody = z.strictObject({ email: EmailSchema, name: NameSchema.optional(), role: z.enum(ORG_ROLES).optional() });
export type CreateUserBody = z.output<typeof CreateUserBody>;
const OrgRoleSchema = z.enum(ORG_ROLES);
const ProjectRoleSchema = z.enum(PROJECT_ROLES);
const Label = text({ max: 256, trim: true }).nullable();
/**
 * The body of POST /users/{user_id}: OpenAI's UserRoleUpdateRequest. `technical_level` and `developer_persona` are
 * stored and shown as given (null clears); `role_id` names a custom role of OpenAI's Roles API, which Tollgate does not have.
 */
export const ModifyUserBody = z.strictObject({
  role: OrgRoleSchema.nullable().optional(),
  role_id: text({ max: 256 }).nullable().optional(),
  technical_level: Label.optional(),
  developer_persona: Label.optional(),
});
export type ModifyUserBody = z.output<typeof ModifyUserBody>;
/** The body of POST /projects/{project_id}/users: OpenAI's ProjectUserCreateRequest, the user by id or by email (either; both must name the same user). */
export const AddProjectUserBody = z.strictObject({
  user_id: IdSchema.nullable().optional(),
  email: EmailSchema.nullable().optional(),
  role: ProjectRoleSchema,
});
export type AddProjectUserBody = z.output<typeof AddProjectUserBody>;
/** The body of POST /projects/{project_id}/users/{user_id}. A null role leaves the role as it is. */
export const ModifyProjectUserBody = z.strictObject({ role: ProjectRoleSchema.nullable().optional() });
export type ModifyProjectUserBody = z.output<typeof ModifyProjectUserBody>;
/** The query of GET /users. */
export const ListUsersQuery = z.strictObject({ ...pageParams, ...listParam('emails') });
export type ListUsersQuery = z.output<typeof ListUsersQuery>;
/** The query of GET /projects/{project_id}/users. */
export const ListProjectUsersQuery = z.strictObject(pageParams);
export type ListProjectUsersQuery = z.output<typeof ListProjectUsersQuery>;

type UserRow = {
  id: string;
  name: string;
  email: string;
  role: OrgRole;
  created_at: number;
  technical_level: string | null;
  developer_persona: string | null;
};
const toUser = (r: UserRow): UserObject => ({
  object: 'organization.user',
  id: r.id,
  name: r.name,
  email: r.email,
  role: r.role,
  added_at: r.created_at,
  technical_level: r.technical_level,
  developer_persona: r.developer_persona,
});

/** Adds a user to the organization (sign-in credentials are set by the session API). */
export async function createUser(
  deps: ServiceDeps,
  orgId: string,
  body: CreateUserBody,
  actor: Actor,
  passwordHash: string | null = null,
): Promise<UserObject> {
  const id = await asActingOwner(deps, actor, (trx) => insertUser(trx, deps, orgId, body, actor, passwordHash));
  return getUser(deps, orgId, id);
}

/**
 * Inserts a user and its user.added entry in the caller's transaction (`id`: the one to give it); returns its id. An
 * address is taken while its user is in the organization: someone removed may be added again, as a new user with a
 * new id (migration 102), so that nothing their old row held (sessions, password, keys, memberships, the audit
 * entries naming its id) becomes theirs again; a live user with the address is a 409, also one added at the same moment.
 */
export async function insertUser(
  trx: Executor,
  deps: ServiceDeps,
  orgId: string,
  body: CreateUserBody,
  actor: Actor,
  passwordHash: string | null,
  id = newId('user-', deps.randomBytes),
): Promise<string> {
  const clash = new TollgateError('conflict', `A user with email '${body.email}' already exists.`, 'email');
  if (await trx.selectFrom('users').select('id').where('email', '=', body.email).where('deleted_at', 'is', null).executeTakeFirst()) throw clash;
  const role = body.role ?? 'reader';
  const res = await trx
    .insertInto('users')
    .values({
      id,
      org_id: orgId,
      email: body.email,
      name: body.name ?? body.email.split('@')[0],
      role,
      password_hash: passwordHash,
      created_at: nowSeconds(deps),
      deleted_at: null,
    })
    // The live rows' unique index (users_email_live): a user added with the address since the check above.
    .onConflict((oc) => oc.column('email').where('deleted_at', 'is', null).doNothing())
    .executeTakeFirst();
  if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) throw clash;
  await writeAudit(trx, deps, { orgId, type: 'user.added', actor, objectId: id, details: { data: { email: body.email, role } } });
  return id;
}

/** Lists the organization's users; `emails` (OpenAI's) keeps those with one of the addresses, in any case. */
export async function listUsers(deps: ServiceDeps, orgId: string, params: ListUsersQuery): Promise<ListPage<UserObject>> {
  const { limit, after } = pageOf(params);
  const emails = listValues(params, 'emails');
  const db = deps.database.db;
  let q = db.selectFrom('users').selectAll().where('org_id', '=', orgId).where('deleted_at', 'is', null);
  if (emails !== null) {
    // Asked for no address (emails[]= with nothing), nobody matches: an empty filter never means "everyone".
    const wanted = emails.map((e) => e.trim().toLowerCase()).filter(Boolean);
    q = wanted.length ? q.where('email', 'in', wanted) : q.where(sql<boolean>`1 = 0`);
  }
  const from = await afterSeq(db, 'users', after, 'user', { org_id: orgId });
  if (from !== null) q = q.where('seq', '>', from);
  const rows = await q.orderBy('seq').limit(limit + 1).execute();
  return toPage(rows.map(toUser), limit);
}

/** One user, or 404. */
export async function getUser(deps: ServiceDeps, orgId: string, userId: string): Promise<UserObject> {
  const row = await deps.database.db
    .selectFrom('users')
    .selectAll()
    .where('id', '=', userId)
    .where('org_id', '=', orgId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row) throw userNotFound(userId);
  return toUser(row);
}

// The organization's owners are the only people who can manage it from the dashboard (invite, change roles, make
// admin keys): refusing to demote or remove the last one who can sign in keeps an organization from being left with
// nobody to run it (OpenAI refuses the same). The check and the change run under one lock, so two owners demoting each
// other at once cannot both succeed. An owner's admin keys are theirs (services/admin-keys.ts ownerFor): when they stop
// being an owner the keys are revoked, or a demoted owner would keep every owner's power through them; so are the
// invitations they sent (one could make an accomplice an owner after the demotion).
const OWNERS_LOCK = 748_402;

/** Refuses to demote or remove `userId` when they are the last owner who can sign in. */
async function keepAnOwner(trx: Executor, orgId: string, userId: string): Promise<void> {
  const owners = await trx
    .selectFrom('users')
    .select('id')
    .where('org_id', '=', orgId)
    .where('role', '=', 'owner')
    .where('deleted_at', 'is', null)
    .where('password_hash', 'is not', null)
    .execute();
  if (owners.some((o) => o.id === userId) && owners.length === 1) {
    throw new TollgateError(
      'conflict',
      `User '${userId}' is the organization's last owner: make another member an owner first.`,
      'user_id',
    );
  }
}

/**
 * Ends what a user held as an owner: the admin keys they own are revoked (they act with an owner's power) and the
 * pending invites they or those keys sent are withdrawn, each audited. Returns the revoked keys' ids.
 */
async function endOwnerPowers(trx: Executor, deps: ServiceDeps, orgId: string, userId: string, actor: Actor): Promise<string[]> {
  const keys = await trx.selectFrom('api_keys').select('id').where('owner_id', '=', userId).where('kind', '=', 'admin').execute();
  const revoked: string[] = [];
  for (const k of keys) {
    if (await revokeKeyRow(trx, deps, k.id)) {
      await writeAudit(trx, deps, { orgId, type: 'admin_api_key.deleted', actor, objectId: k.id });
      revoked.push(k.id);
    }
  }
  await withdrawInvitesBy(trx, deps, orgId, [userId, ...keys.map((k) => k.id)], actor);
  return revoked;
}

/**
 * Revokes the live admin keys of users who are no longer owners (made a reader, or removed): an owner demoted before
 * demotion revoked them (endOwnerPowers) kept an owner's power through them. Run at every start (runtime.ts), under
 * the owners' lock; audited as a demotion's revocations are, with the system as actor. Returns the revoked keys' ids.
 */
export async function revokeFormerOwnersAdminKeys(deps: ServiceDeps, orgId: string): Promise<string[]> {
  const revoked = await withGlobalLock(deps.database, OWNERS_LOCK, async (trx) => {
    const keys = await trx
      .selectFrom('api_keys as k')
      .innerJoin('users as u', 'u.id', 'k.owner_id')
      .select('k.id')
      .where('k.org_id', '=', orgId)
      .where('k.kind', '=', 'admin')
      .where('k.owner_type', '=', 'user')
      .where('k.status', '!=', 'revoked')
      .where((eb) => eb.or([eb('u.role', '!=', 'owner'), eb('u.deleted_at', 'is not', null)]))
      .execute();
    const ids: string[] = [];
    for (const k of keys) {
      if (await revokeKeyRow(trx, deps, k.id)) {
        await writeAudit(trx, deps, { orgId, type: 'admin_api_key.deleted', actor: { type: 'system', id: null }, objectId: k.id });
        ids.push(k.id);
      }
    }
    return ids;
  });
  for (const id of revoked) deps.changes.keyChanged(id);
  return revoked;
}

/**
 * Holds the row of the user a demotion or removal writes (FOR UPDATE on PostgreSQL) before the actor's rows are held
 * (the lock order, acting-owner.ts): the admin key acting, held first, met its owner's own revocation of it, which
 * holds that owner's row and then writes the key's.
 */
async function lockTargetUser(trx: Executor, deps: ServiceDeps, userId: string): Promise<void> {
  if (deps.database.dialect !== 'postgres') return;
  await trx.selectFrom('users').select('id').where('id', '=', userId).forUpdate().execute();
}

/**
 * Holds the row of the live user with `email`, if any (FOR UPDATE on PostgreSQL), until the transaction ends: a
 * sign-up by invitation takes it before the invite, the order a removal takes the user's row and then the invites to
 * their address (deleteUser), so the two wait for each other instead of deadlocking, and an invite withdrawn by a
 * removal that committed first is found withdrawn.
 */
export async function lockLiveUserWithEmail(trx: Executor, deps: ServiceDeps, email: string): Promise<void> {
  if (deps.database.dialect !== 'postgres') return;
  await trx.selectFrom('users').select('id').where('email', '=', email).where('deleted_at', 'is', null).forUpdate().execute();
}

const userNotFound = (userId: string) => new TollgateError('not_found', `No user found with id '${userId}'.`, 'user_id');
const notMember = (userId: string, projectId: string) =>
  new TollgateError('not_found', `User '${userId}' is not a member of project '${projectId}'.`, 'user_id');

/** Changes a user's organization role, or their technical level and developer persona. */
export async function modifyUser(deps: ServiceDeps, orgId: string, userId: string, body: ModifyUserBody, actor: Actor): Promise<UserObject> {
  if (body.role_id != null) {
    throw new TollgateError(
      'invalid_value',
      "Invalid value for 'role_id': Tollgate has no custom roles (OpenAI's Roles API is not served); set 'role' to owner or reader.",
      'role_id',
    );
  }
  await getUser(deps, orgId, userId);
  const patch: { role?: OrgRole; technical_level?: string | null; developer_persona?: string | null } = {};
  if (body.role != null) patch.role = body.role;
  if (body.technical_level !== undefined) patch.technical_level = body.technical_level || null;
  if (body.developer_persona !== undefined) patch.developer_persona = body.developer_persona || null;
  const revoked = await withGlobalLock(deps.database, OWNERS_LOCK, async (trx) => {
    // The user's row before the actor's rows (the lock order, acting-owner.ts).
    await lockTargetUser(trx, deps, userId);
    // Still an owner, under the owners' lock a demotion takes: an owner demoted a moment ago makes nobody an owner.
    await lockActingOwner(trx, deps, actor);
    // Removed since the check above: a 404 as it would have been, with nothing written (user.updated read after user.deleted).
    // Read under the owners' lock (removal takes it too).
    const before = await trx.selectFrom('users').select(['role', 'technical_level', 'developer_persona']).where('id', '=', userId).where('deleted_at', 'is', null).executeTakeFirst();
    if (!before) throw userNotFound(userId);
    const demoted = patch.role === 'reader';
    if (demoted) await keepAnOwner(trx, orgId, userId);
    // The row first: an admin key being made for this user waits for it, then finds them no owner (key-writes.ts).
    if (Object.keys(patch).length) await trx.updateTable('users').set(patch).where('id', '=', userId).execute();
    const ended = demoted ? await endOwnerPowers(trx, deps, orgId, userId, actor) : [];
    // The entry names what changed (a role sent as the one the user has is no change); nothing changed, no entry.
    const changed = changedMembers(patch, before);
    if (changesAnything(changed)) await writeAudit(trx, deps, { orgId, type: 'user.updated', actor, objectId: userId, details: { changes_requested: changed } });
    return ended;
  });
  for (const id of revoked) deps.changes.keyChanged(id);
  return getUser(deps, orgId, userId);
}

/**
 * Removes a user: their memberships and sessions end, their keys are revoked and the invitations they sent or that
 * are waiting for their address are withdrawn, in one transaction. Their row stays (audit entries, usage and keys
 * name it); the address is free for a new user.
 */
export async function deleteUser(deps: ServiceDeps, orgId: string, userId: string, actor: Actor) {
  const { email } = await getUser(deps, orgId, userId);
  const keys = await withGlobalLock(deps.database, OWNERS_LOCK, async (trx) => {
    // The user's row before the actor's rows (the lock order, acting-owner.ts).
    await lockTargetUser(trx, deps, userId);
    await lockActingOwner(trx, deps, actor);
    await keepAnOwner(trx, orgId, userId);
    // The row first, then the keys: a key being made for this user waits for the row and is refused, or is in and
    // found below (key-writes.ts lockLiveOwner).
    // Removed by another request meanwhile: that one revoked the keys and wrote the entries.
    const res = await trx.updateTable('users').set({ deleted_at: nowSeconds(deps) }).where('id', '=', userId).where('deleted_at', 'is', null).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw userNotFound(userId);
    const memberships = await trx.deleteFrom('project_members').where('user_id', '=', userId).returning(['project_id', 'seq']).execute();
    for (const m of memberships) await markRemoved(trx, 'project_members', m.project_id, userId, { seq: Number(m.seq) }, nowSeconds(deps));
    const admin = await endOwnerPowers(trx, deps, orgId, userId, actor);
    const project = await trx.selectFrom('api_keys').select(['id', 'project_id']).where('owner_id', '=', userId).where('kind', '=', 'project').execute();
    for (const k of project) {
      if (await revokeKeyRow(trx, deps, k.id)) {
        await writeAudit(trx, deps, { orgId, type: 'api_key.deleted', actor, projectId: k.project_id, objectId: k.id });
      }
    }
    // A removed user's sessions were refused (sessions.ts findSession) but kept; ended now. An invitation to their
    // address sent before the removal was theirs: withdrawn, or it would bring them back with its role and projects
    // once the address is free. Last: it takes the address's invite lock, after every row this removal writes.
    await deleteUserSessions(deps, userId, trx);
    await withdrawInvitesTo(trx, deps, orgId, email, actor);
    await writeAudit(trx, deps, { orgId, type: 'user.deleted', actor, objectId: userId });
    return [...admin, ...project.map((k) => k.id)];
  });
  for (const id of keys) deps.changes.keyChanged(id);
  return { object: 'organization.user.deleted' as const, id: userId, deleted: true as const };
}

type MemberRow = { id: string; name: string; email: string; role: ProjectRole; added_at: number };
const toMember = (r: MemberRow): ProjectUserObject => ({
  object: 'organization.project.user',
  id: r.id,
  name: r.name,
  email: r.email,
  role: r.role,
  added_at: r.added_at,
});

function memberQuery(deps: ServiceDeps, projectId: string) {
  return deps.database.db
    .selectFrom('project_members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['u.id as id', 'u.name as name', 'u.email as email', 'm.role as role', 'm.added_at as added_at', 'm.seq as seq'])
    .where('m.project_id', '=', projectId)
    .where('u.deleted_at', 'is', null);
}

/** Lists a project's members. */
export async function listProjectUsers(
  deps: ServiceDeps,
  orgId: string,
  projectId: string,
  params: ListProjectUsersQuery,
): Promise<ListPage<ProjectUserObject>> {
  await getProject(deps, orgId, projectId);
  const { limit, after } = pageOf(params);
  let q = memberQuery(deps, projectId);
  if (after) {
    const cursor = await deps.database.db
      .selectFrom('project_members')
      .select('seq')
      .where('project_id', '=', projectId)
      .where('user_id', '=', after)
      .executeTakeFirst();
    // A member removed since the page before: on from where it stood (services/list-removals.ts).
    const seq = cursor?.seq ?? (await removedPlace(deps.database.db, 'project_members', projectId, after))?.seq;
    if (seq === undefined) throw new TollgateError('invalid_value', `Invalid value for 'after': no member ${after}.`, 'after');
    q = q.where('m.seq', '>', seq);
  }
  const rows = await q.orderBy('m.seq').limit(limit + 1).execute();
  return toPage(rows.map(toMember), limit);
}

/** One project member, or 404. */
export async function getProjectUser(deps: ServiceDeps, orgId: string, projectId: string, userId: string): Promise<ProjectUserObject> {
  await getProject(deps, orgId, projectId);
  const row = await memberQuery(deps, projectId).where('u.id', '=', userId).executeTakeFirst();
  if (!row) throw notMember(userId, projectId);
  return toMember(row);
}

/** The organization user a project-user request names by `user_id` or `email` (both: the same user). */
async function namedUser(deps: ServiceDeps, orgId: string, body: { user_id?: string | null; email?: string | null }): Promise<UserObject> {
  if (!body.user_id && !body.email) {
    throw new TollgateError('missing_required_parameter', "Missing required parameter: 'user_id' (or 'email').", 'user_id');
  }
  let user: UserObject | undefined;
  if (body.user_id) {
    user = await getUser(deps, orgId, body.user_id).catch(() => {
      throw new TollgateError('invalid_value', `Invalid value for 'user_id': no user '${body.user_id}'.`, 'user_id');
    });
  }
  if (body.email) {
    const row = await deps.database.db
      .selectFrom('users')
      .select('id')
      .where('org_id', '=', orgId)
      .where('email', '=', body.email)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!row) {
      throw new TollgateError('invalid_value', `Invalid value for 'email': no user of this organization has the address '${body.email}'.`, 'email');
    }
    if (user && user.id !== row.id) throw new TollgateError('invalid_value', "'user_id' and 'email' name different users.", 'email');
    user ??= await getUser(deps, orgId, row.id);
  }
  return user as UserObject;
}

/** Adds an organization user (by id or email) to a project with a role. */
export async function addProjectUser(deps: ServiceDeps, orgId: string, projectId: string, body: AddProjectUserBody, actor: Actor) {
  await getActiveProject(deps, orgId, projectId);
  const userId = (await namedUser(deps, orgId, body)).id;
  const db = deps.database.db;
  const existing = await db
    .selectFrom('project_members')
    .select('seq')
    .where('project_id', '=', projectId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (existing) throw new TollgateError('conflict', `User '${userId}' is already a member of this project.`, 'user_id');
  await asActingOwner(deps, actor, (trx) => insertMember(trx, deps, orgId, projectId, userId, body.role, actor));
  return getProjectUser(deps, orgId, projectId, userId);
}

/**
 * Adds a member and its project.user.added entry in the caller's transaction. A refusal (TollgateError) is thrown
 * before any statement fails, so the caller may skip it and go on in the same transaction.
 */
export async function insertMember(trx: Executor, deps: ServiceDeps, orgId: string, projectId: string, userId: string, role: ProjectRole, actor: Actor): Promise<void> {
  // Checked again with the rows held until the member is in: the project not archived meanwhile, the user not
  // removed (removal writes the user's row before ending memberships, so it waits or is seen), and the same member
  // not added by another request (its unique violation was a 500 on PostgreSQL).
  await requireActiveProject(trx, deps, projectId);
  const user = trx.selectFrom('users').select('id').where('id', '=', userId).where('deleted_at', 'is', null);
  if (!(await (deps.database.dialect === 'postgres' ? user.forShare() : user).executeTakeFirst())) {
    throw new TollgateError('invalid_value', `Invalid value for 'user_id': no user '${userId}'.`, 'user_id');
  }
  const res = await trx
    .insertInto('project_members')
    .values({ project_id: projectId, user_id: userId, role, added_at: nowSeconds(deps) })
    .onConflict((oc) => oc.columns(['project_id', 'user_id']).doNothing())
    .executeTakeFirst();
  if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) throw new TollgateError('conflict', `User '${userId}' is already a member of this project.`, 'user_id');
  await writeAudit(trx, deps, { orgId, type: 'project.user.added', actor, projectId, objectId: userId, details: { data: { role } } });
}

/** Changes a member's project role; refused in an archived project, as adding a member is. */
export async function modifyProjectUser(deps: ServiceDeps, orgId: string, projectId: string, userId: string, body: ModifyProjectUserBody, actor: Actor) {
  await getActiveProject(deps, orgId, projectId);
  await getProjectUser(deps, orgId, projectId, userId);
  await asActingOwner(deps, actor, async (trx) => {
    // Archived since the check above: refused as it would have been (project.user.updated read after project.archived).
    await requireActiveProject(trx, deps, projectId);
    // Removed from the project meanwhile: a 404, with nothing written.
    const member = trx.selectFrom('project_members').select('role').where('project_id', '=', projectId).where('user_id', '=', userId);
    const before = await (deps.database.dialect === 'postgres' ? member.forUpdate() : member).executeTakeFirst();
    if (!before) throw notMember(userId, projectId);
    // A null role keeps the role, and the role the member has is no change: nothing changed, no entry.
    if (body.role == null || body.role === before.role) return;
    await trx.updateTable('project_members').set({ role: body.role }).where('project_id', '=', projectId).where('user_id', '=', userId).execute();
    await writeAudit(trx, deps, { orgId, type: 'project.user.updated', actor, projectId, objectId: userId, details: { changes_requested: { role: body.role } } });
  });
  return getProjectUser(deps, orgId, projectId, userId);
}

/** Removes a member from a project. */
export async function removeProjectUser(deps: ServiceDeps, orgId: string, projectId: string, userId: string, actor: Actor) {
  await getProjectUser(deps, orgId, projectId, userId);
  await asActingOwner(deps, actor, async (trx) => {
    // Removed by another request meanwhile: that one wrote the entry.
    const res = await trx.deleteFrom('project_members').where('project_id', '=', projectId).where('user_id', '=', userId).returning('seq').executeTakeFirst();
    if (!res) throw notMember(userId, projectId);
    await markRemoved(trx, 'project_members', projectId, userId, { seq: Number(res.seq) }, nowSeconds(deps));
    await writeAudit(trx, deps, { orgId, type: 'project.user.removed', actor, projectId, objectId: userId });
  });
  return { object: 'organization.project.user.deleted' as const, id: userId, deleted: true as const };
}
