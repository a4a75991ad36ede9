import { throttleAddress } from '../core/network.js';

/** Client addresses whose grouping is remembered; past this the memo starts afresh. */
const MAX_GROUPED = 10_000;

interface Entry {
  count: number;
  windowStart: number;
  blockedUntil: number;
}

/**
 * Throttles key guessing: an address that presents many invalid keys in a short time is refused for a while before
 * any lookup. Counted by `throttleAddress` (IPv6 by its /64, IPv4-mapped as IPv4), so a guesser walking through the
 * addresses of its own prefix shares one budget. Bounded memory (oldest entries dropped); in process, since a guesser
 * is slowed per instance too.
 *
 * `blockedFor` runs on every authenticated request, and parsing an address costs microseconds: it answers 0 at once
 * while no address is blocked, and otherwise parses each client address once (memoised, bounded) rather than per
 * request. `fail` runs only on refused keys.
 */
export class AuthThrottle {
  private readonly failures = new Map<string, Entry>();
  /** Client address as received → the address it is counted as. */
  private readonly grouped = new Map<string, string>();
  /** The latest end of any block imposed: past it, nothing is blocked. */
  private blockedUntilMax = 0;

  constructor(
    private readonly opts: { maxFailures: number; windowMs: number; blockMs: number; maxEntries: number } = {
      maxFailures: 30,
      windowMs: 60_000,
      blockMs: 60_000,
      maxEntries: 100_000,
    },
    /** The address a failure counts against (a parameter so that tests can count the parses). */
    private readonly groupOf: (ip: string) => string = throttleAddress,
  ) {}

  /** Milliseconds this address must wait, or 0. */
  blockedFor(ip: string, now: number): number {
    if (now >= this.blockedUntilMax) return 0;
    const e = this.failures.get(this.group(ip));
    return e && e.blockedUntil > now ? e.blockedUntil - now : 0;
  }

  /** Notes an invalid key from this address. */
  fail(ip: string, now: number): void {
    const key = this.group(ip);
    let e = this.failures.get(key);
    if (!e || now - e.windowStart > this.opts.windowMs) {
      e = { count: 0, windowStart: now, blockedUntil: 0 };
      this.failures.delete(key);
      this.failures.set(key, e);
      if (this.failures.size > this.opts.maxEntries) this.failures.delete(this.failures.keys().next().value as string);
    }
    e.count++;
    if (e.count >= this.opts.maxFailures) {
      e.blockedUntil = now + this.opts.blockMs;
      if (e.blockedUntil > this.blockedUntilMax) this.blockedUntilMax = e.blockedUntil;
    }
  }

  private group(ip: string): string {
    let key = this.grouped.get(ip);
    if (key === undefined) {
      key = this.groupOf(ip);
      // A guesser rotating addresses fills this; clearing it costs the others one parse each, not their budget.
      if (this.grouped.size >= MAX_GROUPED) this.grouped.clear();
      this.grouped.set(ip, key);
    }
    return key;
  }
}
