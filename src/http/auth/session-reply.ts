import type { FastifyReply, FastifyRequest } from 'fastify';
import { type AccountContext, type AccountObject, describeAccount } from '../../services/accounts.js';
import type { StartedSession } from '../../services/sign-in.js';
import { TooManyAttemptsError } from '../../services/sign-in.js';
import { setSessionCookie } from './cookies.js';

/** Answers a request that started a session: the cookie, and the account as `GET /auth/me` shows it. */
export async function replyWithSession(
  ctx: AccountContext,
  request: FastifyRequest,
  reply: FastifyReply,
  started: StartedSession,
): Promise<AccountObject> {
  setSessionCookie(request, reply, started.token);
  return describeAccount(ctx, started.session);
}

/** Adds Retry-After (RFC 9110 §10.2.3) to a throttled refusal before it propagates to the error handler. */
export function withRetryAfter(reply: FastifyReply, err: unknown): never {
  if (err instanceof TooManyAttemptsError) reply.header('retry-after', String(err.retryAfterSeconds));
  throw err;
}
