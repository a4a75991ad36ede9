import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { TollgateError } from '../core/errors.js';
import { ATTEMPT_RESULTS } from '../core/upstream.js';
import type { AppContext } from './context.js';
import { FastHistogram } from './fast-histogram.js';
import type { GatewayContext } from './gateway/gateway-context.js';

/** The metrics a server exports, in its own registry (several servers can share a process in tests). */
export interface Metrics {
  registry: Registry;
  /** Time to the upstream's answer headers, by provider, credential (its id, never the key) and outcome. */
  upstream: FastHistogram;
  /** Request latency by route, method and status (Fastify's routes and the gateway's listener alike). */
  http: FastHistogram;
}

/** Creates the registry and the collectors read at scrape time (cache, queue, refusals, webhooks). */
export function createMetrics(ctx: AppContext, g: () => GatewayContext | null): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tollgate_process_' });
  // Observed on every gateway request: FastHistogram, not prom-client's Histogram (see fast-histogram.ts).
  const upstream = new FastHistogram(
    'tollgate_upstream_duration_seconds',
    'Time to the upstream answer headers',
    ['provider', 'credential', 'outcome'],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  );
  const http = new FastHistogram(
    'tollgate_http_request_duration_seconds',
    'Request latency by route and status',
    ['route', 'method', 'status'],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  );
  registry.registerMetric(upstream as never);
  registry.registerMetric(http as never);
  new Gauge({
    name: 'tollgate_key_cache_entries',
    help: 'Key records cached',
    registers: [registry],
    collect() {
      this.set(ctx.keyCache.size);
    },
  });
  new Counter({
    name: 'tollgate_key_cache_lookups_total',
    help: 'Key cache lookups by result',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: 'hit' }, ctx.keyCache.stats.hits);
      this.inc({ result: 'miss' }, ctx.keyCache.stats.misses);
    },
  });
  new Gauge({
    name: 'tollgate_usage_queue_depth',
    help: 'Usage events waiting to be written',
    registers: [registry],
    collect() {
      this.set(g()?.usage.pending ?? 0);
    },
  });
  new Counter({
    name: 'tollgate_usage_events_total',
    help: 'Usage events by fate: recorded, written, spilled to disk, spill_failed (could not be spilled: held in memory), replayed from disk, dead_lettered (refused by the database, set aside), salvaged (of those, written with their text quoted)',
    labelNames: ['fate'],
    registers: [registry],
    collect() {
      this.reset();
      const s = g()?.usage.stats;
      if (!s) return;
      this.inc({ fate: 'recorded' }, s.recorded);
      this.inc({ fate: 'written' }, s.written);
      this.inc({ fate: 'spilled' }, s.spilled);
      this.inc({ fate: 'spill_failed' }, s.spillFailed);
      this.inc({ fate: 'replayed' }, s.replayed);
      this.inc({ fate: 'dead_lettered' }, s.deadLettered);
      this.inc({ fate: 'salvaged' }, s.salvaged);
    },
  });
  new Gauge({
    name: 'tollgate_usage_dead_letter_events',
    help: 'Usage events in the dead-letter file: refused by the database for their data, set aside (see docs/metering.md)',
    registers: [registry],
    collect() {
      this.set(g()?.usage.deadLetters?.count ?? 0);
    },
  });
  new Counter({
    name: 'tollgate_usage_flush_failures_total',
    help: 'Usage batches that could not be written (kept and retried)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(g()?.usage.stats.failedFlushes ?? 0);
    },
  });
  new Counter({
    name: 'tollgate_refused_requests_total',
    help: 'Gateway requests refused before reaching a model (never billed), by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of g()?.refusals ?? []) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: 'tollgate_webhook_deliveries_total',
    help: 'Webhook deliveries by result',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      const s = ctx.webhooks.stats;
      this.inc({ result: 'delivered' }, s.delivered);
      this.inc({ result: 'failed' }, s.failed);
      this.inc({ result: 'retried' }, s.retried);
    },
  });
  new Counter({
    name: 'tollgate_provider_credential_attempts_total',
    help: "Attempts sent with each credential of a provider with several, by result (a failed one moved on to another credential); by the credential's id (its variable's name), never the key",
    labelNames: ['provider', 'credential', 'result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const u of g()?.upstreams.values() ?? []) {
        for (const c of u.credentialStats?.() ?? []) for (const result of ATTEMPT_RESULTS) this.inc({ provider: u.name, credential: c.credential, result }, c.attempts[result]);
      }
    },
  });
  new Counter({
    name: 'tollgate_provider_credential_cool_downs_total',
    help: 'Times a credential was cooled down after the provider answered 429',
    labelNames: ['provider', 'credential'],
    registers: [registry],
    collect() {
      this.reset();
      for (const u of g()?.upstreams.values() ?? []) for (const c of u.credentialStats?.() ?? []) this.inc({ provider: u.name, credential: c.credential }, c.coolDowns);
    },
  });
  new Counter({
    name: 'tollgate_provider_credential_set_asides_total',
    help: 'Times a credential was set aside for one model on one endpoint: refused it (403, or 401 about permissions) where another credential was let through',
    labelNames: ['provider', 'credential'],
    registers: [registry],
    collect() {
      this.reset();
      for (const u of g()?.upstreams.values() ?? []) for (const c of u.credentialStats?.() ?? []) this.inc({ provider: u.name, credential: c.credential }, c.setAsides);
    },
  });
  new Gauge({
    name: 'tollgate_provider_credential_usable',
    help: 'Whether a credential is usable now (0: cooling down or disabled)',
    labelNames: ['provider', 'credential'],
    registers: [registry],
    collect() {
      this.reset();
      for (const u of g()?.upstreams.values() ?? []) for (const c of u.credentialStats?.() ?? []) this.set({ provider: u.name, credential: c.credential }, c.usable ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tollgate_provider_credential_invalid',
    help: 'Whether the provider said a credential is invalid (a 401 invalid_api_key or the like) with no other credential let through since: kept in use, reported once; rotate it',
    labelNames: ['provider', 'credential'],
    registers: [registry],
    collect() {
      this.reset();
      for (const u of g()?.upstreams.values() ?? []) for (const id of u.invalidCredentials?.() ?? []) this.set({ provider: u.name, credential: id }, 1);
    },
  });
  new Gauge({
    name: 'tollgate_provider_circuit_open',
    help: "Whether a provider's circuit breaker is open (1), half-open (0.5) or closed (0)",
    labelNames: ['provider'],
    registers: [registry],
    collect() {
      this.reset();
      for (const u of g()?.upstreams.values() ?? []) {
        const c = u.circuit?.();
        if (c) this.set({ provider: u.name }, c.state === 'open' ? 1 : c.state === 'half_open' ? 0.5 : 0);
      }
    },
  });
  new Counter({
    name: 'tollgate_provider_circuit_opened_total',
    help: "Times a provider's circuit breaker opened",
    labelNames: ['provider'],
    registers: [registry],
    collect() {
      this.reset();
      for (const u of g()?.upstreams.values() ?? []) {
        const c = u.circuit?.();
        if (c) this.inc({ provider: u.name }, c.opened);
      }
    },
  });
  return { registry, upstream, http };
}

/** Request counts and latencies by route and status, and GET /metrics (bearer token when TOLLGATE_METRICS_TOKEN is set). */
export function registerMetrics(app: FastifyInstance, ctx: AppContext, metrics: Metrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.http.observe(reply.elapsedTime / 1000, route, request.method, reply.statusCode);
    done();
  });
  const token = ctx.config.metricsToken;
  app.get('/metrics', async (request, reply) => {
    if (token) {
      const given = Buffer.from(String(request.headers.authorization ?? ''));
      const want = Buffer.from(`Bearer ${token}`);
      if (given.length !== want.length || !timingSafeEqual(given, want)) throw new TollgateError('invalid_api_key', 'A valid metrics token is required.');
    }
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
