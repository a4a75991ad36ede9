import { mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/config.js';
import { SHUTDOWN_SETTLE_MS } from './config/shutdown.js';
import type { PasswordHasher } from './core/ports.js';
import { closeGateway, createGateway, USAGE_DEAD_LETTER_FILE } from './gateway-runtime.js';
import { buildApp } from './http/app.js';
import { createAppContext } from './http/app-context.js';
import type { GatewayContext } from './http/gateway/gateway-context.js';
import { gatewayListener } from './http/gateway/listener.js';
import { createMetrics, registerMetrics } from './http/metrics.js';
import { registerSecretScanning } from './http/secret-scanning.js';
import { readiness } from './readiness.js';
import { requestIdSource } from './core/ids.js';
import { quickstartModel } from './core/quickstart-model.js';
import { dashboardWiring } from './http/dashboard/wiring.js';
import { DataDirInUseError, LOCK_HEARTBEAT_MS, LOCK_STALE_MS, lockDataDir } from './infra/data-dir-lock.js';
import { createLogger, withSafeErrors } from './infra/log-errors.js';
import { setupTokenFile } from './infra/setup-token-file.js';
import { type BackgroundSource, createRuntime, type Runtime } from './runtime.js';
import { provisionSetupToken, type SetupTokenState, watchSetupToken } from './services/setup-token.js';
import type { UsageRetention } from './services/usage-retention.js';
import type { Webhooks } from './services/webhooks.js';

export interface Server {
  app: FastifyInstance;
  gateway: GatewayContext;
  /** Deletes raw usage events past TOLLGATE_USAGE_RETENTION_DAYS (a pass a minute). */
  retention: UsageRetention;
  /** Webhook endpoints and the deliveries this instance sends (a pass a second). */
  webhooks: Webhooks;
  runtime: Runtime;
  /** The first sign-up's setup token, as this instance knows it (the banner prints it). */
  setup: SetupTokenState;
  url: string;
  close(): Promise<void>;
}

const BACKGROUND_FAILURES: Record<BackgroundSource, string> = {
  'change-feed': 'key change feed poll failed',
  'change-bus': 'Redis change bus failed (the change feed still carries changes)',
  'last-used': 'writing last-used times failed (kept for the next flush)',
};

/** How long start-up waits for the shared limit store (Redis) to connect before serving without it. */
const REDIS_START_WAIT_MS = 5_000;

/** A failure to listen that configuration fixes (PORT, HOST), in words an operator can act on; main.ts prints it. */
export class ListenError extends Error {}

/** The ListenError of a listen failure the operator can fix, or null for any other. */
function listenFailure(err: unknown, host: string, port: number): ListenError | null {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE') {
    return new ListenError(`port ${port} is already in use on ${host}: another Tollgate or another program is listening there; stop it, or set PORT to a free port`, { cause: err });
  }
  if (code === 'EACCES') {
    return new ListenError(`not allowed to listen on port ${port} of ${host} (ports below 1024 need privileges): set PORT to 1024 or above`, { cause: err });
  }
  if (code === 'EADDRNOTAVAIL') {
    return new ListenError(`HOST ${host} is not an address of this machine: set HOST to one of its addresses (127.0.0.1, or 0.0.0.0 for all)`, { cause: err });
  }
  return null;
}

/**
 * Takes the data dir (infra/data-dir-lock.ts), waiting while its holder is one no process here can ask — a container
 * restarted at once after a crash finds its previous life's lock under the same host and process id, and exiting
 * made its orchestrator restart it over and over until the lock went stale — until that lock is taken for gone.
 */
