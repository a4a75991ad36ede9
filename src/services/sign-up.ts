import { z } from 'zod';
import { TollgateError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { AccountContext, Client } from './accounts.js';
import { sessionActor } from './accounts.js';
import { writeAudit } from './audit.js';
import type { Actor, Executor, ServiceDeps } from './context.js';
import { claimInvite, findPendingInvite } from './invites.js';
import { checkNewPassword, NewPasswordSchema } from './passwords.js';
import { EmailSchema, NameSchema, text } from './text-fields.js';
import { emailField, recordLocks, recordSignupRefusal } from './refusals.js';
import {
  claimOwnerSlot,
  isOwnerSignupOpen,
  isSetupTokenValid,
  type SetupTokenFile,
  voidSetupToken,
} from './setup-token.js';
import { type StartedSession, startSignedIn, TooManyAttemptsError } from './sign-in.js';
import type { OrgRole } from '../core/roles.js';
import { insertMember, insertUser, lockLiveUserWithEmail } from './users.js';
import { parseInput } from './validation.js';

const SignUp = z.strictObject({
  email: EmailSchema,
  password: NewPasswordSchema,
  name: NameSchema.optional(),
  invite_token: text({ max: 256 }).optional(),
  setup_token: text({ max: 256 }).optional(),
});

/** The owner account `tollgate users create-owner` makes. */
export const CreateOwnerBody = z.strictObject({ email: EmailSchema, password: NewPasswordSchema, name: NameSchema.optional() });
export type CreateOwnerBody = z.output<typeof CreateOwnerBody>;

// Every refused sign-up counts against the caller's address, in the count it shares with failed sign-ins (20 lock the
// address), so that a stranger cannot write refusals' audit entries and log lines without end: while the address is
// locked it is answered 429 before anything is read or written. Wrong setup or invitation tokens, guesses at a secret,
// count in the sign-up's own count for the address as well: 5 of them lock its sign-ups.
const SIGNUP_ATTEMPTS = '\u0000signup';

/** The secret a refusal shows to have been guessed wrong (counted more strictly), or null for any other refusal. */
function wrongGuessOf(err: TollgateError): 'setup_token' | 'invite_token' | null {
  if (err.code === 'invalid_setup_token') return 'setup_token';
  if (err.code === 'invalid_value' && err.param === 'invite_token') return 'invite_token';
  return null;
}

/**
 * Creates the user, or gives a password to one an owner added through the admin API (users have none until then), in
 * the caller's transaction with its entry. `actorOf` names who acted given the user's id: someone signing up is the
 * user they become, so the entry names them (its actor had no user id, the organization's first user.added included).
 * A user removed from the organization is not found: someone invited again after their removal is a new user.
 */
async function establishUser(
  trx: Executor,
  deps: ServiceDeps,
  orgId: string,
  fields: { email: string; name?: string; role: OrgRole },
  passwordHash: string,
  actorOf: (userId: string) => Actor,
): Promise<string> {
  const existing = await trx
    .selectFrom('users')
    .select(['id', 'password_hash', 'role'])
    .where('email', '=', fields.email)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!existing) {
    const id = newId('user-', deps.randomBytes);
    return insertUser(trx, deps, orgId, { email: fields.email, name: fields.name, role: fields.role }, actorOf(id), passwordHash, id);
  }
  const actor = actorOf(existing.id);
  if (existing.password_hash) throw new TollgateError('conflict', 'An account with this email already exists; sign in instead.', 'email');
  // Only the user whose password is still unset: two sign-ups at once set it once.
  const res = await trx
    .updateTable('users')
    .set({ password_hash: passwordHash, role: fields.role, ...(fields.name ? { name: fields.name } : {}) })
    .where('id', '=', existing.id)
    .where('password_hash', 'is', null)
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) === 0) throw new TollgateError('conflict', 'An account with this email already exists; sign in instead.', 'email');
  if (existing.role !== fields.role) {
    await writeAudit(trx, deps, { orgId, type: 'user.updated', actor, objectId: existing.id, details: { changes_requested: { role: fields.role } } });
  }
  return existing.id;
}

/**
 * Creates an account and signs it in. While the organization has no account, the first one becomes its owner and
 * must present the setup token; after that an invitation token is required, and the account gets the invite's role
 * and projects. Every refusal is audited and logged (refusals.ts) and counts against the caller's address.
 */
export function signUp(ctx: AccountContext, input: unknown, client: Client, previousTokenHash: string | null): Promise<StartedSession> {
  return ctx.throttle.inTurn(client.ip, () => signUpInTurn(ctx, input, client, previousTokenHash));
}

async function signUpInTurn(ctx: AccountContext, input: unknown, client: Client, previousTokenHash: string | null): Promise<StartedSession> {
  const wait = ctx.throttle.retryAfterMs(SIGNUP_ATTEMPTS, client.ip);
  if (wait > 0) throw new TooManyAttemptsError(Math.ceil(wait / 1000), 'Too many refused sign-ups from your address.');
  let started: StartedSession;
  // A body the schema refuses (a token with a control character in it, say) is a mistake in the input, not a guess.
  let parsed = false;
  try {
    const body = parseInput(SignUp, input);
    parsed = true;
    started = await createAccount(ctx, body, client, previousTokenHash);
  } catch (err) {
    if (err instanceof TollgateError) {
      const email = emailField(input);
      await recordSignupRefusal(ctx, client, email, err);
      const guessed = parsed ? wrongGuessOf(err) : null;
      const locks = ctx.throttle.recordFailure(guessed ? SIGNUP_ATTEMPTS : null, client.ip, { perAccount: false });
      await recordLocks(ctx, client, email, guessed ?? 'signup', locks);
    }
    throw err;
  }
  // Any account closes the first-account slot: the token is void from now on.
  await voidSetupToken(ctx.deps, ctx.setupTokenFile);
  return started;
}

