import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { z } from 'zod';
import { randomBase62 } from '../core/base62.js';
import { TollgateError } from '../core/errors.js';
import { writeAudit } from './audit.js';
import { asActingOwner, lockActingOwner } from './acting-owner.js';
import type { Actor, Executor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { afterSeq, type ListPage, toPage } from './pagination.js';
import { pageOf, pageParams } from './query-params.js';
import { EmailSchema, IdSchema } from './text-fields.js';
import type { OrgRole, ProjectRole } from '../core/roles.js';
import type { CreatedInvite, InviteObject, InvitePreview } from '../contract/invites.js';

export type { InviteObject } from '../contract/invites.js';

// Invitations in the shape of OpenAI's Invites API. The link carries a 256-bit token; the table holds only
// its SHA-256 digest, so the link is shown once (at creation) and cannot be recovered afterwards.

export const INVITE_TTL_SECONDS = 7 * 24 * 3600;

export { EmailSchema };

// OpenAI's InviteRequest. An invitation grants project roles member or owner only, as OpenAI's Invite object can
// show no other: Tollgate's project readers are added once they have joined (POST …/projects/{id}/users).
const InviteProjectRole = z.enum(['owner', 'member'], {
  error: "must be 'member' or 'owner' (an invitation cannot make a project reader: add readers to the project once they have joined)",
});
/**
 * A project named twice in one invitation: both entries were stored and shown, and the sign-up made the first one
 * and dropped the second without a word (`member`, where the second said `owner`).
 */
function refuseRepeatedProjects(projects: Array<{ id: string }>, ctx: z.RefinementCtx): void {
  const first = new Map<string, number>();
  for (const [i, p] of projects.entries()) {
    const earlier = first.get(p.id);
    if (earlier === undefined) {
      first.set(p.id, i);
      continue;
    }
    ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `the project '${p.id}' is named already, as projects.${earlier}.id; name each project once, with one role` });
    return;
  }
}

/** The body of POST /invites. */
export const CreateInviteBody = z.strictObject({
  email: EmailSchema,
  role: z.enum(['owner', 'reader']),
  projects: z
    .array(z.strictObject({ id: IdSchema, role: InviteProjectRole }))
    .max(100)
    .superRefine(refuseRepeatedProjects)
    .optional(),
});
export type CreateInviteBody = z.output<typeof CreateInviteBody>;
/** The query of GET /invites. */
export const ListInvitesQuery = z.strictObject(pageParams);
export type ListInvitesQuery = z.output<typeof ListInvitesQuery>;

type InviteRow = {
  id: string;
  email: string;
  role: OrgRole;
  projects: string;
  invited_at: number;
  expires_at: number;
  accepted_at: number | null;
};

function toInvite(r: InviteRow, now: number): InviteObject {
  const status = r.accepted_at !== null ? 'accepted' : now >= r.expires_at ? 'expired' : 'pending';
  return {
    object: 'organization.invite',
    id: r.id,
    email: r.email,
    role: r.role,
    status,
    created_at: r.invited_at,
    invited_at: r.invited_at,
    expires_at: r.expires_at,
    accepted_at: r.accepted_at,
    projects: JSON.parse(r.projects),
  };
}

