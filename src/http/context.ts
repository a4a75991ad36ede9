import type { Config } from '../config/config.js';
import type { FailureThrottle, KeyCachePort } from '../core/ports.js';
import type { AdminKeyUseAudit } from '../services/admin-key-use.js';
import type { ServiceDeps } from '../services/context.js';
import type { ExposureListener } from '../services/exposure.js';
import type { LastUsedTracker } from '../services/last-used.js';
import type { RuntimeProviders } from '../services/runtime-providers.js';
import type { Webhooks } from '../services/webhooks.js';

/** What the HTTP shell needs; assembled in main.ts. */
export interface AppContext {
  config: Config;
  deps: ServiceDeps;
  keyCache: KeyCachePort;
  lastUsed: LastUsedTracker;
  orgId: string;
  /** Outbound notifications (webhooks); no-ops until configured. */
  notify: { exposed: ExposureListener };
  webhooks: Webhooks;
  /** Providers and credentials managed at run time (/v1/organization/providers). */
  providers: RuntimeProviders;
  authThrottle: FailureThrottle;
  /** Audits admin keys' uses, coalesced (one per server, for every route that takes an admin key). */
  adminKeyUse: AdminKeyUseAudit;
}
