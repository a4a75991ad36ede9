import type { FastifyInstance } from 'fastify';
import type { AccountContext } from '../../services/accounts.js';
import { hashSessionToken } from '../../services/sessions.js';
import { LogInBody, logIn } from '../../services/sign-in.js';
import { parseInput } from '../../services/validation.js';
import { readSessionToken } from './cookies.js';
import { clientOf } from './session-resolver.js';
import { replyWithSession, withRetryAfter } from './session-reply.js';
import { SIGN_IN_BODY_LIMIT } from '../shared/body-limits.js';

/** POST /auth/login {email, password} — a new session (and cookie) on success; 401, or 429 when throttled. */
export function registerLogin(app: FastifyInstance, ctx: AccountContext): void {
  app.post('/auth/login', { bodyLimit: SIGN_IN_BODY_LIMIT }, async (request, reply) => {
    const previous = readSessionToken(request);
    const body = parseInput(LogInBody, request.body);
    const started = await logIn(ctx, body, clientOf(request), previous ? hashSessionToken(previous) : null).catch((err) =>
      withRetryAfter(reply, err),
    );
    return replyWithSession(ctx, request, reply, started);
  });
}
