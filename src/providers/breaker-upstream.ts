import { type BreakerOptions, type BreakerPass, type BreakerState, CircuitBreaker } from '../core/circuit-breaker.js';
import { TollgateError } from '../core/errors.js';
import { type CredentialStats, type Upstream, UpstreamFailure, type UpstreamRequest, type UpstreamResponse } from '../core/upstream.js';

/** Told when a provider's breaker opens (logs, metrics). */
export type BreakerOpened = (provider: string) => void;

/**
 * An upstream behind its circuit breaker (issue 20 §3): while the breaker is open a request is not sent and fails
 * `unavailable` (nothing sent, so a route's fallback takes it, else the client gets 503 upstream_unavailable). Judged
 * when the answer's headers arrive (after the provider's own credentials were tried):
 * - the provider's health, counted whoever sent the request: no connection (refused, unresolved, a connect timeout),
 *   a reset before an answer, 502, 503, 529;
 * - maybe the request's own doing, counted once per client (its API key) in a run of failures: a first-byte timeout
 *   (a long generation not streamed has no headers until it is done), a 504 (the provider's own such timeout), a 500
 *   or any other 5xx;
 * - nothing: a request its client or its deadline aborted, or one refused before it was sent (a TollgateError);
 * - an answer, closing the breaker: anything else, a 4xx (429 included) too.
 * Each is judged by the state it was sent in (CircuitBreaker's passes): while half-open only the probe's outcome counts.
 */
export class BreakerUpstream implements Upstream {
  readonly name: string;
  readonly format: Upstream['format'];
  readonly models: string[] | null;
  readonly totalTimeoutMs: number;
  readonly credential: string | null;
  readonly modelsIgnoreCase?: boolean;
  readonly breaker: CircuitBreaker;
  private opened = 0;

  constructor(
    private readonly inner: Upstream,
    opts: BreakerOptions,
    now: () => number,
    private readonly onOpened?: BreakerOpened,
  ) {
    this.name = inner.name;
    this.format = inner.format;
    this.models = inner.models;
    this.totalTimeoutMs = inner.totalTimeoutMs;
    this.credential = inner.credential;
    this.modelsIgnoreCase = inner.modelsIgnoreCase;
    this.breaker = new CircuitBreaker(opts, now);
  }

  send(req: UpstreamRequest): Promise<UpstreamResponse> {
    const pass = this.breaker.allow();
    if (pass === null) {
      const s = Math.ceil(this.breaker.retryInMs() / 1000);
      return Promise.reject(new UpstreamFailure('unavailable', `The upstream provider '${this.name}' is failing and is not being sent requests for now (next try in ${s} s).`, true));
    }
    // Requests the gateway makes of its own (listing models) count as one client.
    const client = req.client ?? '';
    // A first byte that is late is counted as the first-byte timeout it used to end in (once per client); the answer
    // that comes after all is judged as any other.
    const onLate = req.onLate;
    if (onLate) {
      req = {
        ...req,
        onLate: () => {
          this.count(this.breaker.failedFor(pass, client));
          onLate();
        },
      };
    }
    return this.inner.send(req).then(
      (res) => this.answered(res, pass, client),
      (err: unknown) => this.failedToAnswer(err, pass, client),
    );
  }

  private answered(res: UpstreamResponse, pass: BreakerPass, client: string): UpstreamResponse {
    const s = res.statusCode;
    if (s < 500) this.breaker.succeeded(pass);
    else if (s === 502 || s === 503 || s === 529) this.count(this.breaker.failed(pass));
    else this.count(this.breaker.failedFor(pass, client));
    return res;
  }

  private failedToAnswer(err: unknown, pass: BreakerPass, client: string): never {
    const failure = err instanceof UpstreamFailure ? err : null;
    // Refused before anything was sent, for what the request asks (a model no deployment can be named): nothing about
    // the provider's health, and never a way for a client to open the breaker on everyone.
    if (failure?.kind === 'aborted' || err instanceof TollgateError) this.breaker.inconclusive(pass);
    // A timeout before connecting is the provider's; one waiting for the answer may be the request's own length.
    else if (failure?.kind === 'timeout' && !failure.notSent) this.count(this.breaker.failedFor(pass, client));
    else this.count(this.breaker.failed(pass));
    throw err;
  }

  /** Counts an opening (for /metrics) and tells of it. */
  private count(opened: boolean): void {
    if (opened) {
      this.opened++;
      this.onOpened?.(this.name);
    }
  }

  credentialStats(): CredentialStats[] {
    return this.inner.credentialStats?.() ?? [];
  }

  invalidCredentials(): string[] {
    return this.inner.invalidCredentials?.() ?? [];
  }

  circuit(): { state: BreakerState; opened: number } {
    return { state: this.breaker.state, opened: this.opened };
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  abort(): void {
    this.inner.abort?.();
  }
}