/**
 * The account and its session, in one transaction with their entries (user.added or user.updated, the memberships and
 * invite.accepted of an invitation, login.succeeded): a sign-up is all of them or none.
 */
async function createAccount(ctx: AccountContext, body: z.output<typeof SignUp>, client: Client, previousTokenHash: string | null): Promise<StartedSession> {
  const newcomer = (userId: string) => sessionActor({ userId, email: body.email }, client);
  const signIn = (trx: Executor, userId: string) => startSignedIn(trx, ctx, userId, client, previousTokenHash, { method: 'signup' });
  if (body.invite_token !== undefined) {
    if (body.setup_token !== undefined) {
      throw new TollgateError('invalid_value', 'The setup token is for the first (owner) account; a sign-up with an invitation takes none.', 'setup_token');
    }
    return acceptInvitation(ctx, body, newcomer, signIn);
  }
  const closed = new TollgateError('insufficient_permissions', 'Sign-up needs an invitation. Ask an organization owner to invite you.');
  if (!(await isOwnerSignupOpen(ctx.deps))) throw closed;
  if (body.setup_token === undefined) throw new TollgateError('setup_token_required', undefined, 'setup_token');
  if (!(await isSetupTokenValid(ctx.deps, body.setup_token))) throw new TollgateError('invalid_setup_token', undefined, 'setup_token');
  await checkNewPassword(body.password, body.email, 'password');
  const passwordHash = await ctx.deps.passwords.hash(body.password);
  // The claim commits with the account or not at all: a crash in between leaves nothing to release.
  return ctx.deps.database.db.transaction().execute(async (trx) => {
    if (!(await claimOwnerSlot(trx, body.email))) throw closed;
    return signIn(trx, await establishUser(trx, ctx.deps, ctx.orgId, { email: body.email, name: body.name, role: 'owner' }, passwordHash, newcomer));
  });
}

/** Why create-owner is refused once any account exists. */
export const OWNER_EXISTS =
  'This organization already has an account (an owner signed up, or an invitation was accepted). Sign in, or ask an owner to invite you.';

/**
 * Creates the owner account from the machine itself (`tollgate users create-owner`): no setup token, since whoever
 * can open the data dir (or the database) already holds the instance. Refused once any account exists; voids the token.
 */
export async function createOwner(
  deps: ServiceDeps,
  orgId: string,
  setupTokenFile: SetupTokenFile | null,
  body: CreateOwnerBody,
  actor: Actor,
): Promise<{ id: string; email: string }> {
  const taken = new TollgateError('conflict', OWNER_EXISTS);
  if (!(await isOwnerSignupOpen(deps))) throw taken;
  await checkNewPassword(body.password, body.email, 'password');
  const passwordHash = await deps.passwords.hash(body.password);
  const id = await deps.database.db.transaction().execute(async (trx) => {
    if (!(await claimOwnerSlot(trx, body.email))) throw taken;
    return establishUser(trx, deps, orgId, { email: body.email, name: body.name, role: 'owner' }, passwordHash, () => actor);
  });
  await voidSetupToken(deps, setupTokenFile);
  return { id, email: body.email };
}

async function acceptInvitation(
  ctx: AccountContext,
  body: z.infer<typeof SignUp>,
  newcomer: (userId: string) => Actor,
  signIn: (trx: Executor, userId: string) => Promise<StartedSession>,
): Promise<StartedSession> {
  const invalid = new TollgateError('invalid_value', 'This invitation link is invalid, was withdrawn, or has expired.', 'invite_token');
  const invite = await findPendingInvite(ctx.deps, body.invite_token ?? '');
  if (!invite || invite.orgId !== ctx.orgId) throw invalid;
  if (invite.email !== body.email) {
    throw new TollgateError('invalid_value', `This invitation was sent to a different email address.`, 'email');
  }
  await checkNewPassword(body.password, body.email, 'password');
  const passwordHash = await ctx.deps.passwords.hash(body.password);
  // The invite used, the account, its memberships and session, and their entries commit together: a failure leaves
  // the link usable (nothing to release) and no entry of what did not happen.
  return ctx.deps.database.db.transaction().execute(async (trx) => {
    await lockLiveUserWithEmail(trx, ctx.deps, body.email);
    if (!(await claimInvite(ctx.deps, invite.id, trx))) throw invalid;
    const userId = await establishUser(trx, ctx.deps, ctx.orgId, { email: body.email, name: body.name, role: invite.role }, passwordHash, newcomer);
    const member = newcomer(userId);
    for (const p of invite.projects) {
      // A project archived since the invite, or an existing membership, is skipped rather than failing the sign-up.
      await insertMember(trx, ctx.deps, ctx.orgId, p.id, userId, p.role, member).catch((err: unknown) => {
        if (!(err instanceof TollgateError)) throw err;
      });
    }
    await writeAudit(trx, ctx.deps, {
      orgId: ctx.orgId,
      type: 'invite.accepted',
      actor: member,
      objectId: invite.id,
      details: { data: { email: invite.email, user_id: userId, role: invite.role } },
    });
    return signIn(trx, userId);
  });
}