/** SHA-256 hex digest of an invitation token. */
export function hashInviteToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The first key of the advisory locks that serialise invites to one address (the two-key space, apart from withGlobalLock's). */
const INVITE_LOCK_CLASS = 748_403;

/**
 * Holds, until the transaction ends, a PostgreSQL advisory lock on (organization, email), so that invites to one address
 * are made one after another and each replaces the one before: made side by side, none saw the others' rows and all
 * three links stayed live, and withdrawing one left the others working. SQLite runs one transaction at a time.
 */
async function lockInvitesTo(trx: Executor, deps: ServiceDeps, orgId: string, email: string): Promise<void> {
  if (deps.database.dialect !== 'postgres') return;
  await sql`select pg_advisory_xact_lock(${INVITE_LOCK_CLASS}::int, hashtext(${`${orgId}\n${email}`}))`.execute(trx);
}

/**
 * Invites someone by email; returns the invite and its `accept_url` (`{origin}/#/accept?token=…`), shown this once.
 * A newer invite for the same email replaces a pending one, so "resend" is simply inviting again.
 */
export async function createInvite(
  deps: ServiceDeps,
  orgId: string,
  body: CreateInviteBody,
  actor: Actor,
  origin: string,
): Promise<CreatedInvite> {
  const db = deps.database.db;
  // Someone removed from the organization may be invited again (as OpenAI allows): accepting makes a new user.
  const existing = await db.selectFrom('users').select('password_hash').where('email', '=', body.email).where('deleted_at', 'is', null).executeTakeFirst();
  if (existing?.password_hash) throw new TollgateError('conflict', `'${body.email}' already has an account in this organization.`, 'email');
  const projects = body.projects ?? [];
  for (const [i, p] of projects.entries()) {
    const project = await db.selectFrom('projects').select('status').where('id', '=', p.id).where('org_id', '=', orgId).executeTakeFirst();
    if (project?.status !== 'active') {
      throw new TollgateError('invalid_value', `Invalid value for 'projects.${i}.id': no active project '${p.id}'.`, `projects.${i}.id`);
    }
  }
  const token = Buffer.from(deps.randomBytes(32)).toString('base64url');
  const id = `invite-${randomBase62(24, deps.randomBytes)}`;
  const now = nowSeconds(deps);
  const invite = await db.transaction().execute(async (trx) => {
    // Still an owner (or a live admin key), the row held until the invite is in: demoting an owner writes their row and
    // revokes their keys first, then withdraws the invites it finds (users.ts), so one sent at that moment is refused
    // or withdrawn.
    await lockActingOwner(trx, deps, actor, 'Only organization owners can manage invitations.');
    await lockInvitesTo(trx, deps, orgId, body.email);
    await trx
      .updateTable('invites')
      .set({ deleted_at: now })
      .where('email', '=', body.email)
      .where('accepted_at', 'is', null)
      .where('deleted_at', 'is', null)
      .execute();
    await trx
      .insertInto('invites')
      .values({
        id,
        org_id: orgId,
        email: body.email,
        role: body.role,
        projects: JSON.stringify(projects),
        token_hash: hashInviteToken(token),
        invited_by_type: actor.type,
        invited_by_id: actor.id,
        invited_at: now,
        expires_at: now + INVITE_TTL_SECONDS,
        accepted_at: null,
        deleted_at: null,
      })
      .execute();
    await writeAudit(trx, deps, { orgId, type: 'invite.sent', actor, objectId: id, details: { data: { email: body.email, role: body.role, projects } } });
    // Read here: a newer invite to the address, sent a moment later, replaces this one at once; this one was still sent.
    return toInvite(await trx.selectFrom('invites').selectAll().where('id', '=', id).executeTakeFirstOrThrow(), now);
  });
  return { ...invite, accept_url: `${origin}/#/accept?token=${token}` };
}

/** One invite (not deleted), or 404. */
export async function getInvite(deps: ServiceDeps, orgId: string, inviteId: string): Promise<InviteObject> {
  const row = await deps.database.db
    .selectFrom('invites')
    .selectAll()
    .where('id', '=', inviteId)
    .where('org_id', '=', orgId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row) throw new TollgateError('not_found', `No invite found with id '${inviteId}'.`, 'invite_id');
  return toInvite(row, nowSeconds(deps));
}

/** Lists invites, oldest first (pending, accepted and expired; deleted ones are gone). */
export async function listInvites(deps: ServiceDeps, orgId: string, params: ListInvitesQuery): Promise<ListPage<InviteObject>> {
  const { limit, after } = pageOf(params);
  const db = deps.database.db;
  let q = db.selectFrom('invites').selectAll().where('org_id', '=', orgId).where('deleted_at', 'is', null);
  const from = await afterSeq(db, 'invites', after, 'invite', { org_id: orgId });
  if (from !== null) q = q.where('seq', '>', from);
  const rows = await q.orderBy('seq').limit(limit + 1).execute();
  const now = nowSeconds(deps);
  return toPage(
    rows.map((r) => toInvite(r, now)),
    limit,
  );
}

/** Withdraws an invite; its link stops working. An accepted invite cannot be deleted (as in OpenAI's API). */
export async function deleteInvite(deps: ServiceDeps, orgId: string, inviteId: string, actor: Actor) {
  const invite = await getInvite(deps, orgId, inviteId);
  if (invite.status === 'accepted') throw new TollgateError('conflict', `Invite '${inviteId}' was already accepted.`, 'invite_id');
  await asActingOwner(deps, actor, async (trx) => {
    // Accepted or withdrawn since the check above: refused as it would have been, with no entry (claimInvite's race).
    const res = await trx
      .updateTable('invites')
      .set({ deleted_at: nowSeconds(deps) })
      .where('id', '=', inviteId)
      .where('accepted_at', 'is', null)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) {
      const now = await trx.selectFrom('invites').select(['accepted_at', 'deleted_at']).where('id', '=', inviteId).executeTakeFirst();
      if (now?.deleted_at == null && now?.accepted_at != null) throw new TollgateError('conflict', `Invite '${inviteId}' was already accepted.`, 'invite_id');
      throw new TollgateError('not_found', `No invite found with id '${inviteId}'.`, 'invite_id');
    }
    await writeAudit(trx, deps, { orgId, type: 'invite.deleted', actor, objectId: inviteId, details: { data: { email: invite.email } } });
  });
  return { object: 'organization.invite.deleted' as const, id: inviteId, deleted: true as const };
}

