// A circuit breaker per upstream provider (issue 20 §3): after `failures` consecutive failures it opens and no request
// is sent there for `coolOffMs`; then it is half-open and lets one request through as a probe: its success closes the
// breaker, its failure opens it again for another cool-off. A probe that never reports (its client went away) frees
// the half-open state after another cool-off. Time is passed in; nothing here knows of HTTP.

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
    this.current = 'closed';
  }

  /** The provider failed (no connection, a timeout, a 5xx); true when this opened the breaker. */
  failed(): boolean {
    this.consecutive++;
    if (this.current === 'half_open' || (this.current === 'closed' && this.consecutive >= this.opts.failures)) {
      this.current = 'open';
      this.since = this.now();
      return true;
    }
    return false;
  }

  /** Milliseconds until a probe may be sent (0 when closed or when one may go now). */
  retryInMs(): number {
    if (this.current === 'closed') return 0;
    return Math.max(0, this.opts.coolOffMs - (this.now() - this.since));
  }
}
