import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, LogController } from 'fastify';
import type { Logger } from 'pino';
import { registerAdminKeyRoutes } from './admin/admin-keys.js';
import { type ActorResolver, installAdminAuth } from './admin/admin-auth.js';
import { registerApiKeyGraceRoutes } from './admin/api-key-grace.js';
import { registerApiKeyRoutes } from './admin/api-keys.js';
import { registerExposureRoutes } from './admin/exposure.js';
import { registerLimitRoutes } from './admin/limits.js';
import { registerAuditLogRoutes } from './admin/audit-logs.js';
import { registerProjectRoutes } from './admin/projects.js';
import { registerProviderRoutes } from './admin/providers.js';
import { registerServiceAccountRoutes } from './admin/service-accounts.js';
import { refuseReadBody } from './admin/strict-input.js';
import { registerUpstreamObjectRoutes } from './admin/upstream-objects.js';
import { registerUsageRoutes } from './admin/usage.js';
import { registerUserRoutes } from './admin/users.js';
import { registerWebhookRoutes } from './admin/webhooks.js';
import type { AppContext } from './context.js';
import { installErrorHandling } from './shared/errors.js';
import { installJsonParser } from './shared/json-body.js';
import { installPlainParams } from './shared/plain-params.js';
import { awaitContinue, continueIfAwaited } from './shared/expect-continue.js';
import { expectationFailed, isAdminApiPath, lacksHost, missingHost, onClientError, onConnect, refuseBeforeRoutes, watchBodyIdle } from './shared/raw-errors.js';
import { TollgateError } from '../core/errors.js';
import { errorBodyFor, REQUEST_ID_HEADER, REQUEST_ID_LOG_KEY, requestIdOf, setRequestId } from './shared/request-id.js';

export interface AppOptions {
  logger: Logger;
  sessionResolver?: ActorResolver;
  /** Root-level setup (hooks that must see every route, such as metrics). */
  configure?: (app: FastifyInstance) => void;
  /** Serves a request before Fastify sees it (the gateway's data plane); returns false to pass it on. */
  front?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Extra route groups (gateway, dashboard, …) registered after the admin API. */
  plugins?: Array<(app: FastifyInstance) => void | Promise<void>>;
  /** A new request id (core/ids.ts requestIdSource); every answer carries its request's in `x-request-id`. */
  newRequestId: () => string;
}

/** One registered route: method and Fastify pattern (`/v1/organization/projects/:project_id`). */
export interface RouteEntry {
  method: string;
  url: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    routeTable: readonly RouteEntry[];
  }
}

const KEEP_ALIVE_MS = 72_000;

