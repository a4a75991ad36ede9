import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../runtime.js';
import type { ActorResolver } from '../admin/admin-auth.js';
import type { AppContext } from '../context.js';

/** What the dashboard adds to the server: session authentication of the admin API, and its own routes. */
export interface DashboardWiring {
  /** Resolves a dashboard session (cookie + CSRF) to an actor, enforcing the member's role; null when no session. */
  sessionResolver?: ActorResolver;
  plugins: Array<(app: FastifyInstance) => void | Promise<void>>;
}

/** Builds the dashboard wiring for a server. */
export function dashboardWiring(_ctx: AppContext, _runtime: Runtime): DashboardWiring {
  return { plugins: [] };
}
