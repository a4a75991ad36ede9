import { PREFIX_48_FACTOR, prefix48Of, throttleAddress } from '../core/network.js';

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
 * addresses of its own prefix shares one budget; an IPv6 /48 is counted too, with PREFIX_48_FACTOR times the budget,
 * so that walking through the /64s of one's /48 is throttled as well. Bounded memory (oldest entries dropped); in
 * process, since a guesser is slowed per instance too.
 *
 * `blockedFor` runs on every authenticated request, and parsing an address costs microseconds: it answers 0 at once
 * while no address is blocked, and otherwise parses each client address once (memoised, bounded) rather than per
 * request. `fail` runs only on refused keys.
 */
export class AuthThrottle {
  private readonly failures = new Map<string, Entry>();
  /** Client address as received → what it is counted as: the address (or /64), and the /48 for IPv6. */
  private readonly grouped = new Map<string, readonly [string, string | null]>();
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
    const [key, wide] = this.group(ip);
    const e = this.failures.get(key);
    const w = wide === null ? undefined : this.failures.get(wide);
    return Math.max(e && e.blockedUntil > now ? e.blockedUntil - now : 0, w && w.blockedUntil > now ? w.blockedUntil - now : 0);
  }

  /** Notes an invalid key from this address. */
  fail(ip: string, now: number): void {
    const [key, wide] = this.group(ip);
    this.count(key, now, this.opts.maxFailures);
    if (wide !== null) this.count(wide, now, this.opts.maxFailures * PREFIX_48_FACTOR);
  }

  private count(key: string, now: number, maxFailures: number): void {
    let e = this.failures.get(key);
    if (!e || now - e.windowStart > this.opts.windowMs) {
      e = { count: 0, windowStart: now, blockedUntil: 0 };
      this.failures.delete(key);
      this.failures.set(key, e);
      if (this.failures.size > this.opts.maxEntries) this.failures.delete(this.failures.keys().next().value as string);
    }
    e.count++;
    if (e.count >= maxFailures) {
      e.blockedUntil = now + this.opts.blockMs;
      if (e.blockedUntil > this.blockedUntilMax) this.blockedUntilMax = e.blockedUntil;
    }
  }

  private group(ip: string): readonly [string, string | null] {
    let keys = this.grouped.get(ip);
    if (keys === undefined) {
      const key = this.groupOf(ip);
      keys = [key, prefix48Of(key)];
      // A guesser rotating addresses fills this; clearing it costs the others one parse each, not their budget.
      if (this.grouped.size >= MAX_GROUPED) this.grouped.clear();
      this.grouped.set(ip, keys);
    }
    return keys;
  }
}
