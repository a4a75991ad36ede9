import type { FastifyInstance } from 'fastify';
import {
  CreateProjectKeyBody,
  createProjectKey,
  ListProjectKeysQuery,
  listProjectKeys,
  RetrieveProjectKeyQuery,
  RotateProjectKeyBody,
  retrieveProjectKey,
  revokeProjectKey,
  rotateProjectKey,
  UpdateProjectKeyBody,
  updateProjectKey,
} from '../../services/api-keys.js';
import { parseQuery } from '../../services/query-params.js';
import { parseInput } from '../../services/validation.js';
import type { AppContext } from '../context.js';
import { actorOf } from './admin-auth.js';
import { refuseQuery, refuseQueryAndBody } from './strict-input.js';

type P = { Params: { project_id: string; key_id: string }; Querystring: Record<string, unknown> };

/** /v1/organization/projects/{project_id}/api_keys — OpenAI's shape, plus create, update and rotate. */
export function registerApiKeyRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { deps, orgId } = ctx;
  const base = '/projects/:project_id/api_keys';
  const noQuery = { preValidation: refuseQuery };
  app.get<P>(base, (req) => listProjectKeys(deps, orgId, req.params.project_id, parseQuery(ListProjectKeysQuery, req.query)));
  app.post<P>(base, noQuery, async (req, reply) => {
    const created = await createProjectKey(deps, orgId, req.params.project_id, parseInput(CreateProjectKeyBody, req.body), actorOf(req));
    reply.header('cache-control', 'no-store');
    return created;
  });
  app.get<P>(`${base}/:key_id`, (req) => retrieveProjectKey(deps, orgId, req.params.project_id, req.params.key_id, parseQuery(RetrieveProjectKeyQuery, req.query)));
  app.post<P>(`${base}/:key_id`, noQuery, (req) =>
    updateProjectKey(deps, orgId, req.params.project_id, req.params.key_id, parseInput(UpdateProjectKeyBody, req.body), actorOf(req)),
  );
  app.delete<P>(`${base}/:key_id`, { preValidation: refuseQueryAndBody }, (req) => revokeProjectKey(deps, orgId, req.params.project_id, req.params.key_id, actorOf(req)));
  app.post<P>(`${base}/:key_id/rotate`, noQuery, async (req, reply) => {
    const rotated = await rotateProjectKey(deps, orgId, req.params.project_id, req.params.key_id, parseInput(RotateProjectKeyBody, req.body), actorOf(req));
    reply.header('cache-control', 'no-store');
    return rotated;
  });
}
