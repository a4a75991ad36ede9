import type { FastifyInstance } from 'fastify';
import type { AccountContext } from '../../services/accounts.js';
import { hashSessionToken } from '../../services/sessions.js';
import { signUp } from '../../services/sign-up.js';
import { readSessionToken } from './cookies.js';
import { clientOf } from './session-resolver.js';
import { replyWithSession } from './session-reply.js';

/** POST /auth/signup {email, password, name?, invite_token?} — first account becomes owner; later ones need an invite. */
export function registerSignup(app: FastifyInstance, ctx: AccountContext): void {
  app.post('/auth/signup', async (request, reply) => {
    const previous = readSessionToken(request);
    const started = await signUp(ctx, request.body, clientOf(request), previous ? hashSessionToken(previous) : null);
    return replyWithSession(ctx, request, reply, started);
  });
}
