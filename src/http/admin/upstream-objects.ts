import type { FastifyInstance } from 'fastify';
import { AssignUpstreamObjectBody, assignUpstreamObject, listUpstreamObjects, unassignUpstreamObject } from '../../services/upstream-objects.js';
import { parseInput } from '../../services/validation.js';
import type { AppContext } from '../context.js';
import { actorOf } from './admin-auth.js';

type P = { Params: { project_id: string; object_id: string }; Querystring: Record<string, unknown> };

/**
 * /v1/organization/projects/{project_id}/upstream_objects: the upstream objects a project owns (created through the
 * gateway, or assigned here), and the operator's assignment of objects made outside Tollgate.
 */
export function registerUpstreamObjectRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { deps, orgId } = ctx;
  const base = '/projects/:project_id/upstream_objects';
  app.get<P>(base, (req) => listUpstreamObjects(deps, orgId, req.params.project_id, req.query));
  app.post<P>(base, (req) => assignUpstreamObject(deps, orgId, req.params.project_id, parseInput(AssignUpstreamObjectBody, req.body), actorOf(req)));
  app.delete<P>(`${base}/:object_id`, (req) => unassignUpstreamObject(deps, orgId, req.params.project_id, req.params.object_id, actorOf(req)));
}
