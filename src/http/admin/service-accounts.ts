import type { FastifyInstance } from 'fastify';
import { parseQuery } from '../../services/query-params.js';
import {
  CreateServiceAccountBody,
  CreateServiceAccountKeyBody,
  createServiceAccount,
  createServiceAccountKey,
  deleteServiceAccount,
  getServiceAccount,
  ListServiceAccountsQuery,
  listServiceAccounts,
  UpdateServiceAccountBody,
  updateServiceAccount,
} from '../../services/service-accounts.js';
import { parseInput } from '../../services/validation.js';
import type { AppContext } from '../context.js';
import { actorOf } from './admin-auth.js';
import { refuseQuery, refuseQueryAndBody } from './strict-input.js';

type P = { Params: { project_id: string; service_account_id: string }; Querystring: Record<string, unknown> };

/** /v1/organization/projects/{project_id}/service_accounts — OpenAI's Project service accounts API. */
export function registerServiceAccountRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { deps, orgId } = ctx;
  const base = '/projects/:project_id/service_accounts';
  const one = `${base}/:service_account_id`;
  const noQuery = { preValidation: refuseQuery };
  app.get<P>(base, (req) => listServiceAccounts(deps, orgId, req.params.project_id, parseQuery(ListServiceAccountsQuery, req.query)));
  app.post<P>(base, noQuery, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    return createServiceAccount(deps, orgId, req.params.project_id, parseInput(CreateServiceAccountBody, req.body), actorOf(req));
  });
  app.get<P>(one, noQuery, (req) => getServiceAccount(deps, orgId, req.params.project_id, req.params.service_account_id));
  app.post<P>(one, noQuery, (req) => updateServiceAccount(deps, orgId, req.params.project_id, req.params.service_account_id, parseInput(UpdateServiceAccountBody, req.body), actorOf(req)));
  app.delete<P>(one, { preValidation: refuseQueryAndBody }, (req) =>
    deleteServiceAccount(deps, orgId, req.params.project_id, req.params.service_account_id, actorOf(req)),
  );
  app.post<P>(`${one}/api_keys`, noQuery, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    return createServiceAccountKey(deps, orgId, req.params.project_id, req.params.service_account_id, parseInput(CreateServiceAccountKeyBody, req.body), actorOf(req));
  });
}
