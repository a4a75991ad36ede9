import type { FastifyInstance } from 'fastify';
import { CreateInviteBody, createInvite, deleteInvite, getInvite, ListInvitesQuery, listInvites } from '../../services/invites.js';
import { parseQuery } from '../../services/query-params.js';
import { parseInput } from '../../services/validation.js';
import { actorOf } from '../admin/admin-auth.js';
import type { AppContext } from '../context.js';
import { refuseQuery, refuseQueryAndBody, refuseReadBody } from '../admin/strict-input.js';

type P = { Params: { invite_id: string }; Querystring: Record<string, unknown> };

/**
 * /v1/organization/invites — OpenAI's Invites API, behind the authentication `authenticate` installs on the scope: the
 * server's (admin keys and owners' dashboard sessions: owner-auth.ts), or the local CLI's own (cli/backend.ts).
 */
export function registerInviteRoutes(app: FastifyInstance, appCtx: AppContext, authenticate: (scope: FastifyInstance) => void): void {
  const { deps, orgId } = appCtx;
  authenticate(app);
  app.addHook('onRequest', refuseReadBody);
  app.get<P>('/v1/organization/invites', (req) => listInvites(deps, orgId, parseQuery(ListInvitesQuery, req.query)));
  // Every answer here is no-store (installOwnerAuth; installAdminAuth in the local CLI): the accept_url of a new invite
  // holds the only copy of its token.
  app.post<P>('/v1/organization/invites', { preValidation: refuseQuery }, (req) =>
    createInvite(deps, orgId, parseInput(CreateInviteBody, req.body), actorOf(req), `${req.protocol}://${req.host}`),
  );
  app.get<P>('/v1/organization/invites/:invite_id', { preValidation: refuseQuery }, (req) => getInvite(deps, orgId, req.params.invite_id));
  app.delete<P>('/v1/organization/invites/:invite_id', { preValidation: refuseQueryAndBody }, (req) => deleteInvite(deps, orgId, req.params.invite_id, actorOf(req)));
}
