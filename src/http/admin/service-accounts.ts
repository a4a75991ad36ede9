import type { FastifyInstance } from 'fastify';
import {
  createServiceAccount,
  deleteServiceAccount,
  getServiceAccount,
  listServiceAccounts,
} from '../../services/service-accounts.js';
import type { AppContext } from '../context.js';
import { actorOf } from './admin-auth.js';

type P = { Params: { project_id: string; service_account_id: string }; Querystring: Record<string, unknown> };

/** /v1/organization/projects/{project_id}/service_accounts — OpenAI's shape. */
export function registerServiceAccountRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { deps, orgId } = ctx;
  const base = '/projects/:project_id/service_accounts';
  app.get<P>(base, (req) => listServiceAccounts(deps, orgId, req.params.project_id, req.query));
  app.post<P>(base, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    return createServiceAccount(deps, orgId, req.params.project_id, req.body, actorOf(req));
  });
  app.get<P>(`${base}/:service_account_id`, (req) => getServiceAccount(deps, orgId, req.params.project_id, req.params.service_account_id));
  app.delete<P>(`${base}/:service_account_id`, (req) =>
    deleteServiceAccount(deps, orgId, req.params.project_id, req.params.service_account_id, actorOf(req)),
  );
}
