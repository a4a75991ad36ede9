import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config/config.js';
import type { ProviderConfig } from './config/gateway-config.js';
import { uuidV7Source } from './core/ids.js';
import type { LimitStore } from './core/limit-store.js';
import type { AppContext } from './http/context.js';
import type { GatewayContext } from './http/gateway/gateway-context.js';
import { SHUTDOWN_ABORT_MS } from './config/shutdown.js';
import { MemoryLimitStore } from './infra/memory-limit-store.js';
import { OwnerCache } from './infra/owner-cache.js';
import { UsageDeadLetters } from './infra/usage-dead-letter.js';
import { UsageWal } from './infra/usage-wal.js';
import { EchoUpstream } from './providers/echo.js';
import { BreakerUpstream } from './providers/breaker-upstream.js';
import { type CredentialSetAside, HttpUpstream } from './providers/http-upstream.js';
import { loadTokenizer } from './core/tokenizer.js';
import type { Upstream } from './core/upstream.js';
import type { Runtime } from './runtime.js';
import { AnomalyDetector } from './services/anomaly.js';
import { announceCredentialFailure, type ProviderCredentialFailure, reportCredentialFailure, reportCredentialSetAside, SetAsideReports } from './services/provider-credentials.js';
import { BudgetAlertRaiser } from './services/budget-alerts.js';
import { LimitsGuard } from './services/limits-guard.js';
import { ProviderDirectory } from './provider-directory.js';
import { DetachedReads } from './http/gateway/detached-reads.js';
import { LiveRequests } from './http/gateway/live-requests.js';
import { PolicyCache } from './services/policy-cache.js';
import { loadOwners } from './services/upstream-objects.js';
import { UsageRecorder } from './services/usage-recorder.js';
import { UsageRetention } from './services/usage-retention.js';

