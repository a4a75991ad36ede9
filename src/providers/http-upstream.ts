import { type Dispatcher, Pool, errors as undiciErrors } from 'undici';
import type { ProviderConfig } from '../config/gateway-config.js';
import { TollgateError } from '../core/errors.js';
import { Exchange } from './exchange.js';
import { bufferedBody } from './body.js';
import { matchApiRoute } from '../core/api-routes.js';
import { formFields } from '../core/form-fields.js';
import { CredentialPool, coolDownMs, DEFAULT_REFUSAL_COOL_DOWN_MS, provesCredentialInvalid, refusalScope, refusesCredential, refusesForProject } from '../core/credential-pool.js';
import { providerErrorText } from '../core/provider-error.js';
import { judgeRateLimit } from '../core/rate-limit.js';
import { type AttemptResult, asUpstreamFailure, CONNECT_ERRORS, type CredentialStats, DEPLOYMENT_NAME, isRetryableStatus, readOnEndMs, type Upstream, type UpstreamFormat, UpstreamFailure, type UpstreamRequest, type UpstreamResponse } from '../core/upstream.js';

/** A provider refused one of its credentials (a 401 about the key): it is disabled until the next start. */
export interface CredentialFailure {
  provider: string;
  /** The credential's id: the name of the variable that holds it, never the key. */
  credential: string;
  status: number;
}

/**
 * A provider refused one of its credentials a kind of request it let another credential through for (a 401 or 403),
 * or said its account is out of quota (a 429 `insufficient_quota`).
 */
export interface CredentialSetAside extends CredentialFailure {
  /**
   * What it is set aside for: refusalScope (method, route and model) for a refusal, the rest of its requests going on
   * as before; `*` for quota (every request), `* <project>` when the request was made in a mapped provider project.
   */
  scope: string;
  /** For how long. */
  forMs: number;
}

export interface HttpUpstreamOptions {
  /** The injected wall clock (ms): cool-downs and the provider's reset times. */
  clock: () => number;
  /** Randomness for the weighted pick (Math.random unless a test fixes it). */
  random?: () => number;
  /** Told once per credential the provider refuses (the audit entry and webhook are the caller's). */
  onCredentialFailed?: (failure: CredentialFailure) => void;
  /** Told when a credential is set aside for one kind of request (a log line is the caller's). */
  onCredentialSetAside?: (setAside: CredentialSetAside) => void;
  /**
   * Told once per credential the provider says is invalid (provesCredentialInvalid) where no other credential was let
   * through to witness it (a provider's only key, or all its keys refused alike): it stays in use, and is told again
   * only after it served a request since (or in a new upstream: a rotation, a reload).
   */
  onCredentialInvalid?: (failure: CredentialFailure) => void;
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
 * Azure OpenAI's endpoints with no deployment in their path that run a model: the body's `model` is the deployment
 * (the Responses API's v1 and preview paths).
 */
const AZURE_BODY_DEPLOYMENT_PATHS = new Set(['/responses', '/responses/compact', '/responses/input_tokens']);

/** A JSON body with its top-level `model` (`model` now) replaced by `to`, or null when it has no such member. */
function withBodyModel(body: Buffer, model: string, to: string): Buffer | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || (parsed as { model?: unknown }).model !== model) return null;
  return Buffer.from(JSON.stringify({ ...(parsed as Record<string, unknown>), model: to }));
}

