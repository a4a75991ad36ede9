import type { FastifyInstance } from 'fastify';
import { parseQuery } from '../../services/query-params.js';
import {
  AddProjectUserBody,
  addProjectUser,
  CreateUserBody,
  createUser,
  deleteUser,
  getProjectUser,
  getUser,
  ListProjectUsersQuery,
  ListUsersQuery,
  listProjectUsers,
  listUsers,
  ModifyProjectUserBody,
  ModifyUserBody,
  modifyProjectUser,
  modifyUser,
  removeProjectUser,
} from '../../services/users.js';
import { parseInput } from '../../services/validation.js';
import type { AppContext } from '../context.js';
import { actorOf } from './admin-auth.js';
import { refuseQuery, refuseQueryAndBody } from './strict-input.js';

type P = { Params: { project_id: string; user_id: string }; Querystring: Record<string, unknown> };

/** Organization users and project members (OpenAI's Users and Project users APIs, plus user creation). */
export function registerUserRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { deps, orgId } = ctx;
  const noQuery = { preValidation: refuseQuery };
  const noInput = { preValidation: refuseQueryAndBody };
  app.get<P>('/users', (req) => listUsers(deps, orgId, parseQuery(ListUsersQuery, req.query)));
  app.post<P>('/users', noQuery, (req) => createUser(deps, orgId, parseInput(CreateUserBody, req.body), actorOf(req)));
  app.get<P>('/users/:user_id', noQuery, (req) => getUser(deps, orgId, req.params.user_id));
  app.post<P>('/users/:user_id', noQuery, (req) => modifyUser(deps, orgId, req.params.user_id, parseInput(ModifyUserBody, req.body), actorOf(req)));
  app.delete<P>('/users/:user_id', noInput, (req) => deleteUser(deps, orgId, req.params.user_id, actorOf(req)));

  const base = '/projects/:project_id/users';
  app.get<P>(base, (req) => listProjectUsers(deps, orgId, req.params.project_id, parseQuery(ListProjectUsersQuery, req.query)));
  app.post<P>(base, noQuery, (req) => addProjectUser(deps, orgId, req.params.project_id, parseInput(AddProjectUserBody, req.body), actorOf(req)));
  app.get<P>(`${base}/:user_id`, noQuery, (req) => getProjectUser(deps, orgId, req.params.project_id, req.params.user_id));
  app.post<P>(`${base}/:user_id`, noQuery, (req) =>
    modifyProjectUser(deps, orgId, req.params.project_id, req.params.user_id, parseInput(ModifyProjectUserBody, req.body), actorOf(req)),
  );
  app.delete<P>(`${base}/:user_id`, noInput, (req) => removeProjectUser(deps, orgId, req.params.project_id, req.params.user_id, actorOf(req)));
}
