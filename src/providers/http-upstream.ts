import { type Dispatcher, Pool, errors as undiciErrors } from 'undici';
import type { ProviderConfig } from '../config/gateway-config.js';
import { Exchange } from './exchange.js';
import { asUpstreamFailure, type Upstream, type UpstreamFormat, UpstreamFailure, type UpstreamRequest, type UpstreamResponse } from '../core/upstream.js';

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
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly authHeaders: Record<string, string>;
  /** Tollgate project → the provider's project (`OpenAI-Project`), or null when none is mapped. */
  private readonly projects: Map<string, string> | null;

  constructor(private readonly cfg: ProviderConfig) {
    this.name = cfg.name;
    this.format = cfg.kind === 'anthropic' ? 'anthropic' : 'openai';
    const deployed = Object.keys(cfg.deployments);
    this.models = cfg.models ?? (deployed.length > 0 ? deployed : null);
    this.totalTimeoutMs = cfg.timeouts.totalMs;
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
    const auth: Record<string, string> = {};
    if (cfg.apiKey && cfg.auth === 'bearer') auth.authorization = `Bearer ${cfg.apiKey}`;
    if (cfg.apiKey && cfg.auth === 'api-key') auth['api-key'] = cfg.apiKey;
    if (cfg.apiKey && cfg.auth === 'x-api-key') auth['x-api-key'] = cfg.apiKey;
    // Lower-case names, so a mapped OpenAI-Project replaces a configured one instead of going out beside it.
    const configured: Record<string, string> = {};
    for (const [name, value] of Object.entries(cfg.headers)) configured[name.toLowerCase()] = value;
    this.authHeaders = { ...configured, ...auth };
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
    for (const name in this.authHeaders) headers[name] = this.authHeaders[name];
    if (this.projects && req.project) {
      const project = this.projects.get(req.project);
      if (project) headers['openai-project'] = project;
    }
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

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** Maps undici's errors to the three failures the gateway reports. */
export function toFailure(err: unknown, provider: string): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err;
  const e = err as { code?: string; name?: string; message?: string };
  if (e instanceof undiciErrors.HeadersTimeoutError || e instanceof undiciErrors.BodyTimeoutError || e?.code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new UpstreamFailure('timeout', `The upstream provider '${provider}' did not answer in time (${e.code ?? e.name}).`);
  }
  return asUpstreamFailure(err, provider);
}
