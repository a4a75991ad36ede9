import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import { registerAdminKeyRoutes } from './admin/admin-keys.js';
import { type ActorResolver, installAdminAuth } from './admin/admin-auth.js';
import { registerApiKeyRoutes } from './admin/api-keys.js';
import { registerExposureRoutes } from './admin/exposure.js';
import { registerLimitRoutes } from './admin/limits.js';
import { registerAuditLogRoutes } from './admin/audit-logs.js';
import { registerProjectRoutes } from './admin/projects.js';
import { registerServiceAccountRoutes } from './admin/service-accounts.js';
import { registerUsageRoutes } from './admin/usage.js';
import { registerUserRoutes } from './admin/users.js';
import { registerWebhookRoutes } from './admin/webhooks.js';
import type { AppContext } from './context.js';
import { installErrorHandling } from './shared/errors.js';
import { installJsonParser } from './shared/json-body.js';

export interface AppOptions {
  logger: Logger;
  sessionResolver?: ActorResolver;
  /** Root-level setup (hooks that must see every route, such as metrics). */
  configure?: (app: FastifyInstance) => void;
  /** Serves a request before Fastify sees it (the gateway's data plane); returns false to pass it on. */
  front?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Extra route groups (gateway, dashboard, …) registered after the admin API. */
  plugins?: Array<(app: FastifyInstance) => void | Promise<void>>;
}

const KEEP_ALIVE_MS = 72_000;

/** Builds the HTTP server: a thin shell over the services. */
export async function buildApp(ctx: AppContext, opts: AppOptions): Promise<FastifyInstance> {
  const trustProxy = ctx.config.trustProxy ? ctx.config.trustProxy.split(',').map((s) => s.trim()) : false;
  const app: FastifyInstance = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy,
    bodyLimit: ctx.config.bodyLimit,
    // Query strings like effective_at[gt]=… stay literal keys; repeated keys become arrays.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    requestIdHeader: false,
    return503OnClosing: true,
    // Fastify's defaults for its own server, which serverFactory replaces.
    keepAliveTimeout: KEEP_ALIVE_MS,
    serverFactory: (handler) => {
      const front = opts.front;
      const server = createServer(front ? (req, res) => front(req, res) || handler(req, res) : handler);
      server.keepAliveTimeout = KEEP_ALIVE_MS;
      return server;
    },
  });
  installJsonParser(app);
  installErrorHandling(app);

  opts.configure?.(app);
  app.get('/healthz', async () => ({ status: 'ok' }));

  await app.register(
    async (admin) => {
      installAdminAuth(admin, ctx, opts.sessionResolver);
      registerProjectRoutes(admin, ctx);
      registerApiKeyRoutes(admin, ctx);
      registerServiceAccountRoutes(admin, ctx);
      registerUserRoutes(admin, ctx);
      registerAdminKeyRoutes(admin, ctx);
      registerAuditLogRoutes(admin, ctx);
      registerUsageRoutes(admin, ctx);
      registerExposureRoutes(admin, ctx);
      registerLimitRoutes(admin, ctx);
      registerWebhookRoutes(admin, ctx);
    },
    { prefix: '/v1/organization' },
  );
  for (const plugin of opts.plugins ?? []) await app.register(async (scope) => plugin(scope));
  return app;
}
