import type { FastifyInstance } from 'fastify';
import {
  createRateLimit,
  deleteRateLimit,
  getOrgSpendLimit,
  getSpendAlerts,
  getSpendLimit,
  listRateLimits,
  modifyRateLimit,
  setOrgSpendLimit,
  setSpendAlerts,
  setSpendLimit,
} from '../../services/limits.js';
import type { AppContext } from '../context.js';
import { actorOf } from './admin-auth.js';

type P = { Params: { project_id: string; rate_limit_id: string } };

/** Project rate limits (OpenAI's shapes, plus create/delete), spend limit and spend alerts. */
export function registerLimitRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { deps, orgId } = ctx;
  const base = '/projects/:project_id';
  app.get<P>(`${base}/rate_limits`, (req) => listRateLimits(deps, orgId, req.params.project_id));
  app.post<P>(`${base}/rate_limits`, (req) => createRateLimit(deps, orgId, req.params.project_id, req.body, actorOf(req)));
  app.post<P>(`${base}/rate_limits/:rate_limit_id`, (req) =>
    modifyRateLimit(deps, orgId, req.params.project_id, req.params.rate_limit_id, req.body, actorOf(req)),
  );
  app.delete<P>(`${base}/rate_limits/:rate_limit_id`, (req) => deleteRateLimit(deps, orgId, req.params.project_id, req.params.rate_limit_id, actorOf(req)));
  app.get<P>(`${base}/spend_limit`, (req) => getSpendLimit(deps, orgId, req.params.project_id));
  app.post<P>(`${base}/spend_limit`, (req) => setSpendLimit(deps, orgId, req.params.project_id, req.body, actorOf(req)));
  app.get('/spend_limit', () => getOrgSpendLimit(deps, orgId));
  app.post('/spend_limit', (req) => setOrgSpendLimit(deps, orgId, req.body, actorOf(req)));
  app.get<P>(`${base}/spend_alerts`, (req) => getSpendAlerts(deps, orgId, req.params.project_id));
  app.post<P>(`${base}/spend_alerts`, (req) => setSpendAlerts(deps, orgId, req.params.project_id, req.body, actorOf(req)));
}