/** Builds the HTTP server: a thin shell over the services. */
export async function buildApp(ctx: AppContext, opts: AppOptions): Promise<FastifyInstance> {
  const trustProxy = ctx.config.trustProxy ? ctx.config.trustProxy.split(',').map((s) => s.trim()) : false;
  const app: FastifyInstance = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: REQUEST_ID_LOG_KEY }),
    trustProxy,
    bodyLimit: ctx.config.bodyLimit,
    // Query strings like effective_at[gt]=… stay literal keys; repeated keys become arrays.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // Tollgate's own ids, never a client's (a client's x-request-id is not trusted as ours): given to each request in
    // serverFactory below, read back here, and logged under the same key as the gateway's.
    requestIdHeader: false,
    genReqId: (req) => requestIdOf(req as IncomingMessage) ?? opts.newRequestId(),
    return503OnClosing: true,
    // avvio's 10 s default per plugin killed healthy starts on a loaded machine (2 cores at load 16: 20-30 s to
    // listen, main's code and this alike); a plugin that truly hangs still fails the start, a minute later.
    pluginTimeout: 60_000,
    // Fastify's defaults for its own server, which serverFactory replaces.
    keepAliveTimeout: KEEP_ALIVE_MS,
    serverFactory: (handler) => {
      const front = opts.front;
      const idleMs = ctx.config.bodyIdleTimeoutMs;
      const served = (req: IncomingMessage, res: ServerResponse) => {
        // Set before Fastify sees the request, so that every answer has it: routes, errors, 404s, Fastify's own
        // answers (bad URLs, 503 while closing) and the body-idle cut.
        const id = opts.newRequestId();
        setRequestId(req, id);
        res.setHeader(REQUEST_ID_HEADER, id);
        watchBodyIdle(req, res, idleMs);
        continueIfAwaited(req, res);
        handler(req, res);
      };
      const dispatch = front ? (req: IncomingMessage, res: ServerResponse) => front(req, res) || served(req, res) : served;
      const checked = (req: IncomingMessage, res: ServerResponse) => {
        if (lacksHost(req)) refuseBeforeRoutes(req, res, missingHost(), opts.newRequestId(), opts.logger);
        else dispatch(req, res);
      };
      // Node's own answers before any route sees the request (an empty 400 for a missing Host, an empty 417 for an
      // unknown Expect, a socket destroyed on CONNECT, `100 Continue` before the key is checked) are replaced by
      // Tollgate's, in OpenAI's shape with a request id (docs/gateway-paths.md).
      const server = createServer({ requireHostHeader: false }, checked);
      server.on(
        'checkContinue',
        (req: IncomingMessage, res: ServerResponse) => {
          awaitContinue(req);
          checked(req, res);
        },
      );
      server.on(
        'checkExpectation',
        (req: IncomingMessage, res: ServerResponse) => refuseBeforeRoutes(req, res, expectationFailed(), opts.newRequestId(), opts.logger),
      );
      server.on('connect', (_req: IncomingMessage, socket: Duplex) => onConnect(socket, opts.newRequestId()));
      server.keepAliveTimeout = KEEP_ALIVE_MS;
      // Bodies are cut by idle time instead (watchBodyIdle, the gateway's reader): a large upload over a slow link
      // may take longer than any total limit, a stalled one is cut after TOLLGATE_BODY_IDLE_TIMEOUT_MS.
      server.requestTimeout = 0;
      return server;
    },
    // Node's parse errors and Fastify's router errors in OpenAI's shape, like every other answer.
    clientErrorHandler: (err, socket) => onClientError(err, socket, opts.newRequestId()),
    frameworkErrors: (err, _request, reply) => {
      const te =
        err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new TollgateError('uri_too_long', 'A path parameter is longer than 200 characters.')
          : new TollgateError('invalid_value', 'Malformed request URL (bad percent-encoding).');
      // Sent before the hooks are in place: the admin API's no-store is set here.
      if (isAdminApiPath(_request.url)) (reply as unknown as FastifyReply).header('cache-control', 'no-store');
      (reply as unknown as FastifyReply).code(te.status).header('content-type', 'application/json; charset=utf-8').send(errorBodyFor(te, _request.id));
    },
  });
  installJsonParser(app);
  installErrorHandling(app);
  // Every answer under /v1/organization is no-store (docs/admin-api.md), the refusals made before any route was found
  // (an unknown path or method, a parameter too long) too: the admin routes' own hook runs only once one is matched.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (isAdminApiPath(request.url)) reply.header('cache-control', 'no-store');
    done(null, payload);
  });
  // Every route as registered, for the route-table-driven security suite (test/route-security.test.ts) and tooling.
  const routeTable: RouteEntry[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routeTable.push({ method, url: route.url });
  });
  app.decorate('routeTable', routeTable);
  installPlainParams(app);

  opts.configure?.(app);
  app.get('/healthz', async () => ({ status: 'ok' }));

  await app.register(
    async (admin) => {
      installAdminAuth(admin, ctx, opts.sessionResolver);
      admin.addHook('onRequest', refuseReadBody);
      registerProjectRoutes(admin, ctx);
      registerApiKeyRoutes(admin, ctx);
      registerApiKeyGraceRoutes(admin, ctx);
      registerServiceAccountRoutes(admin, ctx);
      registerUserRoutes(admin, ctx);
      registerAdminKeyRoutes(admin, ctx);
      registerAuditLogRoutes(admin, ctx);
      registerUsageRoutes(admin, ctx);
      registerExposureRoutes(admin, ctx);
      registerLimitRoutes(admin, ctx);
      registerWebhookRoutes(admin, ctx);
      registerUpstreamObjectRoutes(admin, ctx);
      registerProviderRoutes(admin, ctx);
    },
    { prefix: '/v1/organization' },
  );
  for (const plugin of opts.plugins ?? []) await app.register(async (scope) => plugin(scope));
  return app;
}
