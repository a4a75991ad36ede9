import { type BreakerOptions, type BreakerState, CircuitBreaker } from '../core/circuit-breaker.js';
import { type CredentialStats, type Upstream, UpstreamFailure, type UpstreamRequest, type UpstreamResponse } from '../core/upstream.js';

/** Told when a provider's breaker opens (logs, metrics). */
export type BreakerOpened = (provider: string) => void;

/**
 * An upstream behind its circuit breaker (issue 20 §3): while the breaker is open a request is not sent and fails
 * `unavailable` (nothing sent, so a route's fallback takes it, else the client gets 503 upstream_unavailable). A
 * failure is no connection, a timeout, or a 5xx answer (after the provider's own credentials were tried); any other
 * answer is a success. A request the client or its deadline aborted says nothing of the provider.
 */
export class BreakerUpstream implements Upstream {
  readonly name: string;
  readonly format: Upstream['format'];
  readonly models: string[] | null;
  readonly totalTimeoutMs: number;
  readonly credential: string | null;
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
    this.breaker = new CircuitBreaker(opts, now);
  }

  send(req: UpstreamRequest): Promise<UpstreamResponse> {
    if (!this.breaker.allow()) {
      const s = Math.ceil(this.breaker.retryInMs() / 1000);
      return Promise.reject(new UpstreamFailure('unavailable', `The upstream provider '${this.name}' is failing and is not being sent requests for now (next try in ${s} s).`, true));
    }
    return this.inner.send(req).then(this.answered, this.failedToAnswer);
  }

  // Bound once: no closure per request.
  private readonly answered = (res: UpstreamResponse): UpstreamResponse => {
    if (res.statusCode >= 500) this.fail();
    else this.breaker.succeeded();
    return res;
  };

  /** An aborted request (its client gone, its deadline) says nothing of the provider. */
  private readonly failedToAnswer = (err: unknown): never => {
    if (!(err instanceof UpstreamFailure && err.kind === 'aborted')) this.fail();
    throw err;
  };

  private fail(): void {
    if (this.breaker.failed()) {
      this.opened++;
      this.onOpened?.(this.name);
    }
  }

  credentialStats(): CredentialStats[] {
    return this.inner.credentialStats?.() ?? [];
  }

  circuit(): { state: BreakerState; opened: number } {
    return { state: this.breaker.state, opened: this.opened };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
