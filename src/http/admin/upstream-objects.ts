import type { FastifyInstance } from 'fastify';
import { parseQuery } from '../../services/query-params.js';
import {
  AssignUpstreamObjectBody,
  assignUpstreamObject,
  ListUpstreamObjectsQuery,
  listUpstreamObjects,
  unassignUpstreamObject,
} from '../../services/upstream-objects.js';
import { parseInput } from '../../services/validation.js';
import type { AppContext } from '../context.js';
import { actorOf } from './admin-auth.js';
import { refuseQuery, refuseQueryAndBody } from './strict-input.js';

type P = { Params: { project_id: string; object_id: string }; Querystring: Record<string, unknown> };

/**
 * /v1/organization/projects/{project_id}/upstream_objects: the upstream objects a project owns (created through the
 * gateway, or assigned here), and the operator's assignment of objects made outside Tollgate.
 */
export function registerUpstreamObjectRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { deps, orgId } = ctx;
  const base = '/projects/:project_id/upstream_objects';
  app.get<P>(base, (req) => listUpstreamObjects(deps, orgId, req.params.project_id, parseQuery(ListUpstreamObjectsQuery, req.query)));
  app.post<P>(base, { preValidation: refuseQuery }, (req) => assignUpstreamObject(deps, orgId, req.params.project_id, parseInput(AssignUpstreamObjectBody, req.body), actorOf(req)));
  app.delete<P>(`${base}/:object_id`, { preValidation: refuseQueryAndBody }, (req) => unassignUpstreamObject(deps, orgId, req.params.project_id, req.params.object_id, actorOf(req)));
}
