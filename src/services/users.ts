import { z } from 'zod';
import { TollgateError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { writeAudit } from './audit.js';
import type { Actor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { revokeKeyRow } from './key-writes.js';
import { afterSeq, type ListPage, pageQuery, toPage } from './pagination.js';
import { getProject } from './projects.js';
import { EmailSchema, IdSchema, NameSchema } from './text-fields.js';
import { parseInput } from './validation.js';

export type OrgRole = 'owner' | 'reader';
export type ProjectRole = 'owner' | 'member' | 'reader';

export interface UserObject {
  object: 'organization.user';
  id: string;
  name: string;
  email: string;
  role: OrgRole;
  added_at: number;
}

export interface ProjectUserObject {
  object: 'organization.project.user';
  id: string;
  name: string;
  email: string;
  role: ProjectRole;
  added_at: number;
}

const CreateUser = z.strictObject({ email: EmailSchema, name: NameSchema.optional(), role: z.enum(['owner', 'reader']).optional() });
const ModifyUser = z.strictObject({ role: z.enum(['owner', 'reader']) });
const AddMember = z.strictObject({ user_id: IdSchema, role: z.enum(['owner', 'member', 'reader']) });
const ModifyMember = z.strictObject({ role: z.enum(['owner', 'member', 'reader']) });

type UserRow = { id: string; name: string; email: string; role: OrgRole; created_at: number };
const toUser = (r: UserRow): UserObject => ({
  object: 'organization.user',
  id: r.id,
  name: r.name,
  email: r.email,
  role: r.role,
  added_at: r.created_at,
});

/** Adds a user to the organization (sign-in credentials are set by the session API). */
export async function createUser(
  deps: ServiceDeps,
  orgId: string,
  input: unknown,
  actor: Actor,
  passwordHash: string | null = null,
): Promise<UserObject> {
  const body = parseInput(CreateUser, input);
  const db = deps.database.db;
  const clash = await db.selectFrom('users').select('id').where('email', '=', body.email).executeTakeFirst();
  if (clash) throw new TollgateError('conflict', `A user with email '${body.email}' already exists.`, 'email');
  const id = newId('user-', deps.randomBytes);
  const role = body.role ?? 'reader';
  await db.transaction().execute(async (trx) => {
    await trx
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
      .execute();
    await writeAudit(trx, deps, { orgId, type: 'user.added', actor, objectId: id, details: { data: { email: body.email, role } } });
  });
  return getUser(deps, orgId, id);
}

/** Lists the organization's users. */
export async function listUsers(deps: ServiceDeps, orgId: string, query: Record<string, unknown>): Promise<ListPage<UserObject>> {
  const { limit, after } = pageQuery(query);
  const db = deps.database.db;
  let q = db.selectFrom('users').selectAll().where('org_id', '=', orgId).where('deleted_at', 'is', null);
  const from = await afterSeq(db, 'users', after, 'user');
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
  if (!row) throw new TollgateError('not_found', `No user found with id '${userId}'.`, 'user_id');
  return toUser(row);
}

/** Changes a user's organization role. */
export async function modifyUser(deps: ServiceDeps, orgId: string, userId: string, input: unknown, actor: Actor): Promise<UserObject> {
  const body = parseInput(ModifyUser, input);
  await getUser(deps, orgId, userId);
  await deps.database.db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set({ role: body.role }).where('id', '=', userId).execute();
    await writeAudit(trx, deps, { orgId, type: 'user.updated', actor, objectId: userId, details: { changes_requested: body } });
  });
  return getUser(deps, orgId, userId);
}

