import type { FastifyInstance } from 'fastify';
import { type Logger, pino } from 'pino';
import type { Config } from './config/config.js';
import { buildApp } from './http/app.js';
import type { AppContext } from './http/context.js';
import { dashboardWiring } from './http/dashboard/wiring.js';
import { createRuntime, type Runtime } from './runtime.js';

export interface Server {
  app: FastifyInstance;
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
  const ctx: AppContext = { config, deps: runtime.deps, keyCache: runtime.keyCache, lastUsed: runtime.lastUsed, orgId: runtime.org.id };
  const dashboard = dashboardWiring(ctx, runtime);
  const app = await buildApp(ctx, {
    logger,
    sessionResolver: dashboard.sessionResolver,
    plugins: [...dashboard.plugins],
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
    runtime,
    url,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await runtime.close();
    },
  };
}
