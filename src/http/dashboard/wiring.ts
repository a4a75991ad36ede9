import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../runtime.js';
import type { AccountContext, SecurityLog } from '../../services/accounts.js';
import { LoginThrottle } from '../../services/login-throttle.js';
import type { SetupTokenFile } from '../../services/setup-token.js';
import type { ActorResolver } from '../admin/admin-auth.js';
import { registerInviteRoutes } from '../auth/invites.js';
import { installOwnerAuth } from '../auth/owner-auth.js';
import { registerAuthRoutes } from '../auth/routes.js';
import { createSessionResolver } from '../auth/session-resolver.js';
import type { AppContext } from '../context.js';
import { registerDashboardSessionApi } from './session-api.js';
import { registerDashboardStatic } from './static.js';

/** What the dashboard adds to the server: session authentication of the admin API, and its own routes. */
export interface DashboardWiring {
  /** Resolves a dashboard session (cookie + CSRF) to an actor, enforcing the member's role; null when no session. */
  sessionResolver?: ActorResolver;
  plugins: Array<(app: FastifyInstance) => void | Promise<void>>;
}

/** Builds the dashboard wiring for a server. */
export function dashboardWiring(
  ctx: AppContext,
  runtime: Runtime,
  opts: { log: SecurityLog; setupTokenFile: SetupTokenFile | null; quickstartModel: string | null },
): DashboardWiring {
  const account: AccountContext = Object.freeze({
    deps: ctx.deps,
    orgId: ctx.orgId,
    orgName: runtime.org.name,
    secret: runtime.secret,
    throttle: new LoginThrottle(ctx.deps.clock),
    log: opts.log,
    setupTokenFile: opts.setupTokenFile,
  });
  return {
    sessionResolver: createSessionResolver(account),
    plugins: [
      (app) => registerAuthRoutes(app, account),
      (app) => registerInviteRoutes(app, ctx, (scope) => installOwnerAuth(scope, ctx, account)),
      (app) => registerDashboardSessionApi(app, account, { quickstartModel: opts.quickstartModel }),
      (app) => registerDashboardStatic(app),
    ],
  };
}