/**
 * Withdraws the pending invites made by any of `inviterIds` (a user, by session, and the admin keys they own), each
 * audited as invite.deleted: an owner who stops being one must not bring an owner in afterwards through a link sent before.
 */
export async function withdrawInvitesBy(trx: Executor, deps: ServiceDeps, orgId: string, inviterIds: string[], actor: Actor): Promise<void> {
  if (!inviterIds.length) return;
  const pending = await trx
    .selectFrom('invites')
    .select(['id', 'email'])
    .where('org_id', '=', orgId)
    .where('invited_by_id', 'in', inviterIds)
    .where('accepted_at', 'is', null)
    .where('deleted_at', 'is', null)
    .execute();
  for (const invite of pending) {
    // Accepted in the meantime (claimInvite won): it stays accepted, and nothing was withdrawn to audit.
    const res = await trx
      .updateTable('invites')
      .set({ deleted_at: nowSeconds(deps) })
      .where('id', '=', invite.id)
      .where('accepted_at', 'is', null)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) continue;
    await writeAudit(trx, deps, { orgId, type: 'invite.deleted', actor, objectId: invite.id, details: { data: { email: invite.email } } });
  }
}

/**
 * Withdraws the pending invites to `email` (a user being removed), each audited as invite.deleted, under the address's
 * invite lock: an invite sent to the person before their removal must not bring them back once the address is free.
 */
export async function withdrawInvitesTo(trx: Executor, deps: ServiceDeps, orgId: string, email: string, actor: Actor): Promise<void> {
  await lockInvitesTo(trx, deps, orgId, email);
  const withdrawn = await trx
    .updateTable('invites')
    .set({ deleted_at: nowSeconds(deps) })
    .where('org_id', '=', orgId)
    .where('email', '=', email)
    .where('accepted_at', 'is', null)
    .where('deleted_at', 'is', null)
    .returning('id')
    .execute();
  for (const invite of withdrawn) await writeAudit(trx, deps, { orgId, type: 'invite.deleted', actor, objectId: invite.id, details: { data: { email } } });
}

export interface PendingInvite {
  id: string;
  orgId: string;
  email: string;
  role: OrgRole;
  projects: Array<{ id: string; role: ProjectRole }>;
  expiresAt: number;
}

/** The pending invite a link's token names; null when unknown, withdrawn, used or expired. */
export async function findPendingInvite(deps: ServiceDeps, token: string): Promise<PendingInvite | null> {
  if (!token || token.length > 256) return null;
  const row = await deps.database.db
    .selectFrom('invites')
    .selectAll()
    .where('token_hash', '=', hashInviteToken(token))
    .where('deleted_at', 'is', null)
    .where('accepted_at', 'is', null)
    .executeTakeFirst();
  if (!row || nowSeconds(deps) >= row.expires_at) return null;
  return { id: row.id, orgId: row.org_id, email: row.email, role: row.role, projects: JSON.parse(row.projects), expiresAt: row.expires_at };
}

/** What an invitation link is for, as the accept page shows it before sign-up; null when the link is not valid here. */
export async function previewInvite(deps: ServiceDeps, org: { id: string; name: string }, token: string): Promise<InvitePreview | null> {
  const invite = await findPendingInvite(deps, token);
  if (!invite || invite.orgId !== org.id) return null;
  const ids = invite.projects.map((p) => p.id);
  const names = ids.length
    ? new Map((await deps.database.db.selectFrom('projects').select(['id', 'name']).where('id', 'in', ids).execute()).map((p) => [p.id, p.name]))
    : new Map<string, string>();
  return {
    object: 'organization.invite.preview',
    email: invite.email,
    role: invite.role,
    expires_at: invite.expiresAt,
    organization: { id: org.id, name: org.name },
    projects: invite.projects.map((p) => ({ id: p.id, name: names.get(p.id) ?? p.id, role: p.role })),
  };
}

/** Marks a pending invite used; false when someone else used (or withdrew) it first. */
export async function claimInvite(deps: ServiceDeps, inviteId: string, ex: Executor = deps.database.db): Promise<boolean> {
  const res = await ex
    .updateTable('invites')
    .set({ accepted_at: nowSeconds(deps) })
    .where('id', '=', inviteId)
    .where('accepted_at', 'is', null)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}
