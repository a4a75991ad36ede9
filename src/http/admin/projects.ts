import type { FastifyInstance } from 'fastify';
import { archiveProject, createProject, getProject, listProjects, modifyProject } from '../../services/projects.js';
import type { AppContext } from '../context.js';
import { actorOf } from './admin-auth.js';

type P = { Params: { project_id: string }; Querystring: Record<string, unknown> };

/** /v1/organization/projects — OpenAI's Projects API. */
export function registerProjectRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { deps, orgId } = ctx;
  app.get<P>('/projects', (req) => listProjects(deps, orgId, req.query));
  app.post<P>('/projects', (req) => createProject(deps, orgId, req.body, actorOf(req)));
  app.get<P>('/projects/:project_id', (req) => getProject(deps, orgId, req.params.project_id));
  app.post<P>('/projects/:project_id', (req) => modifyProject(deps, orgId, req.params.project_id, req.body, actorOf(req)));
  app.post<P>('/projects/:project_id/archive', (req) => archiveProject(deps, orgId, req.params.project_id, actorOf(req)));
}
