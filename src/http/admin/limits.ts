import type { FastifyInstance } from 'fastify';
import { rateLimitModels } from '../../core/project-rate-limits.js';
import { parseQuery } from '../../services/query-params.js';
import {
  CreateRateLimitBody,
  createRateLimit,
  deleteRateLimit,
  ListRateLimitsQuery,
  listRateLimits,
  ModifyRateLimitBody,
  modifyRateLimit,
} from '../../services/rate-limits.js';
import {
  CreateSpendAlertBody,
  createSpendAlert,
  deleteSpendAlert,
  getSpendAlert,
  ListSpendAlertsQuery,
  listSpendAlerts,
  type SpendAlertScope,
  UpdateSpendAlertBody,
  updateSpendAlert,
} from '../../services/spend-alerts.js';
import {
  deleteOrgSpendLimit,
  deleteSpendLimit,
  getOrgSpendLimit,
  getSpendLimit,
  parseSpendLimitBody,
  setOrgSpendLimit,
  setSpendLimit,
} from '../../services/spend-limits.js';
import { parseInput } from '../../services/validation.js';
import type { AppContext } from '../context.js';
import { actorOf } from './admin-auth.js';
import { refuseQuery, refuseQueryAndBody } from './strict-input.js';

type P = { Params: { project_id: string; rate_limit_id: string; alert_id: string } };

const noQuery = { preValidation: refuseQuery };
const noInput = { preValidation: refuseQueryAndBody };

/** Project rate limits (OpenAI's list and update, plus create/delete), spend limits and spend alerts. */
export function registerLimitRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { deps, orgId } = ctx;
  // The models a project can use on this instance: the rate limit list has one object for each.
  const models = rateLimitModels(ctx.config.gateway);
  const base = '/projects/:project_id';

  app.get<P>(`${base}/rate_limits`, (req) => listRateLimits(deps, orgId, req.params.project_id, models, parseQuery(ListRateLimitsQuery, req.query)));
  app.post<P>(`${base}/rate_limits`, noQuery, (req) => createRateLimit(deps, orgId, req.params.project_id, parseInput(CreateRateLimitBody, req.body), actorOf(req)));
  app.post<P>(`${base}/rate_limits/:rate_limit_id`, noQuery, (req) =>
    modifyRateLimit(deps, orgId, req.params.project_id, req.params.rate_limit_id, models, parseInput(ModifyRateLimitBody, req.body), actorOf(req)),
  );
  app.delete<P>(`${base}/rate_limits/:rate_limit_id`, noInput, (req) =>
    deleteRateLimit(deps, orgId, req.params.project_id, req.params.rate_limit_id, models, actorOf(req)),
  );

  app.get<P>(`${base}/spend_limit`, noQuery, (req) => getSpendLimit(deps, orgId, req.params.project_id));
  app.post<P>(`${base}/spend_limit`, noQuery, (req) => setSpendLimit(deps, orgId, req.params.project_id, parseSpendLimitBody(req.body), actorOf(req)));
  app.delete<P>(`${base}/spend_limit`, noInput, (req) => deleteSpendLimit(deps, orgId, req.params.project_id, actorOf(req)));
  app.get('/spend_limit', noQuery, () => getOrgSpendLimit(deps, orgId));
  app.post('/spend_limit', noQuery, (req) => setOrgSpendLimit(deps, orgId, parseSpendLimitBody(req.body), actorOf(req)));
  app.delete('/spend_limit', noInput, (req) => deleteOrgSpendLimit(deps, orgId, actorOf(req)));

  const alertRoutes = (prefix: string, scopeOf: (req: { params: P['Params'] }) => SpendAlertScope) => {
    app.get<P>(`${prefix}/spend_alerts`, (req) => listSpendAlerts(deps, orgId, scopeOf(req), parseQuery(ListSpendAlertsQuery, req.query)));
    app.post<P>(`${prefix}/spend_alerts`, noQuery, (req) => createSpendAlert(deps, orgId, scopeOf(req), parseInput(CreateSpendAlertBody, req.body), actorOf(req)));
    app.get<P>(`${prefix}/spend_alerts/:alert_id`, noQuery, (req) => getSpendAlert(deps, orgId, scopeOf(req), req.params.alert_id));
    app.post<P>(`${prefix}/spend_alerts/:alert_id`, noQuery, (req) => updateSpendAlert(deps, orgId, scopeOf(req), req.params.alert_id, parseInput(UpdateSpendAlertBody, req.body), actorOf(req)));
    app.delete<P>(`${prefix}/spend_alerts/:alert_id`, noInput, (req) => deleteSpendAlert(deps, orgId, scopeOf(req), req.params.alert_id, actorOf(req)));
  };
  alertRoutes(base, (req) => ({ kind: 'project', projectId: req.params.project_id }));
  alertRoutes('', () => ({ kind: 'organization' }));
}
