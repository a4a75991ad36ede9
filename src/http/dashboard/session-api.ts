import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TollgateError } from '../../core/errors.js';
import type { AccountContext } from '../../services/accounts.js';
import { budgetStandings } from '../../services/budget-standing.js';
import { KEY_SEARCH_PARAMS, resolveNames, searchProjectKeys } from '../../services/dashboard-keys.js';
import { refuseUnknownParams } from '../../services/query-params.js';
import { REFUSAL_PARAMS, refusalsReport } from '../../services/refusal-counts.js';
import type { SessionUser } from '../../services/sessions.js';
import { currentSession } from '../auth/session-resolver.js';

declare module 'fastify' {
  interface FastifyRequest {
    dashboardSession?: SessionUser;
  }
}

type Q = { Querystring: Record<string, unknown> };
type P = Q & { Params: { project_id: string } };

function sessionOf(request: FastifyRequest): SessionUser {
  if (!request.dashboardSession) throw new TollgateError('invalid_session');
  return request.dashboardSession;
}

function one(query: Record<string, unknown>, name: string): string | null {
  const v = query[name];
  if (v === undefined || v === '') return null;
  if (typeof v !== 'string') throw new TollgateError('invalid_value', `Invalid value for '${name}': expected a single value.`, name);
  return v;
}

/**
 * Reads only the dashboard makes, under the session API (/auth/dashboard/…): a signed-in session is required and
 * enough (every member of the organization reads keys, usage and limits; no admin key opens these). They answer what
 * OpenAI's Admin API has no call for — searching and sorting keys, refusals by reason, where budgets stand, names of
 * ids — and change nothing.
 */
export function registerDashboardSessionApi(app: FastifyInstance, ctx: AccountContext, instance: { quickstartModel: string | null }): void {
  const { deps, orgId } = ctx;
  app.addHook('onRequest', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const session = await currentSession(ctx, request);
    if (!session) throw new TollgateError('invalid_session');
    request.dashboardSession = session;
  });
  app.get('/auth/dashboard/instance', async () => ({ object: 'dashboard.instance', quickstart_model: instance.quickstartModel }));
  app.get<P>('/auth/dashboard/projects/:project_id/api_keys', (req) => searchProjectKeys(deps, orgId, req.params.project_id, refuseUnknownParams(req.query, KEY_SEARCH_PARAMS)));
  app.get<Q>('/auth/dashboard/names', async (req) => {
    const raw = req.query.ids ?? req.query['ids[]'];
    const ids = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).flatMap((v) => String(v).split(','));
    const data = await resolveNames(deps, orgId, ids, sessionOf(req).role === 'owner');
    return { object: 'list', data };
  });
  app.get<Q>('/auth/dashboard/refusals', (req) => refusalsReport(deps, orgId, refuseUnknownParams(req.query, REFUSAL_PARAMS)));
  app.get<Q>('/auth/dashboard/budgets', async (req) => {
    const projectId = one(req.query, 'project_id');
    const keyId = one(req.query, 'api_key_id');
    if (keyId && !projectId) throw new TollgateError('missing_required_parameter', "Missing required parameter: 'project_id' (with api_key_id).", 'project_id');
    return { object: 'list', data: await budgetStandings(deps, orgId, { projectId, keyId }) };
  });
}
