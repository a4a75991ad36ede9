import type { Logger } from 'pino';
import { WEBHOOK_RETRY_SCHEDULE_MS } from '../core/webhook-retries.js';
import { AuthThrottle } from '../infra/auth-throttle.js';
import type { Runtime } from '../runtime.js';
import { AdminKeyUseAudit } from '../services/admin-key-use.js';
import { RuntimeProviders } from '../services/runtime-providers.js';
import { Webhooks } from '../services/webhooks.js';
import type { AppContext } from './context.js';

/**
 * The HTTP context of a runtime: webhooks (which also carry exposure alerts), runtime providers (their secrets sealed
 * under a key derived from the server secret) and the key-guessing throttle.
 * Shared by the server and the CLI's in-process mode, so both send the same notifications.
 */
export function createAppContext(runtime: Runtime, logger: Logger): AppContext {
  // Deliveries are sent by the server (started in server.ts); the CLI's in-process mode only queues them.
  const webhooks = new Webhooks(runtime.deps, runtime.ciphers.webhookSecrets, {
    backoffMs: WEBHOOK_RETRY_SCHEDULE_MS,
    timeoutMs: 10_000,
    onError: (msg) => logger.warn(msg),
  });
  // Built once and frozen, as every context is: a holder reads it, nobody rewires it.
  const ctx: AppContext = {
    config: runtime.config,
    deps: runtime.deps,
    keyCache: runtime.keyCache,
    lastUsed: runtime.lastUsed,
    orgId: runtime.org.id,
    authThrottle: new AuthThrottle(),
    adminKeyUse: new AdminKeyUseAudit(runtime.deps),
    webhooks,
    providers: new RuntimeProviders(
      runtime.deps,
      runtime.ciphers.providerCredentials,
      runtime.config.gateway.providers.map((p) => p.name),
    ),
    notify: {
      exposed: {
        exposed: (trx, e) => webhooks.emit(e.orgId, 'api_key.exposed', { api_key_id: e.keyId, project_id: e.projectId, url: e.url, source: e.source }, trx),
        committed: () => webhooks.kick(),
      },
    },
  };
  return Object.freeze(ctx);
}
