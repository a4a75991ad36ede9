import type { FastifyInstance } from 'fastify';
import { endRotationGrace } from '../../services/key-grace.js';
import { NoBody } from '../../services/query-params.js';
import { parseInput } from '../../services/validation.js';
import type { AppContext } from '../context.js';
import { actorOf } from './admin-auth.js';
import { refuseQuery } from './strict-input.js';

type P = { Params: { project_id: string; key_id: string } };

/** POST /v1/organization/projects/{project_id}/api_keys/{key_id}/end_grace — Tollgate's: a rotated key's old secrets stop now. */
export function registerApiKeyGraceRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post<P>('/projects/:project_id/api_keys/:key_id/end_grace', { preValidation: refuseQuery }, (req) => {
    parseInput(NoBody, req.body);
    return endRotationGrace(ctx.deps, ctx.orgId, req.params.project_id, req.params.key_id, actorOf(req));
  });
}
