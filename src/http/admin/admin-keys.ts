import type { FastifyInstance } from 'fastify';
import {
  CreateAdminKeyBody,
  createAdminKey,
  deleteAdminKey,
  ListAdminKeysQuery,
  listAdminKeys,
  RetrieveAdminKeyQuery,
  retrieveAdminKey,
} from '../../services/admin-keys.js';
import { parseQuery } from '../../services/query-params.js';
import { parseInput } from '../../services/validation.js';
import type { AppContext } from '../context.js';
import { actorOf } from './admin-auth.js';
import { refuseQuery, refuseQueryAndBody } from './strict-input.js';

type P = { Params: { key_id: string }; Querystring: Record<string, unknown> };

/** /v1/organization/admin_api_keys — OpenAI's Admin API keys API. */
export function registerAdminKeyRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { deps, orgId } = ctx;
  app.get<P>('/admin_api_keys', (req) => listAdminKeys(deps, orgId, parseQuery(ListAdminKeysQuery, req.query)));
  app.post<P>('/admin_api_keys', { preValidation: refuseQuery }, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    return createAdminKey(deps, orgId, parseInput(CreateAdminKeyBody, req.body), actorOf(req));
  });
  app.get<P>('/admin_api_keys/:key_id', (req) => retrieveAdminKey(deps, orgId, req.params.key_id, parseQuery(RetrieveAdminKeyQuery, req.query)));
  app.delete<P>('/admin_api_keys/:key_id', { preValidation: refuseQueryAndBody }, (req) => deleteAdminKey(deps, orgId, req.params.key_id, actorOf(req)));
}
