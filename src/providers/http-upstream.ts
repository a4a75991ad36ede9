import { type Dispatcher, Pool, errors as undiciErrors } from 'undici';
import type { ProviderConfig } from '../config/gateway-config.js';
import { Exchange } from './exchange.js';
import { bufferedBody } from './body.js';
import { CredentialPool, coolDownMs, refusesCredential } from '../core/credential-pool.js';
import { type AttemptResult, asUpstreamFailure, CONNECT_ERRORS, type CredentialStats, isRetryableStatus, type Upstream, type UpstreamFormat, UpstreamFailure, type UpstreamRequest, type UpstreamResponse } from '../core/upstream.js';

/** A provider refused one of its credentials (401/403): it is disabled until the next start. */
export interface CredentialFailure {
  provider: string;
  /** The credential's id: the name of the variable that holds it, never the key. */
  credential: string;
  status: number;
}

export interface HttpUpstreamOptions {
  /** The injected wall clock (ms): cool-downs and the provider's reset times. */
  clock: () => number;
  /** Randomness for the weighted pick (Math.random unless a test fixes it). */
  random?: () => number;
  /** Told once per credential the provider refuses (the audit entry and webhook are the caller's). */
  onCredentialFailed?: (failure: CredentialFailure) => void;
}


/** Azure OpenAI's endpoints that are addressed through a deployment (`/openai/deployments/{deployment}/…`). */
const AZURE_DEPLOYMENT_PATHS = new Set([
  '/chat/completions',
  '/completions',
  '/embeddings',
  '/images/generations',
  '/images/edits',
  '/audio/speech',
  '/audio/transcriptions',
  '/audio/translations',
]);

/**
 * An HTTP upstream over one keep-alive undici Pool, driven through its dispatcher callbacks (see Exchange; measured:
 * the global fetch() costs 4–6× more CPU per request, undici's request() ~1.5×). Timeouts: connect, first byte
 * (headers) and total; an aborted client aborts the request. Only idempotent methods are retried, and only when the
 * provider config asks for retries. By kind: `openai` (OpenAI-compatible: the key as a bearer token), `azure-openai`
 * (deployment URLs, `api-key`, `api-version`), `anthropic` (`x-api-key`, and `anthropic-version` when the client sent
 * none).
 */
export class HttpUpstream implements Upstream {
  readonly name: string;
  readonly format: UpstreamFormat;
  readonly models: string[] | null;
  readonly totalTimeoutMs: number;
  readonly credential: string | null;
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly authHeaders: Record<string, string>;
  /** Tollgate project → the provider's project (`OpenAI-Project`), or null when none is mapped. */
  private readonly projects: Map<string, string> | null;
  /** Several credentials: each attempt picks one (null for one credential or none: the headers above are it). */
  private readonly credentialPool: CredentialPool<ProviderConfig['credentials'][number]> | null;
  /** Each pooled credential's counters, by credential id (none for a provider with one key: see credentialStats). */
  private readonly counters = new Map<string, { attempts: Record<AttemptResult, number>; coolDowns: number }>();
  /** Each credential's headers (configured headers and its key), by credential id. */
  private readonly credentialHeaders = new Map<string, Record<string, string>>();

  constructor(
    private readonly cfg: ProviderConfig,
    private readonly opts: HttpUpstreamOptions,
  ) {
    this.name = cfg.name;
    this.format = cfg.kind === 'anthropic' ? 'anthropic' : 'openai';
    const deployed = Object.keys(cfg.deployments);
    this.models = cfg.models ?? (deployed.length > 0 ? deployed : null);
    this.totalTimeoutMs = cfg.timeouts.totalMs;
    this.credential = cfg.credentials.length === 1 ? cfg.credentials[0].id : null;
    const url = new URL(cfg.baseUrl);
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.pool = new Pool(url.origin, {
      connections: cfg.connections,
      pipelining: 1,
      connectTimeout: cfg.timeouts.connectMs,
      headersTimeout: cfg.timeouts.firstByteMs,
      bodyTimeout: cfg.timeouts.totalMs,
      keepAliveTimeout: 30_000,
    });
    const auth = (key: string | null): Record<string, string> => {
      if (!key) return {};
      if (cfg.auth === 'bearer') return { authorization: `Bearer ${key}` };
      if (cfg.auth === 'api-key') return { 'api-key': key };
      if (cfg.auth === 'x-api-key') return { 'x-api-key': key };
      return {};
    };
    // Lower-case names, so a mapped OpenAI-Project replaces a configured one instead of going out beside it.
    const configured: Record<string, string> = {};
    for (const [name, value] of Object.entries(cfg.headers)) configured[name.toLowerCase()] = value;
    this.authHeaders = { ...configured, ...auth(cfg.apiKey) };
    for (const c of cfg.credentials) this.credentialHeaders.set(c.id, { ...configured, ...auth(c.apiKey) });
    this.credentialPool = cfg.credentials.length > 1 ? new CredentialPool(cfg.credentials, opts.clock, opts.random ?? Math.random) : null;
    if (this.credentialPool) {
      for (const c of cfg.credentials) this.counters.set(c.id, { attempts: { ok: 0, rate_limited: 0, refused: 0, server_error: 0, unreachable: 0 }, coolDowns: 0 });
    }
    const mapped = Object.entries(cfg.projects);
    this.projects = mapped.length > 0 ? new Map(mapped) : null;
  }