/** Builds the data plane: upstream pools (or the echo model), the usage recorder, limits and budgets. */
export async function createGateway(
  config: Config,
  runtime: Runtime,
  app: AppContext,
  logger: Logger,
  observe?: GatewayContext['observe'],
): Promise<GatewayContext & { limitStore: LimitStore; retention: UsageRetention; directory: ProviderDirectory }> {
  const gatewayConfig = config.gateway;
  const upstreams = new Map<string, Upstream>();
  const reportFailed = (err: unknown) => logger.error({ err: String(err) }, 'provider credential report failed');
  /** `refusedSecret`: the key the provider refused (to tell it from the key a runtime credential holds now). */
  const onCredentialFailed = (failure: ProviderCredentialFailure, refusedSecret: string | null) => {
    if (!failure.credential.startsWith('pcred_') || refusedSecret === null) {
      logger.error(failure, 'PROVIDER REFUSED ONE OF ITS CREDENTIALS: disabled until the next start; check that key');
      reportCredentialFailure(runtime.deps, app.webhooks, runtime.org.id, failure).catch(reportFailed);
      return;
    }
    // A runtime credential is disabled in storage too: the API shows it, and every instance stops using it. Unless
    // it was rotated since this request took its key: the refusal was of the old key, and the new one stays.
    app.providers
      .markRefused(runtime.org.id, failure, refusedSecret, (trx) => announceCredentialFailure(app.webhooks, runtime.org.id, failure, trx))
      .then((marked) => {
        if (marked === 'rotated') {
          logger.warn(failure, 'provider refused the key a runtime credential held before it was rotated: the rotated key stays in use');
          return;
        }
        if (marked === 'not_active') {
          // Disabled already (by another instance, or by hand) or deleted: reported once, by whoever disabled it.
          logger.warn(failure, 'provider refused a runtime credential that is no longer active');
          return;
        }
        logger.error(failure, 'PROVIDER REFUSED ONE OF ITS CREDENTIALS: disabled; check that key, then rotate or enable it');
        app.webhooks.kick();
      })
      .catch((err) => logger.error({ err: String(err) }, 'provider credential could not be marked disabled'));
  };
  // A provider's only key (or every key, refused alike) the provider says is invalid: reported, not disabled, since no
  // other key was let through to show the request was not what the provider refused. Each instance reports it once
  // until the key serves a request again (http-upstream.ts), as each reports a file's refused credential.
  // `sentSecret`: the key the request sent, as in onCredentialFailed: a runtime credential rotated (or disabled, deleted)
  // while that request was under way is not reported, since the key the provider called invalid is no longer in use.
  const onCredentialInvalid = (failure: ProviderCredentialFailure, sentSecret: string | null) => {
    const report = () => {
      logger.error(failure, 'PROVIDER SAYS A CREDENTIAL IS INVALID and no other credential served the request: still in use, its requests fail; rotate that key');
      return reportCredentialFailure(runtime.deps, app.webhooks, runtime.org.id, { ...failure, disabled: false });
    };
    if (!failure.credential.startsWith('pcred_') || sentSecret === null) {
      report().catch(reportFailed);
      return;
    }
    app.providers
      .holdsKey(runtime.org.id, failure.credential, sentSecret)
      .then((holds) => {
        if (holds) return report();
        logger.warn(failure, 'provider said the key a runtime credential held before it was rotated (or disabled, deleted) is invalid: not reported');
      })
      .catch(reportFailed);
  };
  const setAsideReports = new SetAsideReports(runtime.deps.clock, (e, unreported) => reportCredentialSetAside(runtime.deps, app.webhooks, runtime.org.id, e, unreported));
  const onCredentialSetAside = (e: CredentialSetAside) => {
    if (e.status === 429) logger.warn(e, 'provider says a credential is out of quota (insufficient_quota): skipped for every request for forMs; check its billing');
    else logger.warn(e, 'provider refused a credential one model that another credential serves: skipped for that model on that endpoint for forMs, still used for the rest');
    setAsideReports.add(e)?.catch((err) => logger.error({ err: String(err) }, 'provider credential set-aside report failed'));
  };
  const onBreakerOpened = (provider: string) => logger.warn({ provider }, 'upstream provider failing: circuit breaker open, requests go to fallbacks or get 503 until a probe succeeds');
  const build = (p: ProviderConfig): Upstream => {
    const secrets = new Map(p.credentials.map((c) => [c.id, c.apiKey]));
    const http = new HttpUpstream(p, { clock: runtime.deps.clock, onCredentialFailed: (f) => onCredentialFailed(f, secrets.get(f.credential) ?? null), onCredentialSetAside, onCredentialInvalid: (f) => onCredentialInvalid(f, secrets.get(f.credential) ?? null) });
    return p.circuitBreaker ? new BreakerUpstream(http, p.circuitBreaker, runtime.deps.clock, onBreakerOpened) : http;
  };
  for (const p of gatewayConfig.providers) upstreams.set(p.name, build(p));
  if (upstreams.size === 0) {
    upstreams.set('echo', new EchoUpstream(runtime.deps.clock));
    // The echo model counts every token: load the tokenizer now rather than on the first request.
    void loadTokenizer();
  }
  // Providers added at run time join the map and the routes; loaded before serving (server.ts), then on each change.
  const directory = new ProviderDirectory(gatewayConfig, upstreams, { load: () => app.providers.load(runtime.org.id), build, log: logger });
  runtime.caches.add(directory);
  app.providers.onWritten(() => directory.refresh());
  const anomaly = new AnomalyDetector(runtime.deps, app.webhooks, runtime.usageSink, {
    ...config.anomaly,
    onError: (err) => logger.warn({ err: String(err) }, 'anomaly signal failed'),
  });
  const onUsageError = (err: unknown) => logger.warn({ err: String(err) }, 'usage flush failed; events kept and retried');
  const usage = new UsageRecorder(runtime.usageSink, {
    flushIntervalMs: config.usageFlushMs,
    groupMs: config.usageGroupMs,
    maxInMemory: config.usageMaxInMemory,
    spillFile: join(config.dataDir, 'usage-spill.jsonl'),
    log: new UsageWal(join(config.dataDir, 'wal'), (err) =>
      logger.error({ err: String(err) }, 'usage write-ahead log append failed: events are still written to the database, but a crash now can lose them (said once until an append succeeds)'),
    ),
    onError: onUsageError,
    onLateLost: (err, events) => logger.error({ err: String(err), events }, 'usage events recorded after the shutdown flush could not be put in the usage log: lost'),
    onSpillError: (err, events) =>
      logger.error(
        { err: String(err), events, max_in_memory: config.usageMaxInMemory },
        'usage spill to disk failed: events held in memory past TOLLGATE_USAGE_MAX_IN_MEMORY until the database takes them; unready until a spill succeeds',
      ),
    deadLetter: {
      file: new UsageDeadLetters(join(config.dataDir, USAGE_DEAD_LETTER_FILE)),
      clock: runtime.deps.clock,
      onSetAside: (e) =>
        logger.error(
          { event_id: e.id, error: e.error, error_code: e.error_code, salvaged: e.salvaged, file: USAGE_DEAD_LETTER_FILE },
          e.salvaged
            ? 'usage event refused by the database: written with its text quoted, the original set aside in the dead-letter file'
            : 'usage event refused by the database: set aside in the dead-letter file, not counted',
        ),
    },
  });
  const retention = new UsageRetention(runtime.usageSink, {
    days: config.usageRetentionDays,
    clock: runtime.deps.clock,
    onError: (err) => logger.warn({ err: String(err) }, 'usage retention pass failed; retried at the next'),
    onPass: (deleted, before) => logger.info({ deleted, before: new Date(before).toISOString() }, 'usage retention: raw usage events deleted (rollups kept)'),
  });
  const policies = new PolicyCache(runtime.deps);
  runtime.caches.add(policies);
  const localStore = new MemoryLimitStore();
  // ioredis (~2 MB of heap once loaded) is loaded only when Redis is configured.
  const limitStore: LimitStore = config.redisUrl ? new (await import('./infra/redis-limit-store.js')).RedisLimitStore(config.redisUrl) : localStore;
  let lastStoreWarning = 0;
  const alerts = new BudgetAlertRaiser(runtime.deps, app.webhooks);
  const guard = new LimitsGuard(runtime.deps, policies, {
    store: limitStore,
    localStore,
    rateLimitFailure: config.rateLimitFailure,
    budgetFailure: config.budgetFailure,
    defaultMaxOutputTokens: config.defaultMaxTokens,
    onAlert: (alert) => {
      alerts.raise(alert).catch((err) => logger.error({ err: String(err) }, 'budget alert failed; raised again by the next request that reaches it'));
    },
    writeRecordedUsage: () => usage.flush(),
    onStoreError: (err, mode) => {
      const now = runtime.deps.clock();
      if (now - lastStoreWarning > 5000) {
        lastStoreWarning = now;
        logger.error({ err: String(err), mode }, mode === 'open' ? 'LIMIT STORE UNAVAILABLE: serving with local counters (fail-open)' : 'LIMIT STORE UNAVAILABLE: refusing requests (fail-closed)');
      }
    },
  });
  const nextEventId = uuidV7Source(runtime.deps.clock, runtime.deps.randomBytes);
  const owners = new OwnerCache((ids) => loadOwners(runtime.deps, ids), { max: OWNER_CACHE_SIZE, unownedTtlMs: 5000, clock: runtime.deps.clock });
  runtime.caches.add(owners);
  // After the key cache (runtime.ts): a request's key is checked again against the changed record, not the cached one.
  const live = new LiveRequests();
  runtime.caches.add(live);
  return Object.freeze({
    app,
    anomaly,
    observe,
    config: gatewayConfig,
    routing: directory,
    runtimeSecrets: () => directory.secrets(),
    directory,
    upstreams,
    usage,
    clientStallTimeoutMs: config.clientStallTimeoutMs,
    guard,
    refusals: new Map(),
    log: logger,
    // Time-ordered (UUIDv7): the usage table's primary key grows at its end instead of at random pages.
    newEventId: () => `evt_${nextEventId()}`,
    limitStore,
    retention,
    detached: new DetachedReads(),
    live,
    objects: { owners, onError: (err: unknown, message: string) => logger.error({ err: String(err) }, message) },
  });
}

