import type { FastifyInstance } from 'fastify';
import {
  archiveProject,
  CreateProjectBody,
  createProject,
  getProject,
  ListProjectsQuery,
  listProjects,
  ModifyProjectBody,
  modifyProject,
} from '../../services/projects.js';
import { parseQuery } from '../../services/query-params.js';
import { parseInput } from '../../services/validation.js';
import type { AppContext } from '../context.js';
import { actorOf } from './admin-auth.js';
import { refuseQuery, refuseQueryAndBody } from './strict-input.js';

type P = { Params: { project_id: string }; Querystring: Record<string, unknown> };

/** /v1/organization/projects — OpenAI's Projects API. */
export function registerProjectRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { deps, orgId } = ctx;
  const noQuery = { preValidation: refuseQuery };
  app.get<P>('/projects', (req) => listProjects(deps, orgId, parseQuery(ListProjectsQuery, req.query)));
  app.post<P>('/projects', noQuery, (req) => createProject(deps, orgId, parseInput(CreateProjectBody, req.body), actorOf(req)));
  app.get<P>('/projects/:project_id', noQuery, (req) => getProject(deps, orgId, req.params.project_id));
  app.post<P>('/projects/:project_id', noQuery, (req) => modifyProject(deps, orgId, req.params.project_id, parseInput(ModifyProjectBody, req.body), actorOf(req)));
  app.post<P>('/projects/:project_id/archive', { preValidation: refuseQueryAndBody }, (req) =>
    archiveProject(deps, orgId, req.params.project_id, actorOf(req)),
  );
}