async function lockDataDirWaiting(dataDir: string, logger: Logger): Promise<{ release(): void }> {
  const started = performance.now(); // elapsed real time, not the injected wall clock
  for (;;) {
    try {
      return lockDataDir(dataDir);
    } catch (err) {
      if (!(err instanceof DataDirInUseError) || !err.unaskable || performance.now() - started > LOCK_STALE_MS + LOCK_HEARTBEAT_MS) throw err;
      logger.warn({ data_dir: dataDir }, 'the data dir is held by a server this one cannot ask (another host, or its own process id): waiting for its lock to go stale');
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** Creates the runtime and HTTP app and listens; used by main.ts and by tests. */
export async function startServer(
  config: Config,
  opts: { logger?: Logger; schema?: string; listen?: boolean; clock?: () => number; passwords?: PasswordHasher } = {},
): Promise<Server> {
  // Errors are logged without what may hold a connection's credentials (infra/log-errors.ts), whoever built the logger.
  const logger = opts.logger ? withSafeErrors(opts.logger) : createLogger(config.logLevel);
  // One server per data dir (its usage log is its own): refused readably while another live process holds it.
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const lock = await lockDataDirWaiting(config.dataDir, logger);
  try {
    return await start(config, opts, logger, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function start(
  config: Config,
  opts: { schema?: string; listen?: boolean; clock?: () => number; passwords?: PasswordHasher },
  logger: Logger,
  lock: { release(): void },
): Promise<Server> {
  const runtime = await createRuntime(config, {
    schema: opts.schema,
    clock: opts.clock,
    passwords: opts.passwords,
    onBackgroundError: (source, err) => logger.warn({ err, source }, `${BACKGROUND_FAILURES[source]}; retrying`),
  });
  await runtime.changeFeed.start();
  runtime.lastUsed.start();
  const ctx = createAppContext(runtime, logger);
  const tokenFile = setupTokenFile(config.dataDir);
  const setup = await provisionSetupToken(runtime.deps, tokenFile, config.setupToken);
  // The copy in the data dir goes once an account is created through another instance (here it goes at once).
  const stopSetupWatch =
    setup.kind === 'here' && setup.source === 'generated'
      ? watchSetupToken(runtime.deps, tokenFile, setup.token, Math.max(1000, config.changePollMs * 5), (err) =>
          logger.warn({ err: String(err) }, 'setup token check failed; retrying'),
        )
      : () => {};
  // The metrics read the gateway's counters when scraped; the gateway reports upstream times to them as it runs.
  let built: GatewayContext | null = null;
  const metrics = createMetrics(ctx, () => built);
  const gateway = await createGateway(config, runtime, ctx, logger, {
    upstream: (provider, credential, seconds, outcome) => metrics.upstream.observe(seconds, provider, credential, outcome),
  });
  built = gateway;
  // Providers added at run time are routed from the first request on.
  await gateway.directory.refresh();
  const dashboard = dashboardWiring(ctx, runtime, { log: logger, setupTokenFile: tokenFile, quickstartModel: quickstartModel(gateway.config) });
  // What the last run's usage log held is in the database before the first request: limits are seeded from it.
  await gateway.usage.writeRecovered();
  gateway.usage.start();
  gateway.retention.start();
  // What the last run left pending (or another instance's emits) is sent from now on.
  ctx.webhooks.start();
  let closing = false;
  // One source of request ids for the gateway's answers and Fastify's.
  const newRequestId = requestIdSource(runtime.deps.randomBytes);
  const front = gatewayListener(gateway, {
    newRequestId,
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
    newRequestId,
    configure: (root) => {
      registerMetrics(root, ctx, metrics);
      root.get('/readyz', async (_req, reply) => {
        const checks = await readiness(runtime, gateway.limitStore);
        // Events held in memory with nowhere on disk to go (a full disk while the database is away): take no more.
        if (gateway.usage.spillFailing) checks.usage_spill = 'failing: events held in memory past TOLLGATE_USAGE_MAX_IN_MEMORY';
        const ok = Object.values(checks).every((c) => c === 'ok');
        reply.code(ok ? 200 : 503);
        // Events set aside do not make the instance unready (every other event is written), but an operator must see them.
        const dead = gateway.usage.deadLetters?.count ?? 0;
        const usage = dead > 0 ? { usage: { dead_letter_events: dead, dead_letter_file: USAGE_DEAD_LETTER_FILE } } : {};
        return { status: ok ? 'ready' : 'not_ready', checks, ...usage };
      });
    },
    sessionResolver: dashboard.sessionResolver,
    plugins: [(scope) => registerSecretScanning(scope, ctx, gateway.config.reporters), ...dashboard.plugins],
  });
  let url = '';
  // A shared limit store still connecting would fail every limited request (refused, or decided on this instance's
  // own counters): serving starts once it is connected, or after a few seconds without it (unready, and said so).
  if (gateway.limitStore.connected && !(await gateway.limitStore.connected(REDIS_START_WAIT_MS))) {
    logger.warn({ waited_ms: REDIS_START_WAIT_MS }, 'the shared limit store (Redis) is not connected: starting unready; limited requests follow the failure modes');
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    closing = true;
    stopSetupWatch();
    // Drain in-flight requests, then cut connections that never finish (idle sockets a client opened but never used).
    const graceEnds = performance.now() + config.shutdownGraceMs;
    const force = setTimeout(() => app.server.closeAllConnections(), config.shutdownGraceMs);
    await app.close();
    clearTimeout(force);
    // What the grace leaves is for answers still read after their client left (detached-reads.ts); then the requests
    // whose connections were cut get SHUTDOWN_SETTLE_MS to be metered before the usage recorder stops.
    await closeGateway(gateway, Math.max(0, graceEnds - performance.now()), SHUTDOWN_SETTLE_MS);
    // Deliveries under way are cut and stay due, for the next start (or another instance).
    await ctx.webhooks.stop();
    await runtime.close();
    lock.release();
  };
  if (opts.listen !== false) {
    try {
      await app.listen({ host: config.host, port: config.port });
    } catch (err) {
      // What was started above (database, usage worker, timers) is let go before the failure is told.
      await close().catch((closeErr) => logger.warn({ err: closeErr }, 'closing after the failed start failed'));
      throw listenFailure(err, config.host, config.port) ?? err;
    }
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  }
  return { app, gateway, retention: gateway.retention, webhooks: ctx.webhooks, runtime, setup, url, close };
}