  send(req: UpstreamRequest): Promise<UpstreamResponse> {
    let search = req.search;
    const headers = req.headers;
    let path = req.path;
    if (this.format === 'anthropic') {
      // The client's version is passed through; one that sent none (an OpenAI client, translated) gets the configured one.
      if (!headers['anthropic-version']) headers['anthropic-version'] = this.cfg.apiVersion as string;
      // Anthropic lists 20 models a page unless asked for more.
      if (req.method === 'GET' && path === '/models' && !search) search = '?limit=1000';
    } else if (this.cfg.apiVersion && !/[?&]api-version=/.test(search)) {
      search += `${search ? '&' : '?'}api-version=${encodeURIComponent(this.cfg.apiVersion)}`;
    }
    if (this.cfg.kind === 'azure-openai') {
      const deployment = req.model ? (this.cfg.deployments[req.model] ?? req.model) : null;
      path = deployment && AZURE_DEPLOYMENT_PATHS.has(path) ? `/openai/deployments/${encodeURIComponent(deployment)}${path}` : `/openai${path}`;
    }
    const project = this.projects && req.project ? (this.projects.get(req.project) ?? null) : null;
    if (this.credentialPool) {
      return this.sendPooled(this.credentialPool, { method: req.method as 'GET', path: this.basePath + path + search, headers, body: req.body ?? undefined }, project, req.signal);
    }
    for (const name in this.authHeaders) headers[name] = this.authHeaders[name];
    if (project) headers['openai-project'] = project;
    const options = { method: req.method as 'GET', path: this.basePath + path + search, headers, body: req.body ?? undefined };
    const attempts = req.method === 'GET' || req.method === 'HEAD' ? 1 + this.cfg.retries : 1;
    // One attempt (every non-idempotent call, and the default): the exchange's own promise, no retry loop around it.
    if (attempts === 1) return this.attempt(options, req.signal).catch((err: unknown) => Promise.reject(toFailure(err, this.name)));
    return this.withRetries(options, req.signal, attempts);
  }

  private attempt(options: Dispatcher.DispatchOptions, signal: UpstreamRequest['signal']): Promise<UpstreamResponse> {
    const exchange = new Exchange(signal);
    this.pool.dispatch(options, exchange);
    return exchange.response;
  }

