import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config/config.js';
import { loadGatewayConfig } from './config/gateway-config.js';
import type { AppContext } from './http/context.js';
import type { GatewayContext } from './http/gateway/gateway-context.js';
import { openGuard, type RequestGuard } from './http/gateway/guard.js';
import { EchoUpstream } from './providers/echo.js';
import { HttpUpstream } from './providers/http-upstream.js';
import type { Upstream } from './providers/types.js';
import type { Runtime } from './runtime.js';
import { UsageRecorder } from './services/usage-recorder.js';
import { rollUpUsage } from './services/usage-rollups.js';

/** Builds the data plane: upstream pools (or the echo model), the usage recorder, and the limits seam. */
export function createGateway(config: Config, runtime: Runtime, app: AppContext, logger: Logger, guard: RequestGuard = openGuard): GatewayContext {
  const gatewayConfig = loadGatewayConfig(config);
  const upstreams = new Map<string, Upstream>();
  for (const p of gatewayConfig.providers) upstreams.set(p.name, new HttpUpstream(p));
  if (upstreams.size === 0) upstreams.set('echo', new EchoUpstream());
  const usage = new UsageRecorder(runtime.database, {
    flushIntervalMs: 1000,
    batchSize: 500,
    maxInMemory: 100_000,
    spillFile: join(config.dataDir, 'usage-spill.jsonl'),
    onError: (err) => logger.warn({ err: String(err) }, 'usage flush failed; events kept and retried'),
    onInserted: rollUpUsage,
  });
  return {
    app,
    config: gatewayConfig,
    upstreams,
    usage,
    guard,
    refusals: new Map(),
    newEventId: () => `evt_${randomUUID()}`,
  };
}

/** Stops the data plane: flush usage (or spill it to disk), close upstream pools. */
export async function closeGateway(g: GatewayContext): Promise<void> {
  await g.usage.stop();
  await Promise.all([...g.upstreams.values()].map((u) => u.close().catch(() => {})));
}
