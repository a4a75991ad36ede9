// A circuit breaker per upstream provider (issue 20 §3): after `failures` consecutive failures it opens and no request
// is sent there for `coolOffMs`; then it is half-open and lets one request through as a probe: its success closes the
// breaker, its failure opens it again for another cool-off. A probe that never reports (its client went away) frees
// the half-open state after another cool-off. Time is passed in; nothing here knows of HTTP.
//
// The breaker is shared by every client of the provider, so one client must not be able to open it alone: a failure
// that may be of the request's own making (a timeout waiting for a long generation, a 500) is `failedFor` its client
// and counts once per client in a run of consecutive failures; with the default of 5, five different clients must see
// such failures, with no answer between, to open it. Such a failure of a probe proves nothing either way: it frees the
// way for the next probe instead of opening the breaker again.

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failures: number;
  /** How long it stays open before a probe is let through, ms. */
  coolOffMs: number;
}

export class CircuitBreaker {
  private consecutive = 0;
  /** When it opened (open) or when its probe left (half-open); meaningless when closed. */
  private since = 0;
  private current: BreakerState = 'closed';
  /** Clients whose own-making failures the current run has counted (at most `failures` of them: then it opens). */
  private readonly clients = new Set<string>();

  constructor(
    private readonly opts: BreakerOptions,
    private readonly now: () => number,
  ) {}

  /** The state as of now (an open breaker whose cool-off is over reads half-open). */
  get state(): BreakerState {
    if (this.current === 'open' && this.now() - this.since >= this.opts.coolOffMs) return 'half_open';
    return this.current;
  }

  /**
   * Whether a request may be sent now. Closed: yes. Open: no until the cool-off is over, then yes once (the probe,
   * which makes it half-open). Half-open: no while the probe is out, unless it has been out a whole cool-off.
   */
  allow(): boolean {
    if (this.current === 'closed') return true;
    const now = this.now();
    if (now - this.since < this.opts.coolOffMs) return false;
    this.current = 'half_open';
    this.since = now;
    return true;
  }

  /** An answer came (anything but a failure of the provider): closes the breaker. */
  succeeded(): void {
    this.consecutive = 0;
    this.clients.clear();
    this.current = 'closed';
  }

  /** The provider failed in a way no client chooses (no connection, a reset, 502/503/529); true when this opened it. */
  failed(): boolean {
    this.consecutive++;
    if (this.current === 'half_open' || (this.current === 'closed' && this.consecutive >= this.opts.failures)) {
      this.current = 'open';
      this.since = this.now();
      return true;
    }
    return false;
  }

  /**
   * A failure `client`'s own request may have caused (a first-byte timeout, a 500, a 504): counted once per client in
   * a run of failures; a probe's frees the way for the next probe. True when this opened the breaker.
   */
  failedFor(client: string): boolean {
    if (this.current !== 'closed') {
      this.inconclusive();
      return false;
    }
    if (this.clients.has(client)) return false;
    this.clients.add(client);
    return this.failed();
  }

  /** A request that said nothing of the provider (its client left): a probe's frees the way for the next probe. */
  inconclusive(): void {
    if (this.current === 'half_open') this.since = this.now() - this.opts.coolOffMs;
  }

  /** Milliseconds until a probe may be sent (0 when closed or when one may go now). */
  retryInMs(): number {
    if (this.current === 'closed') return 0;
    return Math.max(0, this.opts.coolOffMs - (this.now() - this.since));
  }
}
