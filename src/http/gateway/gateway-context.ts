import type { GatewayConfig } from '../../config/gateway-config.js';
import type { RoutingTable } from '../../core/routing.js';
import type { Upstream } from '../../core/upstream.js';
import type { AnomalyDetector } from '../../services/anomaly.js';
import type { UsageRecorder } from '../../services/usage-recorder.js';
import type { AppContext } from '../context.js';
import type { RequestGuard } from '../../core/request-guard.js';
import type { DetachedReads } from './detached-reads.js';
import type { LiveRequests } from './live-requests.js';
import type { GatewayObjects } from './ownership.js';

/** What the data plane needs, assembled in server.ts. */
export interface GatewayContext {
  app: AppContext;
  config: GatewayConfig;
  /** Model routing: the file's routes and those of providers added at run time (absent: the file's alone). */
  routing?: RoutingTable;
  /** The keys of providers added at run time, kept out of answers like the file's (absent: none). */
  runtimeSecrets?: () => readonly string[];
  /** Upstreams by provider name (the file's and those added at run time); the echo model when none is configured. */
  upstreams: Map<string, Upstream>;
  usage: UsageRecorder;
  /** TOLLGATE_CLIENT_STALL_TIMEOUT_MS: a client that takes no bytes of its answer for this long is cut (client-stall.ts); 0 never. */
  clientStallTimeoutMs: number;
  guard: RequestGuard;
  /** Counters for requests refused before reaching a model (never billed). */
  refusals: Map<string, number>;
  newEventId(): string;
  /** Observers for metrics (no-ops when not wired). */
  observe?: { upstream(provider: string, credential: string, seconds: number, outcome: string): void };
  /** The operator's log, for what only the operator can act on (a provider refusing its credentials). */
  log?: Pick<import('pino').Logger, 'error' | 'warn'>;
  /** Anomaly signals (new network, unusual rate). */
  anomaly?: AnomalyDetector;
  /** Which project owns each upstream object (absent: objects are not isolated, as in unit tests of other parts). */
  objects?: GatewayObjects;
  /** Upstream requests read on after their client stopped waiting, which a shutdown lets finish (absent: not tracked). */
  detached?: DetachedReads;
  /** Requests under way by key, cut when their key stops verifying (absent: not tracked). */
  live?: LiveRequests;
}
