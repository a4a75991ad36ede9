import { type GatewayConfig, type ProviderConfig, runtimeProviderConfig } from './config/gateway-config.js';
import type { KeyChangeListener } from './core/ports.js';
import type { RoutingTable } from './core/routing.js';
import { type Upstream, UpstreamFailure } from './core/upstream.js';
import type { RuntimeProviderRecord } from './services/runtime-providers.js';

type Route = RoutingTable['routes'][number];

/**
 * The gateway's in-memory view of the providers added at run time (issue 20 §3), beside the config file's: their
 * upstreams in the gateway's map, their models and prefixes in the routing table, their keys among the secrets kept
 * out of answers. The request path reads it and never waits for the database: a change (this instance's write, the
 * change feed, another instance through Redis) reloads it in the background. A provider whose settings and keys did
 * not change keeps its upstream (its pool, cool-downs and breaker); one that changed gets a new one, and the old one
 * is closed once its requests finish.
 */
export class ProviderDirectory implements KeyChangeListener, RoutingTable {
  private allRoutes: readonly Route[];
  private secretList: readonly string[] = [];
  /** The keys of the runtime providers in the upstream map. */
  private currentSecrets: readonly string[] = [];
  /**
   * The keys of upstreams replaced or removed, until they are closed: a request under way there (sent with a key since
   * rotated, disabled or deleted) may be answered with its key quoted, and that answer must not carry it either.
   */
  private readonly retiring = new Map<Upstream, readonly string[]>();
  /** Runtime providers in the upstream map, by name: the config their upstream was built from (JSON), and its keys. */
  private readonly built = new Map<string, { signature: string; keys: readonly string[] }>();
  /** Credentials already reported as unreadable (reported once, not at each reload). */
  private readonly reported = new Set<string>();
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly base: GatewayConfig,
    private readonly upstreams: Map<string, Upstream>,
    private readonly opts: {
      load: () => Promise<RuntimeProviderRecord[]>;
      build: (cfg: ProviderConfig) => Upstream;
      log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
    },
  ) {
    this.allRoutes = base.routes;
  }

  get routes(): RoutingTable['routes'] {
    return this.allRoutes;
  }

  get aliases(): RoutingTable['aliases'] {
    return this.base.aliases;
  }

  get defaultProvider(): string | null {
    return this.base.defaultProvider;
  }

  /** The runtime providers' keys (and those of upstreams not yet closed), to keep them out of answers and logs. */
  secrets(): readonly string[] {
    return this.secretList;
  }

  keyChanged(): void {}

  projectChanged(): void {}

  providerChanged(): void {
    void this.refresh();
  }

  everythingChanged(): void {
    void this.refresh();
  }

  /** Reloads from storage; changes arriving meanwhile are folded into one more reload. Never rejects. */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = async () => {
      do {
        this.again = false;
        try {
          this.apply(await this.opts.load());
        } catch (err) {
          this.opts.log.warn({ err: String(err) }, 'runtime providers could not be loaded; kept as they were, retried at the next change');
        }
      } while (this.again);
    };
    this.running = run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private apply(records: RuntimeProviderRecord[]): void {
    const configNames = new Set(this.base.providers.map((p) => p.name.toLowerCase()));
    const routes: Route[] = [];
    const secrets: string[] = [];
    const seen = new Set<string>();
    for (const r of records) {
      for (const id of r.unreadable) {
        if (this.reported.has(id)) continue;
        this.reported.add(id);
        this.opts.log.error(
          { provider: r.name, provider_id: r.id, credential: id },
          'PROVIDER CREDENTIAL CANNOT BE DECRYPTED (stored under another TOLLGATE_SECRET, or altered): not used; rotate it or restore the secret',
        );
      }
      // The config file wins a name it took after the runtime provider was added (the API refuses such a name).
      if (configNames.has(r.name.toLowerCase()) || this.upstreamIsForeign(r.name)) {
        if (!this.reported.has(`name:${r.name}`)) {
          this.reported.add(`name:${r.name}`);
          this.opts.log.warn({ provider: r.name, provider_id: r.id }, 'runtime provider not used: the configuration file has a provider of that name');
        }
        continue;
      }
      seen.add(r.name);
      const cfg = runtimeProviderConfig(r, this.base.timeouts);
      // Keys stored but none usable (all disabled, or unreadable): refused, never sent without a key. None stored at
      // all: a server that takes no key (Ollama, vLLM).
      const unusable = r.credentials.length === 0 && r.stored > 0;
      const signature = JSON.stringify({ cfg, unusable });
      const previous = this.built.get(r.name);
      if (previous?.signature !== signature) {
        const old = this.upstreams.get(r.name);
        const upstream = this.opts.build(cfg);
        this.upstreams.set(r.name, unusable ? withoutUsableKey(upstream) : upstream);
        this.built.set(r.name, { signature, keys: cfg.credentials.map((c) => c.apiKey) });
        this.retire(old, previous?.keys ?? []);
      }
      for (const m of r.models) routes.push({ pattern: m, provider: r.name, runtime: true });
      for (const p of r.modelPrefixes) routes.push({ pattern: `${p}*`, provider: r.name, runtime: true });
      for (const c of r.credentials) secrets.push(c.apiKey);
    }
    for (const name of [...this.built.keys()]) {
      if (seen.has(name)) continue;
      const old = this.upstreams.get(name);
      const keys = this.built.get(name)?.keys ?? [];
      this.upstreams.delete(name);
      this.built.delete(name);
      this.retire(old, keys);
    }
    // The file's routes first: a model the file routes stays where the file sends it.
    this.allRoutes = routes.length > 0 ? [...this.base.routes, ...routes] : this.base.routes;
    this.currentSecrets = secrets;
    this.listSecrets();
  }

  private listSecrets(): void {
    this.secretList = this.retiring.size === 0 ? this.currentSecrets : [...this.currentSecrets, ...[...this.retiring.values()].flat()];
  }

  /**
   * Closes a replaced upstream once the requests that took it are done (its own close waits for those sending), keeping
   * its keys out of answers until a little after that: an answer is written after its body was read.
   */
  private retire(old: Upstream | undefined, keys: readonly string[]): void {
    if (!old) return;
    if (keys.length > 0) {
      this.retiring.set(old, keys);
      this.listSecrets();
    }
    const forget = () => {
      const timer = setTimeout(() => {
        if (this.retiring.delete(old)) this.listSecrets();
      }, RETIRED_KEYS_KEPT_MS);
      timer.unref?.();
    };
    const timer = setTimeout(() => void old.close().catch(() => {}).finally(forget), RETIRE_AFTER_MS);
    timer.unref?.();
  }

  /** Whether an upstream of this name is in the map and not one of ours (the config file's, or the echo model). */
  private upstreamIsForeign(name: string): boolean {
    return this.upstreams.has(name) && !this.built.has(name);
  }
}

/**
 * How long a replaced upstream stays open before it is closed: a request takes its upstream before it is admitted
 * (which may wait on Redis or the database), and one that took the old upstream just before the change sends there.
 */
const RETIRE_AFTER_MS = 10_000;

/** How long the keys of a closed upstream are still kept out of answers (those of its last requests). */
const RETIRED_KEYS_KEPT_MS = 60_000;

/**
 * A runtime provider whose stored keys are all disabled or cannot be decrypted: each request is answered 503
 * upstream_unavailable (nothing sent, so a route's fallback takes it) instead of reaching the provider without a key,
 * whose 401 the client would read as its own key refused.
 */
function withoutUsableKey(u: Upstream): Upstream {
  return {
    name: u.name,
    format: u.format,
    models: u.models,
    totalTimeoutMs: u.totalTimeoutMs,
    credential: null,
    send: () =>
      Promise.reject(new UpstreamFailure('unavailable', `The upstream provider '${u.name}' has no usable key: each of its keys is disabled or cannot be decrypted.`, true)),
    close: () => u.close(),
  };
}
