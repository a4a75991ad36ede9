import type { FastifyInstance } from 'fastify';
import { TollgateError } from '../../core/errors.js';
import { type AccountContext, sessionActor } from '../../services/accounts.js';
import type { AppContext } from '../context.js';
import { verifyPresentedKey } from '../shared/authenticate.js';
import { checkCsrf, clientOf, currentSession } from './session-resolver.js';

/**
 * Authenticates a scope the way the admin API is, but owners only: an admin key, or the session of an
 * organization owner (with its CSRF token on writes). Used by routes the dashboard adds under /v1/organization.
 */
export function installOwnerAuth(app: FastifyInstance, appCtx: AppContext, ctx: AccountContext): void {
  app.addHook('onRequest', async (request) => {
    if (!request.headers.authorization && !request.headers['api-key']) {
      const session = await currentSession(ctx, request);
      if (session) {
        checkCsrf(ctx, request, session);
        if (session.role !== 'owner') throw new TollgateError('insufficient_permissions', 'Only organization owners can manage invitations.');
        request.actor = sessionActor(session, clientOf(request));
        return;
      }
    }
    const record = await verifyPresentedKey(appCtx, request);
    if (record.kind !== 'admin') throw new TollgateError('admin_key_required');
    request.actor = {
      type: 'api_key',
      id: record.id,
      keyType: 'admin',
      ip: request.ip,
      userAgent: (request.headers['user-agent'] as string | undefined) ?? null,
    };
  });
}