/** Removes a user: their memberships end and their keys are revoked, in one transaction. */
export async function deleteUser(deps: ServiceDeps, orgId: string, userId: string, actor: Actor) {
  await getUser(deps, orgId, userId);
  const db = deps.database.db;
  const keys = await db.selectFrom('api_keys').select(['id', 'project_id']).where('owner_id', '=', userId).execute();
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set({ deleted_at: nowSeconds(deps) }).where('id', '=', userId).execute();
    await trx.deleteFrom('project_members').where('user_id', '=', userId).execute();
    for (const k of keys) {
      if (await revokeKeyRow(trx, deps, k.id)) {
        await writeAudit(trx, deps, { orgId, type: 'api_key.deleted', actor, projectId: k.project_id, objectId: k.id });
      }
    }
    await writeAudit(trx, deps, { orgId, type: 'user.deleted', actor, objectId: userId });
  });
  for (const k of keys) deps.changes.keyChanged(k.id);
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
  query: Record<string, unknown>,
): Promise<ListPage<ProjectUserObject>> {
  await getProject(deps, orgId, projectId);
  const { limit, after } = pageQuery(query);
  let q = memberQuery(deps, projectId);
  if (after) {
    const cursor = await deps.database.db
      .selectFrom('project_members')
      .select('seq')
      .where('project_id', '=', projectId)
      .where('user_id', '=', after)
      .executeTakeFirst();
    if (!cursor) throw new TollgateError('invalid_value', `Invalid value for 'after': no member ${after}.`, 'after');
    q = q.where('m.seq', '>', cursor.seq);
  }
  const rows = await q.orderBy('m.seq').limit(limit + 1).execute();
  return toPage(rows.map(toMember), limit);
}

/** One project member, or 404. */
export async function getProjectUser(deps: ServiceDeps, orgId: string, projectId: string, userId: string): Promise<ProjectUserObject> {
  await getProject(deps, orgId, projectId);
  const row = await memberQuery(deps, projectId).where('u.id', '=', userId).executeTakeFirst();
  if (!row) throw new TollgateError('not_found', `User '${userId}' is not a member of project '${projectId}'.`, 'user_id');
  return toMember(row);
}

/** Adds an organization user to a project with a role. */
export async function addProjectUser(deps: ServiceDeps, orgId: string, projectId: string, input: unknown, actor: Actor) {
  const body = parseInput(AddMember, input);
  const project = await getProject(deps, orgId, projectId);
  if (project.status === 'archived') throw new TollgateError('project_archived', `Project '${projectId}' is archived.`, 'project_id');
  await getUser(deps, orgId, body.user_id).catch(() => {
    throw new TollgateError('invalid_value', `Invalid value for 'user_id': no user '${body.user_id}'.`, 'user_id');
  });
  const db = deps.database.db;
  const existing = await db
    .selectFrom('project_members')
    .select('seq')
    .where('project_id', '=', projectId)
    .where('user_id', '=', body.user_id)
    .executeTakeFirst();
  if (existing) throw new TollgateError('conflict', `User '${body.user_id}' is already a member of this project.`, 'user_id');
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('project_members')
      .values({ project_id: projectId, user_id: body.user_id, role: body.role, added_at: nowSeconds(deps) })
      .execute();
    await writeAudit(trx, deps, {
      orgId,
      type: 'project.user.added',
      actor,
      projectId,
      objectId: body.user_id,
      details: { data: { role: body.role } },
    });
  });
  return getProjectUser(deps, orgId, projectId, body.user_id);
}

/** Changes a member's project role. */
export async function modifyProjectUser(deps: ServiceDeps, orgId: string, projectId: string, userId: string, input: unknown, actor: Actor) {
  const body = parseInput(ModifyMember, input);
  await getProjectUser(deps, orgId, projectId, userId);
  await deps.database.db.transaction().execute(async (trx) => {
    await trx.updateTable('project_members').set({ role: body.role }).where('project_id', '=', projectId).where('user_id', '=', userId).execute();
    await writeAudit(trx, deps, { orgId, type: 'project.user.updated', actor, projectId, objectId: userId, details: { changes_requested: body } });
  });
  return getProjectUser(deps, orgId, projectId, userId);
}

/** Removes a member from a project. */
export async function removeProjectUser(deps: ServiceDeps, orgId: string, projectId: string, userId: string, actor: Actor) {
  await getProjectUser(deps, orgId, projectId, userId);
  await deps.database.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('project_members').where('project_id', '=', projectId).where('user_id', '=', userId).execute();
    await writeAudit(trx, deps, { orgId, type: 'project.user.removed', actor, projectId, objectId: userId });
  });
  return { object: 'organization.project.user.deleted' as const, id: userId, deleted: true as const };
}
