import type { FastifyInstance } from 'fastify';
import { TollgateError } from '../../core/errors.js';
import { type AccountContext, sessionActor } from '../../services/accounts.js';
import { authenticateAdminKey } from '../admin/admin-auth.js';
import type { AppContext } from '../context.js';
import { checkCsrf, clientOf, currentSession } from './session-resolver.js';

/**
 * Authenticates a scope the way the admin API is, but owners only: an admin key (authenticateAdminKey, which audits
 * its use), or the session of an organization owner (with its CSRF token on writes). Used by routes the dashboard
 * adds under /v1/organization, whose answers are the organization's own as the admin API's are: kept by no cache
 * (installAdminAuth's rule; this scope is outside that hook, and the invites' reads went out cacheable).
 */
export function installOwnerAuth(app: FastifyInstance, appCtx: AppContext, ctx: AccountContext): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    if (!request.headers.authorization && !request.headers['api-key']) {
      const session = await currentSession(ctx, request);
      if (session) {
        checkCsrf(ctx, request, session);
        if (session.role !== 'owner') throw new TollgateError('insufficient_permissions', 'Only organization owners can manage invitations.');
        request.actor = sessionActor(session, clientOf(request));
        return;
      }
    }
    request.actor = await authenticateAdminKey(appCtx, request);
  });
}
