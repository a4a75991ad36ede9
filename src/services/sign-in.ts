import { z } from 'zod';
import { TollgateError } from '../core/errors.js';
import type { AccountContext, Client } from './accounts.js';
import { sessionActor } from './accounts.js';
import { writeAudit } from './audit.js';
import type { Executor } from './context.js';
import { nowSeconds } from './context.js';
import { EmailSchema, MAX_EMAIL_LENGTH, text } from './text-fields.js';
import { checkNewPassword, NewPasswordSchema, PresentedPasswordSchema } from './passwords.js';
import type { Attempt } from './login-throttle.js';
import { auditableEmail, recordLocks } from './refusals.js';
import { createSession, deleteSession, deleteUserSessions, purgeExpiredSessions, SESSION_IDLE_SECONDS, type SessionUser } from './sessions.js';

/** The body of POST /auth/login. */
export const LogInBody = z.strictObject({ email: text({ max: MAX_EMAIL_LENGTH, trim: true }).toLowerCase(), password: PresentedPasswordSchema });
export type LogInBody = z.output<typeof LogInBody>;
/** The body of POST /auth/password. */
export const ChangePasswordBody = z.strictObject({ current_password: PresentedPasswordSchema, new_password: NewPasswordSchema });
export type ChangePasswordBody = z.output<typeof ChangePasswordBody>;

/** A refused attempt while the address, or the account from it, is locked out; the HTTP layer adds Retry-After. */
export class TooManyAttemptsError extends TollgateError {
  constructor(
    readonly retryAfterSeconds: number,
    reason = 'Too many failed sign-in attempts.',
  ) {
    super('too_many_attempts', `${reason} Try again in ${retryAfterSeconds} seconds.`);
  }
}

/**
 * Begins a guess at the account's password (throttle.begin): refused 429 while locked, or while the guesses already
 * being checked would lock it should they fail. The caller ends the attempt in a `finally` (attempt.release()).
 */
function beginAttempt(ctx: AccountContext, email: string, ip: string): Attempt {
  const begun = ctx.throttle.begin(email, ip);
  if ('retryAfterMs' in begun) throw new TooManyAttemptsError(Math.max(1, Math.ceil(begun.retryAfterMs / 1000)));
  return begun;
}

export interface StartedSession {
  token: string;
  session: SessionUser;
}

/** Opens a session for a user in the caller's transaction, as the resolver will read it once committed. */
export async function openSession(trx: Executor, ctx: AccountContext, userId: string, client: Client): Promise<StartedSession> {
  const { token, tokenHash, expiresAt } = await createSession(ctx.deps, userId, client, trx);
  const user = await trx.selectFrom('users').select(['email', 'name', 'role']).where('id', '=', userId).where('deleted_at', 'is', null).executeTakeFirst();
  if (!user) throw new TollgateError('internal_error');
  const now = nowSeconds(ctx.deps);
  const session: SessionUser = { tokenHash, userId, email: user.email, name: user.name, role: user.role, lastSeenAt: now, expiresAt: Math.min(expiresAt, now + SESSION_IDLE_SECONDS) };
  return { token, session };
}

/**
 * Signs a user in inside the caller's transaction: the caller's old session ended (no fixation), a new one opened, and
 * its login.succeeded entry, which commit together or not at all.
 */
export async function startSignedIn(
  trx: Executor,
  ctx: AccountContext,
  userId: string,
  client: Client,
  previousTokenHash: string | null,
  details?: Record<string, unknown>,
): Promise<StartedSession> {
  if (previousTokenHash) await deleteSession(ctx.deps, previousTokenHash, trx);
  const started = await openSession(trx, ctx, userId, client);
  await writeAudit(trx, ctx.deps, { orgId: ctx.orgId, type: 'login.succeeded', actor: sessionActor(started.session, client), objectId: userId, details });
  return started;
}

/**
 * Signs in with email and password. Always a new session (the caller's old one, if any, is ended: no fixation).
 * Failures are audited with the email tried (never the password) and counted by the throttle.
 */
export function logIn(ctx: AccountContext, body: LogInBody, client: Client, previousTokenHash: string | null): Promise<StartedSession> {
  return ctx.throttle.inTurn(client.ip, () => logInInTurn(ctx, body, client, previousTokenHash));
}

async function logInInTurn(ctx: AccountContext, body: LogInBody, client: Client, previousTokenHash: string | null): Promise<StartedSession> {
  const attempt = beginAttempt(ctx, body.email, client.ip);
  try {
    const db = ctx.deps.database.db;
    const user = EmailSchema.safeParse(body.email).success
      ? await db.selectFrom('users').select(['id', 'password_hash']).where('email', '=', body.email).where('deleted_at', 'is', null).executeTakeFirst()
      : undefined;
    const ok = await ctx.deps.passwords.verify(user?.password_hash ?? null, body.password);
    if (!ok || !user) return await refuseLogIn(ctx, body, client, user?.id ?? null, attempt);
    await purgeExpiredSessions(ctx.deps);
    const started = await db.transaction().execute(async (trx) => {
      // The password changed since it was checked: a wrong password now, and no session (the change ended them all).
      if (!(await lockUnchangedPassword(trx, ctx, user.id, user.password_hash))) return null;
      return startSignedIn(trx, ctx, user.id, client, previousTokenHash);
    });
    if (!started) return await refuseLogIn(ctx, body, client, user.id, attempt);
    attempt.succeeded();
    return started;
  } finally {
    attempt.release(); // a thrown error: uncounted, and its place is free
  }
}