/** Azure OpenAI's and Azure AI Foundry's host names. */
const AZURE_HOSTS = /\.(?:openai\.azure\.com|cognitiveservices\.azure\.com|services\.ai\.azure\.com)\.?$/i;

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
  readonly modelsIgnoreCase: boolean;
  private readonly pool: Pool;
  private readonly basePath: string;
  /** The deployments configured models map to (Azure): reached by the model's name only. */
  private readonly deploymentNames: ReadonlySet<string>;
  private readonly authHeaders: Record<string, string>;
  /** Tollgate project → the provider's project (`OpenAI-Project`), or null when none is mapped. */
  private readonly projects: Map<string, string> | null;
  /** Several credentials: each attempt picks one (null for one credential or none: the headers above are it). */
  private readonly credentialPool: CredentialPool<ProviderConfig['credentials'][number]> | null;
  /** Each pooled credential's counters, by credential id (none for a provider with one key: see credentialStats). */
  private readonly counters = new Map<string, Counters>();
  /** Credentials reported invalid with no witness (onCredentialInvalid), until one serves a request. */
  private readonly invalid = new Set<string>();
  /** Each credential's headers (configured headers and its key), by credential id. */
  private readonly credentialHeaders = new Map<string, Record<string, string>>();
  /** Sends that may still dispatch another attempt (a pool of keys, retries): the pool is closed only after them. */
  private sending = 0;
  /** Set once close() was asked: the pool's closing, started when no send is under way. */
  private closing: { done: Promise<void>; start: () => void } | null = null;
  /** Set once abort() destroyed the pool. */
  private destroyed: Promise<void> | null = null;

  constructor(
    private readonly cfg: ProviderConfig,
    private readonly opts: HttpUpstreamOptions,
  ) {
    this.name = cfg.name;
    this.format = cfg.kind === 'anthropic' ? 'anthropic' : 'openai';
    const deployed = Object.keys(cfg.deployments);
    this.models = cfg.models ?? (deployed.length > 0 ? deployed : null);
    // Lower-cased: a front end may match deployment names without regard to case.
    this.deploymentNames = new Set(Object.values(cfg.deployments).map((d) => d.toLowerCase()));
    this.totalTimeoutMs = cfg.timeouts.totalMs;
    this.credential = cfg.credentials.length === 1 ? cfg.credentials[0].id : null;
    const url = new URL(cfg.baseUrl);
    // Azure resolves a deployment name (the model) without regard to case: its deployment URLs (azure-openai), and
    // its v1 API (`{resource}.openai.azure.com/openai/v1`) as an OpenAI-compatible provider, whose model is one too.
    this.modelsIgnoreCase = cfg.kind === 'azure-openai' || (cfg.kind === 'openai' && AZURE_HOSTS.test(url.hostname));
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
      for (const c of cfg.credentials) this.counters.set(c.id, { attempts: { ok: 0, rate_limited: 0, refused: 0, server_error: 0, unreachable: 0 }, coolDowns: 0, setAsides: 0 });
    }
    const mapped = Object.entries(cfg.projects);
    this.projects = mapped.length > 0 ? new Map(mapped) : null;
  }

  send(req: UpstreamRequest): Promise<UpstreamResponse> {
    // A model call the gateway may read on past its deadline: the pool's idle-body timeout (total_ms) is put at the
    // read-on's end, and so is a late answer's first byte below (core/upstream.ts readsOn).
    const readOnEnd = req.readsOn === true ? readOnEndMs(this.cfg.timeouts.totalMs) : undefined;
    const onLate = req.onLate;
    if (!onLate) return this.sendWithin(req, undefined, readOnEnd);
    // Waited for past the first-byte timeout, up to the request's deadline (its signal; total_ms backs it here): the
    // caller is told when the first byte is late, instead of the request being aborted (core/upstream.ts, onLate).
    const timer = setTimeout(onLate, this.cfg.timeouts.firstByteMs);
    timer.unref();
    const sent = this.sendWithin(req, readOnEnd ?? this.cfg.timeouts.totalMs, readOnEnd);
    const stop = () => clearTimeout(timer);
    sent.then(stop, stop);
    return sent;
  }

  /** send, with `headersTimeout` and `bodyTimeout` for this request in place of the pool's when given. */
  private sendWithin(req: UpstreamRequest, headersTimeout: number | undefined, bodyTimeout: number | undefined): Promise<UpstreamResponse> {
    if (req.credential !== undefined) {
      const refused = this.pinRefusal(req.credential);
      if (refused) return Promise.reject(refused);
    }
    let search = req.search;
    const headers = req.headers;
    // No coding asked for (RFC 9110 §12.5.3: without Accept-Encoding any coding is acceptable): every reader of the
    // answer (usage, JSON, events) and its relay take plain bytes. One coded all the same is decoded (content-coding.ts).
    // A client's own Accept-Encoding is not forwarded (forward-headers.ts); a provider's configured headers come after.
    headers['accept-encoding'] = 'identity';
    let path = req.path;
    let body = req.body;
    if (this.format === 'anthropic') {
      // The client's version is passed through; one that sent none (an OpenAI client, translated) gets the configured one.
      if (!headers['anthropic-version']) headers['anthropic-version'] = this.cfg.apiVersion as string;
      // Anthropic lists 20 models a page unless asked for more.
      if (req.method === 'GET' && path === '/models' && !search) search = '?limit=1000';
    } else if (this.cfg.apiVersion) {
      // The configured version is the one run: a client's own, in any spelling an upstream may read as it, is taken
      // only when it is that one (Azure's SDKs send theirs); another was sent on and chose the API surface itself, a
      // preview or Azure's v1 API, whose streams were not asked for usage (found by an outside review).
      // Read as core/form-fields.ts reads a model in a query string: a name another reader may take for it (any case,
      // percent-encoded, `;`-split) is refused with the rest.
      const sent = search.length > 1 ? formFields(search.slice(1), 'api-version') : { ok: true as const, fields: [] };
      if (sent.ok && sent.fields.length === 0) search += `${search ? '&' : '?'}api-version=${encodeURIComponent(this.cfg.apiVersion)}`;
      else if (!sent.ok || sent.fields.length > 1 || sent.fields[0].value !== this.cfg.apiVersion) {
        return Promise.reject(
          new TollgateError('invalid_value', `This gateway's provider '${this.name}' runs api-version ${this.cfg.apiVersion}: send that one, or none.`, 'api-version'),
        );
      }
    }
    if (this.cfg.kind === 'azure-openai') {
      // Azure runs the deployment its URL names, whatever the body's model: a path naming one itself
      // (`/v1/deployments/{d}/chat/completions`) went past the model's allowlist, limits and price, and a stream there
      // was not asked for its usage (found by a review). Tollgate addresses models by name only.
      if (/^\/deployments(?:\/|$)/i.test(path)) {
        return Promise.reject(new TollgateError('unknown_url', `Invalid URL (${req.method} /v1${path.slice(0, 256)}): name the model in the request instead.`));
      }
      // A deployment a configured model maps to is reached by that model's name only: named itself, it went past the
      // model's limits and was billed as an unpriced model.
      if (req.model && !Object.hasOwn(this.cfg.deployments, req.model) && this.deploymentNames.has(req.model.toLowerCase())) {
        return Promise.reject(new TollgateError('model_not_found', `The model '${req.model.slice(0, 256)}' does not exist or you do not have access to it.`, 'model'));
      }
      const deployment = req.model ? (this.cfg.deployments[req.model] ?? req.model) : null;
      const deployed = deployment !== null && AZURE_DEPLOYMENT_PATHS.has(path);
      // A path segment of its own, so only what a deployment can be named (core/upstream.ts DEPLOYMENT_NAME): `.` and
      // `..`, which encodeURIComponent leaves as they are, would name another path of the provider's once its front
      // end resolves them (`/openai/deployments/../chat/completions`), and an encoded `/` one that decodes it.
      if (deployed && !DEPLOYMENT_NAME.test(deployment)) {
        return Promise.reject(new TollgateError('model_not_found', `The model '${String(req.model).slice(0, 256)}' does not exist or you do not have access to it.`, 'model'));
      }
      path = deployed ? `/openai/deployments/${encodeURIComponent(deployment)}${path}` : `/openai${path}`;
      // A path without a deployment in it runs the deployment the body's model names: a mapped model is sent as its
      // deployment there (sent as named, it was Azure's DeploymentNotFound, or another deployment so named).
      if (!deployed && deployment !== null && deployment !== req.model && AZURE_BODY_DEPLOYMENT_PATHS.has(req.path) && body !== null) {
        const sent = withBodyModel(body, req.model as string, deployment);
        if (sent === null) {
          return Promise.reject(new TollgateError('invalid_value', `The model '${String(req.model).slice(0, 256)}' must be named once, as the JSON body's 'model', for this provider.`, 'model'));
        }
        body = sent;
      }
    }
    const project = this.projects && req.project ? (this.projects.get(req.project) ?? null) : null;
    if (this.credentialPool) {
      // What a refusal of this request would be about: the model on the endpoint, by the endpoint's template.
      const scope = refusalScope(req.method, matchApiRoute(req.path)?.template ?? req.path.slice(0, 256), req.model);
      const base: Dispatcher.DispatchOptions = { method: req.method as 'GET', path: this.basePath + path + search, headers, body: body ?? undefined };
      if (headersTimeout !== undefined) base.headersTimeout = headersTimeout;
      if (bodyTimeout !== undefined) base.bodyTimeout = bodyTimeout;
      return this.tracked(this.sendPooled(this.credentialPool, base, project, req.signal, scope, req.model ?? null, req.abandoned, req.credential));
    }
    for (const name in this.authHeaders) headers[name] = this.authHeaders[name];
    if (project) headers['openai-project'] = project;
    const options: Dispatcher.DispatchOptions = { method: req.method as 'GET', path: this.basePath + path + search, headers, body: body ?? undefined };
    if (headersTimeout !== undefined) options.headersTimeout = headersTimeout;
    if (bodyTimeout !== undefined) options.bodyTimeout = bodyTimeout;
    const attempts = req.method === 'GET' || req.method === 'HEAD' ? 1 + this.cfg.retries : 1;
    // One attempt (every non-idempotent call, and the default): the exchange's own promise, no retry loop around it.
    const sole = this.credential;
    // A provider's only key has its answer judged (a 401 read, any other passed on synchronously), in the same `then`
    // that maps a failure: one promise per request, not a chain.
    const answered = sole === null ? undefined : (res: UpstreamResponse) => (res.statusCode === 401 ? this.judgeSole(res, sole) : this.passSole(res, sole));
    if (attempts === 1) return this.attempt(options, req.signal).then(answered, (err: unknown) => Promise.reject(toFailure(err, this.name)));
    const sent = this.tracked(this.withRetries(options, req.signal, attempts, req.abandoned));
    return answered ? sent.then(answered) : sent;
  }

  /**
   * Why a request pinned to credential `id` (the one whose account holds the objects it names) cannot be sent here, or
   * null: one disabled after the provider refused it is a 503 until it is back (a restart, a rotation). One cooling
   * down or set aside is sent all the same (sendPooled). A credential this provider does not hold (removed from it, or
   * the request routed to another provider) pins nothing: the request is sent as an unpinned one is, by weight. An
   * operator replacing a provider key with a new one of the same account (the usual rotation, under another variable's
   * name or as another runtime credential) keeps every object reachable; where the account differs, the provider's own
   * 404 says so. The client is not told the credential's name.
   */
  private pinRefusal(id: string): TollgateError | null {
    if (this.credentialPool?.isDisabled(id)) {
      return new TollgateError(
        'upstream_unavailable',
        `The objects this request names are held by the account of a provider key of '${this.name}' that the provider refused, and that Tollgate has set aside; no other key's account holds them. The operator has been told.`,
      );
    }
    return null;
  }

  /** An answer of a provider's only key that is not a 401: one let through ends the report's state (the key works). */
  private passSole(res: UpstreamResponse, id: string): UpstreamResponse {
    if (res.statusCode < 400 && this.invalid.size > 0) this.invalid.delete(id);
    return res;
  }

  /**
   * The answer of a provider's only key: a 401 is read to see whether the provider says the key is invalid
   * (provesCredentialInvalid), reported once (no other key can witness it, and a 401 a request brought about does not
   * say so); the answer goes to the client as it is.
   */
  private async judgeSole(res: UpstreamResponse, id: string): Promise<UpstreamResponse> {
    const text = await this.readRefusal(res);
    // Judged once while it stays invalid, and on no more of a (hostile) answer than a provider's error can be.
    if (!this.invalid.has(id) && provesCredentialInvalid(401, providerErrorText(text))) this.reportInvalid(id, 401);
    return { ...res, body: bufferedBody([text]) };
  }

  /** A refused answer's body, read whole to be judged and then relayed; a broken read is this upstream's failure. */
  private async readRefusal(res: UpstreamResponse): Promise<Buffer> {
    try {
      return await res.body.readAll();
    } catch (err) {
      throw toFailure(err, this.name);
    }
  }

  /** Reports a credential the provider says is invalid with no witness (onCredentialInvalid): once while it stays so. */
  private reportInvalid(id: string, status: number): void {
    if (this.invalid.has(id)) return;
    this.invalid.add(id);
    this.opts.onCredentialInvalid?.({ provider: this.name, credential: id, status });
  }

  /**
   * Counts a send that may dispatch more than one attempt until it settles. A provider changed at run time gets a new
   * upstream and the old one is closed; undici refuses new dispatches on a closing pool, so a request under way there
   * would fail at its next key (a 429 on the first: a 502 instead of the answer of the second).
   */
  private tracked<T>(sent: Promise<T>): Promise<T> {
    this.sending++;
    const done = () => {
      if (--this.sending === 0) this.closing?.start();
    };
    sent.then(done, done);
    return sent;
  }

  private attempt(options: Dispatcher.DispatchOptions, signal: UpstreamRequest['signal']): Promise<UpstreamResponse> {
    const exchange = new Exchange(signal, this.name);
    this.pool.dispatch(options, exchange);
    return exchange.response;
  }

  private async withRetries(options: Dispatcher.DispatchOptions, signal: UpstreamRequest['signal'], attempts: number, abandoned?: () => boolean): Promise<UpstreamResponse> {
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      try {
        return await this.attempt(options, signal);
      } catch (err) {
        lastError = err;
        if (signal.aborted || abandoned?.() === true) break;
      }
    }
    throw toFailure(lastError, this.name);
  }

  /**
   * One request over a pool of credentials: each attempt with a credential picked by weight among the usable ones; a
   * 429 is judged (judgeRateLimit): one the request may have brought on alone is answered as it is (no key cooled, no
   * other tried), one of the key's limit cools it down for this model (`model`) for as long as the provider says, one
   * of its account's quota sets it aside for every request (of this provider `project`); a 401 about the credential disables it (and is
   * reported) when another credential is then let through, a 403 or a 401 about permissions sets it aside for this
   * kind of request (`scope`) when another credential is let through (see below), and a 429 (but the request's own),
   * a 401/403, a 502/503/529 or a failure to connect moves on to another credential while attempts remain: each says
   * the request did not run. A 500, a reset or a timeout may have run it, and is answered as it is. Nothing
   * has reached the client yet: the gateway sees only the answer returned here. The request's signal (the client
   * gone, its deadline) stops the attempts.
   */
  private async sendPooled(
    pool: NonNullable<HttpUpstream['credentialPool']>,
    base: Dispatcher.DispatchOptions,
    project: string | null,
    signal: UpstreamRequest['signal'],
    scope: string,
    model: string | null,
    abandoned?: () => boolean,
    pinnedId?: string,
  ): Promise<UpstreamResponse> {
    // No further credential once the request's signal aborts or nobody waits for its answer (UpstreamRequest.abandoned).
    const stopped = (): boolean => signal.aborted || abandoned?.() === true;
    // A request pinned to a credential (the account holding the objects it names: UpstreamRequest.credential) is sent
    // with it whatever its cool-downs and set-asides, once: another key's account would answer 404.
    const pinned = pinnedId === undefined ? null : (pool.credentials.find((c) => c.id === pinnedId) ?? null);
    const pick = (tried: Set<string>) => (pinned === null ? pool.pick(tried, scope, model, project) : tried.size === 0 ? pinned : null);
    const more = (tried: Set<string>) => pinned === null && pool.hasUsable(tried, scope, model, project);
    const tried = new Set<string>();
    let lastError: unknown = null;
    /** Whether a credential answered (its answer then passed over for another credential). */
    let answered = false;
    // Credentials that got a 403 (or a 401 about permissions) on this request: refused this kind of request only if
    // another credential of the provider is then let through (refusesCredential).
    let suspects: Array<{ id: string; status: number }> | null = null;
    // Credentials that got a 401 refusing the key: disabled only if another credential is then let through, since the
    // client chose the request (its path, query and body) and a provider may answer such a 401 to every key for it.
    // `proven`: the provider said the key is invalid (provesCredentialInvalid), reported even with no witness.
    let refused: Array<{ id: string; status: number; proven: boolean }> | null = null;
    for (let attempt = 0; attempt < this.cfg.maxAttempts; attempt++) {
      const credential = pick(tried);
      if (!credential) break;
      tried.add(credential.id);
      const counter = this.counters.get(credential.id) as Counters;
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
        if (stopped() || !CONNECT_ERRORS.has(code ?? '')) throw toFailure(err, this.name);
        continue;
      }
      res.credential = credential.id;
      answered = true;
      const status = res.statusCode;
      counter.attempts[status === 429 ? 'rate_limited' : status === 401 || status === 403 ? 'refused' : status >= 500 ? 'server_error' : 'ok']++;
      if (status === 401 || status === 403) {
        // Read to tell a refusal of the key from a refusal of the request (refusesCredential). A clear refusal of the
        // key disables it once another key is let through for the same request (when every key is refused, the
        // request may be what the provider refuses: nothing is disabled, and the 502 is logged); an ambiguous one (a
        // 403, a 401 about permissions) makes the key a suspect, and the request moves on: if another key of the provider is let through, the suspects may not make this kind of
        // request (a key restricted to fewer models or scopes than its siblings) and are set aside for it alone, for
        // the provider's refusal cool-down; if every key is refused alike, the request was, and its answer is returned
        // with no key set aside (a client asking for what the provider refuses to every key cannot take keys away).
        const text = await this.readRefusal(res);
        const said = providerErrorText(text);
        if (project !== null && refusesForProject(status, said)) this.setAsideForQuota(pool, credential.id, project, status);
        else if (refusesCredential(status, said)) {
          refused ??= [];
          refused.push({ id: credential.id, status, proven: provesCredentialInvalid(status, said) });
        } else {
          suspects ??= [];
          suspects.push({ id: credential.id, status });
        }
        if (attempt + 1 >= this.cfg.maxAttempts || !more(tried) || stopped()) {
          // No key let through to witness the refusals: those the provider says are invalid are reported (kept in use).
          if (refused !== null) for (const r of refused) if (r.proven && !pool.isDisabled(r.id)) this.reportInvalid(r.id, r.status);
          return { ...res, body: bufferedBody([text]) };
        }
        continue;
      }
      if (status === 429) {
        // Read to judge what it is about (rate-limit.ts). A 429 the request may have brought on alone (larger than the
        // limit, a long-context request) is the answer: every key would say the same, and none is cooled for it, so
        // that no client can take a provider's keys away by asking for too much. Earlier keys' refusals stay unjudged.
        const text = await this.readRefusal(res);
        const verdict = judgeRateLimit(res.headers, providerErrorText(text), (base.body as Buffer | undefined) ?? null, model);
        const answer: UpstreamResponse = { ...res, body: bufferedBody([text]), rateLimit: verdict };
        if (verdict === 'request') return answer;
        if (verdict === 'quota') this.setAsideForQuota(pool, credential.id, project);
        else {
          pool.coolDownFor(credential.id, model, scope, coolDownMs(res.headers, this.opts.clock()));
          counter.coolDowns++;
        }
        if (attempt + 1 >= this.cfg.maxAttempts || !more(tried) || stopped()) return answer;
        continue;
      }
      if (status < 500) {
        // Let through: the refusals before were of those keys, not of the request.
        if (refused !== null) for (const r of refused) this.disableCredential(pool, r.id, r.status);
        if (suspects !== null) for (const s of suspects) this.setAside(pool, s.id, s.status, scope);
        refused = null;
        suspects = null;
      }
      if (status < 400) {
        pool.servedFor(credential.id, scope, model, project);
        if (this.invalid.size > 0) this.invalid.delete(credential.id);
      }
      if (!isRetryableStatus(status)) return res;
      if (attempt + 1 >= this.cfg.maxAttempts || !more(tried) || stopped()) return res;
      // Moving on: this answer is read and dropped, so its connection goes back to the pool. Its client may have left
      // while it was read: no other key then (the body reads again, the same bytes, as the answer).
      await res.body.readAll().catch(() => undefined);
      if (stopped()) return res;
    }
    const failure = toFailure(lastError ?? new UpstreamFailure('unreachable', `No credential of the upstream provider '${this.name}' could be used.`, true), this.name);
    // A credential answered before (a 502 passed over for the next key): the request reached the provider.
    throw answered && !failure.reached ? new UpstreamFailure(failure.kind, failure.message, failure.notSent, true) : failure;
  }

  /**
   * Disables a credential the provider refused, and reports it (once: a credential already disabled is not). One
   * reported invalid with no witness before leaves that state (the gauge's "kept in use"): it is out of use now.
   */
  private disableCredential(pool: NonNullable<HttpUpstream['credentialPool']>, id: string, status: number): void {
    if (!pool.disable(id)) return;
    if (this.invalid.size > 0) this.invalid.delete(id);
    this.opts.onCredentialFailed?.({ provider: this.name, credential: id, status });
  }

  /** Sets a credential aside for one kind of request, and reports it (once while it lasts). */
  private setAside(pool: NonNullable<HttpUpstream['credentialPool']>, id: string, status: number, scope: string): void {
    const forMs = this.cfg.refusalCoolDownMs ?? DEFAULT_REFUSAL_COOL_DOWN_MS;
    if (!pool.setAsideFor(id, scope, forMs)) return;
    (this.counters.get(id) as Counters).setAsides++;
    this.opts.onCredentialSetAside?.({ provider: this.name, credential: id, status, scope, forMs });
  }

  /**
   * Sets a credential aside for every request (of the provider project) for the refusal cool-down: its account is out
   * of quota, which clears when someone pays, not in seconds. Reported as a set-aside (once while it lasts).
   */
  private setAsideForQuota(pool: NonNullable<HttpUpstream['credentialPool']>, id: string, project: string | null, status = 429): void {
    const forMs = this.cfg.refusalCoolDownMs ?? DEFAULT_REFUSAL_COOL_DOWN_MS;
    if (!pool.setAsideForQuota(id, project, forMs)) return;
    (this.counters.get(id) as Counters).setAsides++;
    this.opts.onCredentialSetAside?.({ provider: this.name, credential: id, status, scope: project === null ? '*' : `* ${project}`, forMs });
  }

  /**
   * Each pooled credential's counters and whether it is usable now (disabled, or out of quota: not; cooling down for
   * a model or set aside for a kind of request still is: it serves the rest); empty for a
   * provider with one key, whose requests /metrics counts by the credential that answered.
   */
  credentialStats(): CredentialStats[] {
    const pool = this.credentialPool;
    if (!pool) return [];
    return [...this.counters].map(([credential, c]) => ({
      credential,
      attempts: { ...c.attempts },
      coolDowns: c.coolDowns,
      setAsides: c.setAsides,
      usable: !pool.isDisabled(credential) && !pool.isOutOfQuota(credential),
    }));
  }

  /** The credentials reported invalid with no witness and not let through since (for /metrics). */
  invalidCredentials(): string[] {
    return [...this.invalid];
  }

  /** Closes the pool once the sends under way are done (undici then waits for the answers being read). */
  close(): Promise<void> {
    if (this.destroyed) return this.destroyed;
    if (!this.closing) {
      let start!: () => void;
      const started = new Promise<void>((resolve) => {
        start = resolve;
      });
      this.closing = { done: started.then(() => this.destroyed ?? this.pool.close()), start };
      if (this.sending === 0) start();
    }
    return this.closing.done;
  }

  /** Destroys the pool: every exchange under way fails at once (as a reset), and a close waiting for them ends. */
  abort(): void {
    this.destroyed ??= this.pool.destroy().catch(() => {});
    this.closing?.start();
  }
}

interface Counters {
  attempts: Record<AttemptResult, number>;
  coolDowns: number;
  /** Times the credential was set aside for a kind of request (a model on an endpoint). */
  setAsides: number;
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
