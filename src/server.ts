import type { FastifyInstance } from 'fastify';
import { type Logger, pino } from 'pino';
import type { Config } from './config/config.js';
import { closeGateway, createGateway } from './gateway-runtime.js';
import { buildApp } from './http/app.js';
import { createAppContext } from './http/app-context.js';
import type { GatewayContext } from './http/gateway/gateway-context.js';
import { gatewayListener } from './http/gateway/listener.js';
import { createMetrics, registerMetrics } from './http/metrics.js';
import { registerSecretScanning } from './http/secret-scanning.js';
import { readiness } from './readiness.js';
import { dashboardWiring } from './http/dashboard/wiring.js';
import { createRuntime, type Runtime } from './runtime.js';

export interface Server {
  app: FastifyInstance;
  gateway: GatewayContext;
  runtime: Runtime;
  url: string;
  close(): Promise<void>;
}

/** Creates the runtime and HTTP app and listens; used by main.ts and by tests. */
export async function startServer(config: Config, opts: { logger?: Logger; schema?: string; listen?: boolean; clock?: () => number } = {}): Promise<Server> {
  const logger = opts.logger ?? pino({ level: config.logLevel });
  const runtime = await createRuntime(config, {
    schema: opts.schema,
    clock: opts.clock,
    onChangeFeedError: (err) => logger.warn({ err }, 'key change feed poll failed; retrying'),
  });
  await runtime.changeFeed.start();
  runtime.lastUsed.start();
  const ctx = createAppContext(runtime, logger);
  const dashboard = dashboardWiring(ctx, runtime);
  const gateway = createGateway(config, runtime, ctx, logger);
  gateway.usage.start();
  const metrics = createMetrics(ctx, () => gateway);
  gateway.observe = { upstream: (provider, seconds, outcome) => metrics.upstream.observe(seconds, provider, outcome) };
  let closing = false;
  const front = gatewayListener(gateway, {
    bodyLimit: config.bodyLimit,
    bodyIdleTimeoutMs: config.bodyIdleTimeoutMs,
    trustProxy: config.trustProxy ?? null,
    logger,
    isClosing: () => closing,
    observe: (route, method, status, seconds) => metrics.http.observe(seconds, route, method, status),
  });
  const app = await buildApp(ctx, {
    logger,
    front,
    configure: (root) => {
      registerMetrics(root, ctx, metrics);
      root.get('/readyz', async (_req, reply) => {
        const checks = await readiness(runtime, gateway.limitStore);
        const ok = Object.values(checks).every((c) => c === 'ok');
        reply.code(ok ? 200 : 503);
        return { status: ok ? 'ready' : 'not_ready', checks };
      });
    },
    sessionResolver: dashboard.sessionResolver,
    plugins: [(scope) => registerSecretScanning(scope, ctx, gateway.config.reporters), ...dashboard.plugins],
  });
  let url = '';
  if (opts.listen !== false) {
    await app.listen({ host: config.host, port: config.port });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  }
  let closed = false;
  return {
    app,
    gateway,
    runtime,
    url,
    async close() {
      if (closed) return;
      closed = true;
      closing = true;
      // Drain in-flight requests, then cut connections that never finish (idle sockets a client opened but never used).
      const force = setTimeout(() => app.server.closeAllConnections(), config.shutdownGraceMs);
      await app.close();
      clearTimeout(force);
      await closeGateway(gateway);
      await runtime.close();
    },
  };
}
