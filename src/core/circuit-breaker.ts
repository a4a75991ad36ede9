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
//
// Each request let through holds a pass naming the breaker's state it was sent in (`epoch`, which every change of state
// moves on), and reports its outcome with it. Only outcomes of the current state count: a request sent while closed
// that ends once the breaker has opened says nothing of the probe, and one whose client hung up while the probe was out
// freed the half-open state and let a second probe through (found by an outside review). So an open breaker is
// changed only by its probe, and a breaker closed again does not count failures from before it opened.

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failures: number;
  /** How long it stays open before a probe is let through, ms. */
  coolOffMs: number;
}

/** A request let through (CircuitBreaker.allow), by the state it was sent in: handed back with its outcome. */
export interface BreakerPass {
  readonly epoch: number;
}

export class CircuitBreaker {
  private consecutive = 0;
  /** When it opened (open) or when its probe left (half-open); meaningless when closed. */
  private since = 0;
  private current: BreakerState = 'closed';
  /** Moved on by every change of state (and each probe let through): passes of another epoch count for nothing. */
  private epoch = 0;
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
   * The pass of a request that may be sent now, or null. Closed: one. Open: none until the cool-off is over, then one
   * (the probe, which makes it half-open). Half-open: none while the probe is out, unless it has been out a whole
   * cool-off (a new probe then, and the old one's outcome counts for nothing).
   */
  allow(): BreakerPass | null {
    if (this.current === 'closed') return { epoch: this.epoch };
    const now = this.now();
    if (now - this.since < this.opts.coolOffMs) return null;
    this.current = 'half_open';
    this.since = now;
    return { epoch: ++this.epoch };
  }

  /** Whether `pass` was given in the state the breaker is in: the probe when half-open; none when open. */
  private isCurrent(pass: BreakerPass): boolean {
    return pass.epoch === this.epoch && this.current !== 'open';
  }

  /** An answer came (anything but a failure of the provider): closes the breaker. */
  succeeded(pass: BreakerPass): void {
    if (!this.isCurrent(pass)) return;
    if (this.current !== 'closed') this.epoch++;
    this.consecutive = 0;
    this.clients.clear();
    this.current = 'closed';
  }

  /** The provider failed in a way no client chooses (no connection, a reset, 502/503/529); true when this opened it. */
  failed(pass: BreakerPass): boolean {
    if (!this.isCurrent(pass)) return false;
    this.consecutive++;
    if (this.current === 'half_open' || this.consecutive >= this.opts.failures) {
      this.current = 'open';
      this.since = this.now();
      this.epoch++;
      return true;
    }
    return false;
  }

  /**
   * A failure `client`'s own request may have caused (a first-byte timeout, a 500, a 504): counted once per client in
   * a run of failures; a probe's frees the way for the next probe. True when this opened the breaker.
   */
  failedFor(pass: BreakerPass, client: string): boolean {
    if (!this.isCurrent(pass)) return false;
    if (this.current === 'half_open') {
      this.inconclusive(pass);
      return false;
    }
    if (this.clients.has(client)) return false;
    this.clients.add(client);
    return this.failed(pass);
  }

  /** A request that said nothing of the provider (its client left): a probe's frees the way for the next probe. */
  inconclusive(pass: BreakerPass): void {
    if (this.isCurrent(pass) && this.current === 'half_open') this.since = this.now() - this.opts.coolOffMs;
  }

  /** Milliseconds until a probe may be sent (0 when closed or when one may go now). */
  retryInMs(): number {
    if (this.current === 'closed') return 0;
    return Math.max(0, this.opts.coolOffMs - (this.now() - this.since));
  }
}
