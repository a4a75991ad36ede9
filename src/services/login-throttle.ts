// Slows password guessing: after `maxFailures` failed sign-ins for one email (or from one IP), further
// attempts are refused for `baseLockMs`, doubling with each further failure up to `maxLockMs`
// (OWASP Authentication Cheat Sheet, "Account lockout"). In memory, so per instance; a restart forgets.

export interface ThrottlePolicy {
  maxFailures: number;
  baseLockMs: number;
  maxLockMs: number;
  /** Failures older than this (since the last one) are forgotten. */
  windowMs: number;
}

interface Entry {
  failures: number;
  lastFailureAt: number;
  lockedUntil: number;
}

/** Per-email: 5 failures lock for 60 s, then 120 s, 240 s, … up to an hour. */
export const EMAIL_POLICY: ThrottlePolicy = { maxFailures: 5, baseLockMs: 60_000, maxLockMs: 3_600_000, windowMs: 900_000 };
/** Per-IP: more room, since offices and NATs share an address. */
export const IP_POLICY: ThrottlePolicy = { maxFailures: 20, baseLockMs: 60_000, maxLockMs: 3_600_000, windowMs: 900_000 };

const MAX_ENTRIES = 50_000;

class Counter {
  private readonly entries = new Map<string, Entry>();
  constructor(
    private readonly policy: ThrottlePolicy,
    private readonly clock: () => number,
  ) {}

  retryAfterMs(key: string): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    return Math.max(0, e.lockedUntil - this.clock());
  }

  fail(key: string): void {
    const now = this.clock();
    const e = this.entries.get(key);
    const fresh = !e || now - e.lastFailureAt > this.policy.windowMs;
    const failures = fresh ? 1 : e.failures + 1;
    const over = failures - this.policy.maxFailures;
    const lockedUntil = over >= 0 ? now + Math.min(this.policy.baseLockMs * 2 ** Math.min(over, 30), this.policy.maxLockMs) : 0;
    this.entries.delete(key);
    this.entries.set(key, { failures, lastFailureAt: now, lockedUntil });
    if (this.entries.size > MAX_ENTRIES) this.prune(now);
  }

  clear(key: string): void {
    this.entries.delete(key);
  }

  private prune(now: number): void {
    for (const [key, e] of this.entries) {
      if (e.lockedUntil <= now && now - e.lastFailureAt > this.policy.windowMs) this.entries.delete(key);
    }
    // Still full: drop the oldest (Map keeps insertion order, and fail() re-inserts).
    for (const key of this.entries.keys()) {
      if (this.entries.size <= MAX_ENTRIES * 0.9) break;
      this.entries.delete(key);
    }
  }
}

/** Failed sign-in bookkeeping per email and per client IP. */
export class LoginThrottle {
  private readonly byEmail: Counter;
  private readonly byIp: Counter;

  constructor(clock: () => number, policies: { email: ThrottlePolicy; ip: ThrottlePolicy } = { email: EMAIL_POLICY, ip: IP_POLICY }) {
    this.byEmail = new Counter(policies.email, clock);
    this.byIp = new Counter(policies.ip, clock);
  }

  /** Milliseconds until another attempt is allowed; 0 when it is allowed now. */
  retryAfterMs(email: string, ip: string): number {
    return Math.max(this.byEmail.retryAfterMs(email), this.byIp.retryAfterMs(ip));
  }

  /** Counts a wrong password (or unknown email). */
  recordFailure(email: string, ip: string): void {
    this.byEmail.fail(email);
    this.byIp.fail(ip);
  }

  /** Forgets the email's failures. The IP's stay, so signing in to one's own account cannot reset them. */
  recordSuccess(email: string): void {
    this.byEmail.clear(email);
  }
}
