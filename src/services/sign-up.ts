import { z } from 'zod';
import { TollgateError } from '../core/errors.js';
import type { AccountContext, Client } from './accounts.js';
import { sessionActor } from './accounts.js';
import { writeAudit } from './audit.js';
import type { Actor } from './context.js';
import { claimInvite, EmailSchema, findPendingInvite, releaseInvite } from './invites.js';
import { hashPassword, NewPasswordSchema } from './passwords.js';
import { NameSchema } from './projects.js';
import { deleteSession } from './sessions.js';
import { openSession, type StartedSession } from './sign-in.js';
import { addProjectUser, createUser, type OrgRole } from './users.js';
import { parseInput } from './validation.js';

const SignUp = z.strictObject({
  email: EmailSchema,
  password: NewPasswordSchema,
  name: NameSchema.optional(),
  invite_token: z.string().max(256).optional(),
});

// Set once, by the first sign-up; its primary key makes "first" atomic across instances and databases.
const OWNER_CLAIM = 'dashboard.owner_claimed';

/** Whether sign-up without an invitation is open: nobody has ever set a password on this instance. */
export async function isOwnerSignupOpen(ctx: AccountContext): Promise<boolean> {
  const db = ctx.deps.database.db;
  const claim = await db.selectFrom('settings').select('name').where('name', '=', OWNER_CLAIM).executeTakeFirst();
  if (claim) return false;
  const withPassword = await db.selectFrom('users').select('id').where('password_hash', 'is not', null).executeTakeFirst();
  return !withPassword;
}

async function claimOwnerSlot(ctx: AccountContext, email: string): Promise<boolean> {
  const db = ctx.deps.database.db;
  try {
    await db.insertInto('settings').values({ name: OWNER_CLAIM, value: email }).execute();
    return true;
  } catch (err) {
    const taken = await db.selectFrom('settings').select('name').where('name', '=', OWNER_CLAIM).executeTakeFirst();
    if (taken) return false;
    throw err;
  }
}

/** Creates the user, or gives a password to one an owner added through the admin API (users have none until then). */
async function establishUser(
  ctx: AccountContext,
  fields: { email: string; name?: string; role: OrgRole },
  passwordHash: string,
  actor: Actor,
): Promise<string> {
  const db = ctx.deps.database.db;
  const existing = await db.selectFrom('users').select(['id', 'password_hash', 'deleted_at']).where('email', '=', fields.email).executeTakeFirst();
  if (!existing) {
    const created = await createUser(ctx.deps, ctx.orgId, { email: fields.email, name: fields.name, role: fields.role }, actor, passwordHash);
    return created.id;
  }
  if (existing.deleted_at !== null) {
    throw new TollgateError('conflict', `The user '${fields.email}' was removed from the organization.`, 'email');
  }
  if (existing.password_hash) throw new TollgateError('conflict', 'An account with this email already exists; sign in instead.', 'email');
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('users')
      .set({ password_hash: passwordHash, role: fields.role, ...(fields.name ? { name: fields.name } : {}) })
      .where('id', '=', existing.id)
      .execute();
    await writeAudit(trx, ctx.deps, { orgId: ctx.orgId, type: 'user.updated', actor, objectId: existing.id, details: { changes_requested: { role: fields.role } } });
  });
  return existing.id;
}

/**
 * Creates an account and signs it in. On a fresh instance the first account becomes the organization owner;
 * after that an invitation token is required, and the account gets the invite's role and projects.
 */
export async function signUp(ctx: AccountContext, input: unknown, client: Client, previousTokenHash: string | null): Promise<StartedSession> {
  const body = parseInput(SignUp, input);
  const newcomer = sessionActor({ userId: null, email: body.email }, client);
  let userId: string;
  if (body.invite_token !== undefined) {
    userId = await acceptInvitation(ctx, body, newcomer);
  } else {
    const closed = new TollgateError('insufficient_permissions', 'Sign-up needs an invitation. Ask an organization owner to invite you.');
    if (!(await isOwnerSignupOpen(ctx))) throw closed;
    const passwordHash = await hashPassword(body.password);
    if (!(await claimOwnerSlot(ctx, body.email))) throw closed;
    try {
      userId = await establishUser(ctx, { email: body.email, name: body.name, role: 'owner' }, passwordHash, newcomer);
    } catch (err) {
      await ctx.deps.database.db.deleteFrom('settings').where('name', '=', OWNER_CLAIM).execute();
      throw err;
    }
  }
  if (previousTokenHash) await deleteSession(ctx.deps, previousTokenHash);
  const started = await openSession(ctx, userId, client);
  await writeAudit(ctx.deps.database.db, ctx.deps, {
    orgId: ctx.orgId,
    type: 'login.succeeded',
    actor: sessionActor(started.session, client),
    objectId: userId,
    details: { method: 'signup' },
  });
  return started;
}

async function acceptInvitation(ctx: AccountContext, body: z.infer<typeof SignUp>, newcomer: Actor): Promise<string> {
  const invalid = new TollgateError('invalid_value', 'This invitation link is invalid, was withdrawn, or has expired.', 'invite_token');
  const invite = await findPendingInvite(ctx.deps, body.invite_token ?? '');
  if (!invite || invite.orgId !== ctx.orgId) throw invalid;
  if (invite.email !== body.email) {
    throw new TollgateError('invalid_value', `This invitation was sent to a different email address.`, 'email');
  }
  const passwordHash = await hashPassword(body.password);
  if (!(await claimInvite(ctx.deps, invite.id))) throw invalid;
  let userId: string;
  try {
    userId = await establishUser(ctx, { email: body.email, name: body.name, role: invite.role }, passwordHash, newcomer);
  } catch (err) {
    await releaseInvite(ctx.deps, invite.id);
    throw err;
  }
  const member = { ...newcomer, id: userId };
  for (const p of invite.projects) {
    // A project archived since the invite, or an existing membership, is skipped rather than failing the sign-up.
    await addProjectUser(ctx.deps, ctx.orgId, p.id, { user_id: userId, role: p.role }, member).catch((err: unknown) => {
      if (!(err instanceof TollgateError)) throw err;
    });
  }
  await writeAudit(ctx.deps.database.db, ctx.deps, {
    orgId: ctx.orgId,
    type: 'invite.accepted',
    actor: member,
    objectId: invite.id,
    details: { data: { email: invite.email, user_id: userId, role: invite.role } },
  });
  return userId;
}