  private async withRetries(options: Dispatcher.DispatchOptions, signal: UpstreamRequest['signal'], attempts: number): Promise<UpstreamResponse> {
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      try {
        return await this.attempt(options, signal);
      } catch (err) {
        lastError = err;
        if (signal.aborted) break;
      }
    }
    throw toFailure(lastError, this.name);
  }

  /**
   * One request over a pool of credentials: each attempt with a credential picked by weight among the usable ones; a
   * 429 cools its credential down for as long as the provider says, a 401 or 403 about the credential disables it (and
   * is reported; see below for how it is told from one about the request), and
   * a 429, a 401/403, a 502/503/504 or a failure to connect moves on to another credential while attempts remain:
   * each says the request did not run. A 500, a reset or a timeout may have run it, and is answered as it is. Nothing
   * has reached the client yet: the gateway sees only the answer returned here. The request's signal (the client
   * gone, its deadline) stops the attempts.
   */
  private async sendPooled(
    pool: NonNullable<HttpUpstream['credentialPool']>,
    base: Dispatcher.DispatchOptions,
    project: string | null,
    signal: UpstreamRequest['signal'],
  ): Promise<UpstreamResponse> {
    const tried = new Set<string>();
    let lastError: unknown = null;
    // Credentials that got a 403 (or a 401 about permissions) on this request: refused themselves only if another
    // credential of the provider is then let through (refusesCredential).
    let suspects: Array<{ id: string; status: number }> | null = null;
    for (let attempt = 0; attempt < this.cfg.maxAttempts; attempt++) {
      const credential = pool.pick(tried);
      if (!credential) break;
      tried.add(credential.id);
      const counter = this.counters.get(credential.id) as { attempts: Record<AttemptResult, number>; coolDowns: number };
      // Each attempt its own headers: the upstream may keep the object it was given.
      const headers = { ...(base.headers as Record<string, string>) };
      const own = this.credentialHeaders.get(credential.id) as Record<string, string>;
      for (const name in own) headers[name] = own[name];
      if (project) headers['openai-project'] = project;
      let res: UpstreamResponse;
      try {
        res = await this.attempt({ ...base, headers }, signal);
      } catch (err) {
        lastError = err;
        const code = (err as { code?: string } | null)?.code;
        if (!signal.aborted) counter.attempts.unreachable++;
        if (signal.aborted || !CONNECT_ERRORS.has(code ?? '')) throw toFailure(err, this.name);
        continue;
      }
      res.credential = credential.id;
      const status = res.statusCode;
      counter.attempts[status === 429 ? 'rate_limited' : status === 401 || status === 403 ? 'refused' : status >= 500 ? 'server_error' : 'ok']++;
      if (status === 401 || status === 403) {
        // Read to tell a refusal of the key from a refusal of the request (refusesCredential). A clear refusal of the
        // key disables it at once; an ambiguous one (a 403, a 401 about permissions) makes the key a suspect, and the
        // request moves on: if another key of the provider is let through, the suspects were refused for themselves
        // and are disabled; if every key is refused alike, the request was, and its answer is returned with no key
        // disabled (a client asking for what the provider refuses to every key cannot disable the provider's keys).
        let text: Buffer;
        try {
          text = await res.body.readAll();
        } catch (err) {
          throw toFailure(err, this.name);
        }
        if (refusesCredential(status, text.toString('utf8'))) this.disableCredential(pool, credential.id, status);
        else {
          suspects ??= [];
          suspects.push({ id: credential.id, status });
        }
        if (attempt + 1 >= this.cfg.maxAttempts || !pool.hasUsable(tried) || signal.aborted) return { ...res, body: bufferedBody([text]) };
        continue;
      }
      if (suspects !== null && status !== 429 && status < 500) {
        for (const s of suspects) this.disableCredential(pool, s.id, s.status);
        suspects = null;
      }
      if (status === 429) {
        pool.coolDown(credential.id, coolDownMs(res.headers, this.opts.clock()));
        counter.coolDowns++;
      } else if (!isRetryableStatus(status)) return res;
      if (attempt + 1 >= this.cfg.maxAttempts || !pool.hasUsable(tried) || signal.aborted) return res;
      // Moving on: this answer is read and dropped, so its connection goes back to the pool.
      await res.body.readAll().catch(() => undefined);
    }
    throw toFailure(lastError ?? new UpstreamFailure('unreachable', `No credential of the upstream provider '${this.name}' could be used.`), this.name);
  }

  /** Disables a credential the provider refused, and reports it (once: a credential already disabled is not). */
  private disableCredential(pool: NonNullable<HttpUpstream['credentialPool']>, id: string, status: number): void {
    if (pool.disable(id)) this.opts.onCredentialFailed?.({ provider: this.name, credential: id, status });
  }

  /**
   * Each pooled credential's counters and whether it is usable now (cooling down or disabled: not); empty for a
   * provider with one key, whose requests /metrics counts by the credential that answered.
   */
  credentialStats(): CredentialStats[] {
    const pool = this.credentialPool;
    if (!pool) return [];
    return [...this.counters].map(([credential, c]) => ({
      credential,
      attempts: { ...c.attempts },
      coolDowns: c.coolDowns,
      usable: !pool.isDisabled(credential) && pool.coolingFor(credential) === 0,
    }));
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** Maps undici's errors to the three failures the gateway reports. */
export function toFailure(err: unknown, provider: string): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err;
  const e = err as { code?: string; name?: string; message?: string };
  if (e instanceof undiciErrors.HeadersTimeoutError || e instanceof undiciErrors.BodyTimeoutError || e?.code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new UpstreamFailure('timeout', `The upstream provider '${provider}' did not answer in time (${e.code ?? e.name}).`, e?.code === 'UND_ERR_CONNECT_TIMEOUT');
  }
  return asUpstreamFailure(err, provider);
}
