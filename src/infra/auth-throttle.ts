/**
 * Throttles key guessing: an IP that presents many invalid keys in a short time is refused for a while before any
 * lookup. Bounded memory (oldest entries dropped); in process, since a guesser is slowed per instance too.
 */
export class AuthThrottle {
  private readonly failures = new Map<string, { count: number; windowStart: number; blockedUntil: number }>();

  constructor(
    private readonly opts: { maxFailures: number; windowMs: number; blockMs: number; maxEntries: number } = {
      maxFailures: 30,
      windowMs: 60_000,
      blockMs: 60_000,
      maxEntries: 100_000,
    },
  ) {}

  /** Milliseconds this IP must wait, or 0. */
  blockedFor(ip: string, now: number): number {
    const e = this.failures.get(ip);
    return e && e.blockedUntil > now ? e.blockedUntil - now : 0;
  }

  /** Notes an invalid key from this IP. */
  fail(ip: string, now: number): void {
    let e = this.failures.get(ip);
    if (!e || now - e.windowStart > this.opts.windowMs) {
      e = { count: 0, windowStart: now, blockedUntil: 0 };
      this.failures.delete(ip);
      this.failures.set(ip, e);
      if (this.failures.size > this.opts.maxEntries) this.failures.delete(this.failures.keys().next().value as string);
    }
    e.count++;
    if (e.count >= this.opts.maxFailures) e.blockedUntil = now + this.opts.blockMs;
  }
}