/** The file (in the data dir) of usage events the database refused for their data (infra/usage-dead-letter.ts). */
export const USAGE_DEAD_LETTER_FILE = 'usage-dead-letter.jsonl';

/** Object owners kept in memory (an entry is an id and a project: ~200 bytes). */
const OWNER_CACHE_SIZE = 100_000;

/**
 * Stops the data plane: the retention; the upstream requests read on after their client left, given up to `graceMs`
 * to finish and be billed, then aborted (a model call read on past its deadline is billed its bound then); every
 * request under way given until `settleMs` past the grace to be metered (those whose connections the shutdown cut end
 * then: their metering awaits their relay's end, and the tokenizer); the sends still under way then aborted, so that
 * their requests end (unbilled) and give back their reservations; flush usage (or spill it to disk), close upstream
 * pools, let the settles land, and close the limit store.
 */
export async function closeGateway(
  g: GatewayContext & { limitStore?: LimitStore; retention?: UsageRetention },
  graceMs = 0,
  settleMs = 0,
  abortMs = SHUTDOWN_ABORT_MS,
): Promise<void> {
  const settleEnds = performance.now() + graceMs + settleMs;
  await g.retention?.stop();
  const abandoned = (await g.detached?.drain(graceMs)) ?? 0;
  if (abandoned > 0) {
    g.log?.warn({ abandoned }, 'shutting down: answers still awaited after their client left were abandoned: billed nothing, or a model call read on past its total_ms its bound');
  }
  // Stopped before they were metered, the recorder took their events after its last flush: a stream cut at the end
  // of the grace, answered 200, went unbilled (found by a durability review).
  const unmetered = (await g.live?.settled(Math.max(0, settleEnds - performance.now()))) ?? 0;
  if (unmetered > 0) {
    // A request still waiting for a whole answer (up to total_ms, 10 minutes by default) or its first byte held the
    // pool's close, and the shutdown was forced at grace + 8 s (exit 1, the data dir's lock left, its reservation kept:
    // found by a review). Its send is aborted: it fails as a reset would, unbilled, and settles.
    for (const u of g.upstreams.values()) u.abort?.();
    const left = (await g.live?.settled(abortMs)) ?? 0;
    g.log?.warn(
      { unmetered, abandoned: unmetered - left, still_unmetered: left },
      'shutting down: requests still under way after their connections were cut; those still waiting on their provider were abandoned (their sends aborted, unbilled); one metered before the process exits is put in the usage log for the next start',
    );
  }
  await g.usage.stop();
  await Promise.all([...g.upstreams.values()].map((u) => u.close().catch(() => {})));
  // Settles sent to a shared store land before it closes (its close gives back what this instance still holds).
  const unlanded = (await g.guard?.landed?.(abortMs)) ?? 0;
  if (unlanded > 0) g.log?.warn({ unlanded }, 'shutting down: settles of the limit store did not land; their reservations are given back with the rest this instance holds');
  await g.limitStore?.close();
}
