import type { FastifyInstance } from 'fastify';
import type { AccountContext } from '../../services/accounts.js';
import { logOut } from '../../services/sign-in.js';
import { clearSessionCookie, readSessionToken } from './cookies.js';
import { checkCsrf, clientOf } from './session-resolver.js';
import { findSession } from '../../services/sessions.js';
import { SIGN_IN_BODY_LIMIT } from '../shared/body-limits.js';

/** POST /auth/logout — ends the session (CSRF-checked, so another site cannot sign you out) and clears the cookie. */
export function registerLogout(app: FastifyInstance, ctx: AccountContext): void {
  app.post('/auth/logout', { bodyLimit: SIGN_IN_BODY_LIMIT }, async (request, reply) => {
    const token = readSessionToken(request);
    const session = token ? await findSession(ctx.deps, token) : null;
    if (session) {
      checkCsrf(ctx, request, session);
      await logOut(ctx, session, clientOf(request));
    }
    clearSessionCookie(request, reply);
    return { object: 'dashboard.session.deleted', deleted: true };
  });
}
