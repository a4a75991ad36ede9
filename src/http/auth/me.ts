import type { FastifyInstance } from 'fastify';
import { TollgateError } from '../../core/errors.js';
import { type AccountContext, describeAccount } from '../../services/accounts.js';
import { currentSession } from './session-resolver.js';

/** GET /auth/me — the signed-in user, organization, role, project memberships and CSRF token; 401 when signed out. */
export function registerMe(app: FastifyInstance, ctx: AccountContext): void {
  app.get('/auth/me', async (request) => {
    const session = await currentSession(ctx, request);
    if (!session) throw new TollgateError('invalid_session');
    return describeAccount(ctx, session);
  });
}
