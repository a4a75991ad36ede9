import type { FastifyInstance } from 'fastify';
import type { AccountContext } from '../../services/accounts.js';
import { hashSessionToken } from '../../services/sessions.js';
import { signUp } from '../../services/sign-up.js';
import { readSessionToken } from './cookies.js';
import { clientOf } from './session-resolver.js';
import { replyWithSession, withRetryAfter } from './session-reply.js';
import { SIGN_IN_BODY_LIMIT } from '../shared/body-limits.js';

/**
 * POST /auth/signup {email, password, name?, setup_token?, invite_token?} — the first account becomes the owner and
 * needs the setup token; later ones need an invitation. 429 with Retry-After after repeated refusals from an address.
 */
export function registerSignup(app: FastifyInstance, ctx: AccountContext): void {
  app.post('/auth/signup', { bodyLimit: SIGN_IN_BODY_LIMIT }, async (request, reply) => {
    const previous = readSessionToken(request);
    const started = await signUp(ctx, request.body, clientOf(request), previous ? hashSessionToken(previous) : null).catch((err) =>
      withRetryAfter(reply, err),
    );
    return replyWithSession(ctx, request, reply, started);
  });
}