/** A refused sign-in: audited with the email tried when it is one (never the password), counted by the throttle, answered 401. */
async function refuseLogIn(ctx: AccountContext, body: LogInBody, client: Client, userId: string | null, attempt: Attempt): Promise<never> {
  const locks = attempt.failed();
  // Recorded only when it is an email address: a password typed into the email field is not.
  const email = auditableEmail(body.email);
  await writeAudit(ctx.deps.database.db, ctx.deps, {
    orgId: ctx.orgId,
    type: 'login.failed',
    actor: sessionActor({ userId: null, email }, client),
    objectId: userId,
    details: { email, error_code: 'invalid_credentials', error_message: 'Incorrect email or password.' },
  });
  await recordLocks(ctx, client, email, 'login', locks, userId);
  throw new TollgateError('invalid_credentials');
}

/**
 * Whether the user's password is still the one just checked (and the user not removed), read in the transaction
 * that acts on the check with the user's row held until it commits: a password change writes that row before it ends
 * every session, so a sign-in or a change that checked the old password either commits first (and its session is
 * ended by the change) or sees the new hash here. Checked only before, a sign-in with the old password that was slower
 * than the change kept a 7-day session (an outside review). SQLite runs one transaction at a time.
 */
async function lockUnchangedPassword(trx: Executor, ctx: AccountContext, userId: string, checkedHash: string | null, forChange = false): Promise<boolean> {
  const q = trx.selectFrom('users').select('password_hash').where('id', '=', userId).where('deleted_at', 'is', null);
  const pg = ctx.deps.database.dialect === 'postgres';
  const row = await (pg ? (forChange ? q.forUpdate() : q.forShare()) : q).executeTakeFirst();
  return !!row && checkedHash !== null && row.password_hash === checkedHash;
}

/** Ends a session and audits it, together; a session already ended (signed out twice at once) writes no entry. */
export async function logOut(ctx: AccountContext, session: SessionUser, client: Client): Promise<void> {
  await ctx.deps.database.db.transaction().execute(async (trx) => {
    if (!(await deleteSession(ctx.deps, session.tokenHash, trx))) return;
    await writeAudit(trx, ctx.deps, { orgId: ctx.orgId, type: 'logout.succeeded', actor: sessionActor(session, client), objectId: session.userId });
  });
}

/**
 * Changes the signed-in user's password after checking the current one. Every session of the user ends
 * (a stolen session must not outlive the change) and a fresh one is returned for this browser.
 */
export async function changePassword(ctx: AccountContext, session: SessionUser, body: ChangePasswordBody, client: Client): Promise<StartedSession> {
  // Not in turn by address as a sign-in is (a sign-in held from the same address would hold the owner's change): a
  // burst of guesses at the current password is held back by the places its attempts take in the counts.
  const attempt = beginAttempt(ctx, session.email, client.ip);
  try {
    return await changePasswordBegun(ctx, session, body, client, attempt);
  } finally {
    attempt.release();
  }
}

async function changePasswordBegun(ctx: AccountContext, session: SessionUser, body: ChangePasswordBody, client: Client, attempt: Attempt): Promise<StartedSession> {
  await checkNewPassword(body.new_password, session.email, 'new_password');
  const db = ctx.deps.database.db;
  const row = await db.selectFrom('users').select('password_hash').where('id', '=', session.userId).executeTakeFirst();
  const wrongPassword = async (): Promise<never> => {
    const locks = attempt.failed();
    await recordLocks(ctx, client, session.email, 'password_change', locks, session.userId);
    throw new TollgateError('invalid_value', 'The current password is incorrect.', 'current_password');
  };
  if (!(await ctx.deps.passwords.verify(row?.password_hash ?? null, body.current_password))) return wrongPassword();
  const passwordHash = await ctx.deps.passwords.hash(body.new_password);
  // The new password, its entry, the end of every session and this browser's new one: all or nothing.
  const started = await db.transaction().execute(async (trx) => {
    // Changed by another request since the check (the same account signed in elsewhere): the current password given is
    // no longer the current one.
    if (!(await lockUnchangedPassword(trx, ctx, session.userId, row?.password_hash ?? null, true))) return null;
    await trx.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', session.userId).execute();
    await writeAudit(trx, ctx.deps, {
      orgId: ctx.orgId,
      type: 'user.password_changed',
      actor: sessionActor(session, client),
      objectId: session.userId,
      details: { changed_at: nowSeconds(ctx.deps) },
    });
    await deleteUserSessions(ctx.deps, session.userId, trx);
    return openSession(trx, ctx, session.userId, client);
  });
  return started ?? wrongPassword();
}
