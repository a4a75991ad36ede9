import type { FastifyInstance } from 'fastify';
import { TollgateError } from '../../core/errors.js';
import type { AccountContext } from '../../services/accounts.js';
import { ChangePasswordBody, changePassword } from '../../services/sign-in.js';
import { parseInput } from '../../services/validation.js';
import { checkCsrf, clientOf, currentSession } from './session-resolver.js';
import { replyWithSession, withRetryAfter } from './session-reply.js';
import { SIGN_IN_BODY_LIMIT } from '../shared/body-limits.js';

/** POST /auth/password {current_password, new_password} — other sessions end; this browser gets a fresh one. */
export function registerPassword(app: FastifyInstance, ctx: AccountContext): void {
  app.post('/auth/password', { bodyLimit: SIGN_IN_BODY_LIMIT }, async (request, reply) => {
    const session = await currentSession(ctx, request);
    if (!session) throw new TollgateError('invalid_session');
    checkCsrf(ctx, request, session);
    const body = parseInput(ChangePasswordBody, request.body);
    const started = await changePassword(ctx, session, body, clientOf(request)).catch((err) => withRetryAfter(reply, err));
    return replyWithSession(ctx, request, reply, started);
  });
}
