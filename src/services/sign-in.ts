import { z } from 'zod';
import { TollgateError } from '../core/errors.js';
import type { AccountContext, Client } from './accounts.js';
import { sessionActor } from './accounts.js';
import { writeAudit } from './audit.js';
import type { Executor } from './context.js';
import { nowSeconds } from './context.js';
import { EmailSchema, MAX_EMAIL_LENGTH, text } from './text-fields.js';
import { checkNewPassword, NewPasswordSchema, PresentedPasswordSchema } from './passwords.js';
import { recordLocks } from './refusals.js';
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

function checkThrottle(ctx: AccountContext, email: string, ip: string): void {
  const waitMs = ctx.throttle.retryAfterMs(email, ip);
  if (waitMs > 0) throw new TooManyAttemptsError(Math.ceil(waitMs / 1000));
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
  checkThrottle(ctx, body.email, client.ip);
  const db = ctx.deps.database.db;
  const user = EmailSchema.safeParse(body.email).success
    ? await db.selectFrom('users').select(['id', 'password_hash']).where('email', '=', body.email).where('deleted_at', 'is', null).executeTakeFirst()
    : undefined;
  const ok = await ctx.deps.passwords.verify(user?.password_hash ?? null, body.password);
  if (!ok || !user) {
    const locks = ctx.throttle.recordFailure(body.email, client.ip);
    await writeAudit(db, ctx.deps, {
      orgId: ctx.orgId,
      type: 'login.failed',
      actor: sessionActor({ userId: null, email: body.email }, client),
      objectId: user?.id ?? null,
      details: { email: body.email, error_code: 'invalid_credentials', error_message: 'Incorrect email or password.' },
    });
    await recordLocks(ctx, client, body.email, 'login', locks, user?.id ?? null);
    throw new TollgateError('invalid_credentials');
  }
  ctx.throttle.recordSuccess(body.email, client.ip);
  await purgeExpiredSessions(ctx.deps);
  return db.transaction().execute((trx) => startSignedIn(trx, ctx, user.id, client, previousTokenHash));
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
  checkThrottle(ctx, session.email, client.ip);
  await checkNewPassword(body.new_password, session.email, 'new_password');
  const db = ctx.deps.database.db;
  const row = await db.selectFrom('users').select('password_hash').where('id', '=', session.userId).executeTakeFirst();
  if (!(await ctx.deps.passwords.verify(row?.password_hash ?? null, body.current_password))) {
    const locks = ctx.throttle.recordFailure(session.email, client.ip);
    await recordLocks(ctx, client, session.email, 'password_change', locks, session.userId);
    throw new TollgateError('invalid_value', 'The current password is incorrect.', 'current_password');
  }
  const passwordHash = await ctx.deps.passwords.hash(body.new_password);
  // The new password, its entry, the end of every session and this browser's new one: all or nothing.
  return db.transaction().execute(async (trx) => {
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
}
