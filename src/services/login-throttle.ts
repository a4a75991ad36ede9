import { PREFIX_48_FACTOR, prefix48Of, throttleAddress } from '../core/network.js';

// Slows password guessing without letting a stranger lock an account's owner out (OWASP Authentication Cheat Sheet,
// "Account lockout": lock-outs by a third party are a denial of service; NIST SP 800-63B §5.2.2). Failures are counted
// per source address and per account-and-address, so a guesser is slowed where it guesses from while the owner signing
// in from elsewhere is not. Against guessing spread over many addresses, a per-account ceiling of 100 failures (NIST's
// bound) is the last resort; even then an address that signed in to the account before keeps its way in. An IPv6 /48
// is counted as well, with PREFIX_48_FACTOR times an address's budget, so walking through one's own /64s is slowed too.
// An attempt holds a place in every count it would fail into from before its (slow) password check until it ends
// (`begin`): guesses sent at once, from one address or from many, are judged no further than guesses sent in turn.
// In memory, so per instance; a restart forgets.

export interface ThrottlePolicy {
  maxFailures: number;
  baseLockMs: number;
  maxLockMs: number;
  /** Failures are forgotten this long after the last one, or after the lock it imposed ended. */
  windowMs: number;
}

/** Which count a lock comes from. */
export type LockScope = 'address' | 'address_prefix' | 'account_address' | 'account';

/** A lock imposed by a failure: who is refused, and for how long. */
export interface ImposedLock {
  scope: LockScope;
  retryAfterSeconds: number;
}

export interface ThrottlePolicies {
  address: ThrottlePolicy;
  accountAddress: ThrottlePolicy;
  account: ThrottlePolicy;
  /** How long a successful sign-in keeps its address exempt from the account's ceiling. */
  knownAddressMs: number;
}

const HOUR = 3_600_000;

export const DEFAULT_POLICIES: ThrottlePolicies = {
  /** Per address: room for offices and NATs that share one; 60 s, then 120 s, … up to an hour. */
  address: { maxFailures: 20, baseLockMs: 60_000, maxLockMs: HOUR, windowMs: 900_000 },
  /** Per account from one address: 5 failures lock that pair for 60 s, doubling up to an hour. */
  accountAddress: { maxFailures: 5, baseLockMs: 60_000, maxLockMs: HOUR, windowMs: 900_000 },
  /** Per account from anywhere: NIST SP 800-63B's ceiling of 100, for guessing spread over many addresses. */
  account: { maxFailures: 100, baseLockMs: 60_000, maxLockMs: HOUR, windowMs: 900_000 },
  knownAddressMs: 30 * 24 * HOUR,
};

interface Entry {
  failures: number;
  lastFailureAt: number;
  lockedUntil: number;
}

const MAX_ENTRIES = 50_000;

/** Drops the oldest entries of a Map kept in insertion order once it grows past the bound. */
function bound<V>(map: Map<string, V>): void {
  if (map.size <= MAX_ENTRIES) return;
  for (const key of map.keys()) {
    if (map.size <= MAX_ENTRIES * 0.9) break;
    map.delete(key);
  }
}

class Counter {
  private readonly entries = new Map<string, Entry>();
  /** Attempts begun and not yet ended, per key (a key leaves once none is). */
  private readonly inFlight = new Map<string, number>();
  constructor(
    private readonly policy: ThrottlePolicy,
    private readonly clock: () => number,
  ) {}

  retryAfterMs(key: string): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    return Math.max(0, e.lockedUntil - this.clock());
  }

  /**
   * Milliseconds before one more attempt may begin: the lock, if any; else, when the attempts in flight would reach
   * the next lock should they all fail, the lock they would impose (they end in moments, but most likely in that
   * lock). Before a lock `maxFailures - failures` may be in flight; once one has ended (the count is past the limit),
   * one at a time, since the next failure locks again.
   */
  waitMs(key: string): number {
    const locked = this.retryAfterMs(key);
    if (locked > 0) return locked;
    const pending = this.inFlight.get(key) ?? 0;
    if (pending === 0) return 0;
    const failures = this.failuresNow(key, this.clock());
    if (pending < Math.max(1, this.policy.maxFailures - failures)) return 0;
    return this.lockMsAt(failures + pending);
  }

  /** An attempt begins: it holds a place until `unhold`. */
  hold(key: string): void {
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
  }

  unhold(key: string): void {
    const n = (this.inFlight.get(key) ?? 0) - 1;
    if (n > 0) this.inFlight.set(key, n);
    else this.inFlight.delete(key);
  }

  /** Counts a failure; returns the lock it imposes in ms (0 when none). */
  fail(key: string): number {
    const now = this.clock();
    const failures = this.failuresNow(key, now) + 1;
    const lockMs = this.lockMsAt(failures);
    this.entries.delete(key);
    this.entries.set(key, { failures, lastFailureAt: now, lockedUntil: lockMs ? now + lockMs : 0 });
    if (this.entries.size > MAX_ENTRIES) this.prune(now);
    return lockMs;
  }

  clear(key: string): void {
    this.entries.delete(key);
  }

  /** The failures still counted: none once the window has passed since the last one, or since the lock it imposed ended. */
  private failuresNow(key: string, now: number): number {
    const e = this.entries.get(key);
    // Measured from the end of the lock: a lock longer than the window must not wipe the count that doubles it.
    if (!e || now - Math.max(e.lastFailureAt, e.lockedUntil) > this.policy.windowMs) return 0;
    return e.failures;
  }

  /** The lock imposed by the `failures`-th failure (0 below the limit), doubling past it up to the maximum. */
  private lockMsAt(failures: number): number {
    const over = failures - this.policy.maxFailures;
    return over >= 0 ? Math.min(this.policy.baseLockMs * 2 ** Math.min(over, 30), this.policy.maxLockMs) : 0;
  }

  private prune(now: number): void {
    for (const [key, e] of this.entries) {
      if (now - Math.max(e.lastFailureAt, e.lockedUntil) > this.policy.windowMs) this.entries.delete(key);
    }
    bound(this.entries); // still full: drop the oldest (fail() re-inserts, so Map order is recency)
  }
}

/**
 * A password check under way, holding its place in the counts. Exactly one of `failed`, `succeeded` or `release` counts;
 * the others (and repeats) do nothing, so `release` belongs in a `finally` after either of the first two.
 */
export interface Attempt {
  /** The guess was wrong: counted as a failure; the locks it imposed, for the audit log. */
  failed(): ImposedLock[];
  /** The guess was right: the account's failures from this address are forgotten and the address is remembered. */
  succeeded(): void;
  /** Ends the attempt uncounted (it failed for another reason, or threw). */
  release(): void;
}

/** Failed sign-in bookkeeping per address, per account and address, and per account. */
export class LoginThrottle {
  private readonly byAddress: Counter;
  /** IPv6 /48s (the addresses are counted by /64). */
  private readonly byPrefix: Counter;
  private readonly byAccountAddress: Counter;
  private readonly byAccount: Counter;
  /** account + address → when it last signed in successfully. */
  private readonly known = new Map<string, number>();
  /** Address (IPv6: its /48) → the end of its latest attempt. */
  private readonly turns = new Map<string, Promise<void>>();

  constructor(
    private readonly clock: () => number,
    private readonly policies: ThrottlePolicies = DEFAULT_POLICIES,
  ) {
    this.byAddress = new Counter(policies.address, clock);
    this.byPrefix = new Counter({ ...policies.address, maxFailures: policies.address.maxFailures * PREFIX_48_FACTOR }, clock);
    this.byAccountAddress = new Counter(policies.accountAddress, clock);
    this.byAccount = new Counter(policies.account, clock);
  }

  /** Milliseconds until `account` may be tried again from `ip`; 0 when it may be now. */
  retryAfterMs(account: string, ip: string): number {
    const address = throttleAddress(ip);
    const pair = `${account}\n${address}`;
    const accountWait = this.isKnown(pair) ? 0 : this.byAccount.retryAfterMs(account);
    const prefix = prefix48Of(address);
    const prefixWait = prefix === null ? 0 : this.byPrefix.retryAfterMs(prefix);
    return Math.max(this.byAddress.retryAfterMs(address), prefixWait, this.byAccountAddress.retryAfterMs(pair), accountWait);
  }

  /**
   * Begins a guess at `account`'s password from `ip`, before the password is checked: refused (with the milliseconds to
   * wait) when a count it would fail into is locked, or when the attempts already in flight would lock it should they
   * all fail; otherwise the attempt holds its place in those counts until it ends. Checked before and counted only
   * after a slow check, guesses sent at once were all judged: 400 from 400 addresses past the account's ceiling of 100.
   * The account's ceiling does not refuse an address that signed in to it before, as in `retryAfterMs`.
   */
  begin(account: string, ip: string): Attempt | { retryAfterMs: number } {
    const address = throttleAddress(ip);
    const pair = `${account}\n${address}`;
    const prefix = prefix48Of(address);
    const held: Array<[Counter, string]> = [
      [this.byAddress, address],
      [this.byAccountAddress, pair],
      [this.byAccount, account],
    ];
    if (prefix !== null) held.push([this.byPrefix, prefix]);
    const known = this.isKnown(pair);
    const wait = Math.max(0, ...held.map(([counter, key]) => (known && counter === this.byAccount ? 0 : counter.waitMs(key))));
    if (wait > 0) return { retryAfterMs: wait };
    for (const [counter, key] of held) counter.hold(key);
    let open = true;
    const end = (): boolean => {
      if (!open) return false;
      open = false;
      for (const [counter, key] of held) counter.unhold(key);
      return true;
    };
    return {
      // Unheld and counted in one synchronous step: no attempt begins in between seeing neither.
      failed: () => (end() ? this.recordFailure(account, ip) : []),
      succeeded: () => {
        if (end()) this.recordSuccess(account, ip);
      },
      release: () => {
        end();
      },
    };
  }

  /**
   * Counts a wrong password (or unknown email, or wrong setup token) for `account` from `ip`; returns the locks this
   * failure imposed, for the audit log. `perAccount: false` leaves the account's own ceiling out (the setup token:
   * there, a ceiling would let anyone lock the operator out of the first sign-up). A null account counts against the
   * address alone (a refused sign-up that guessed at nothing).
   */
  recordFailure(account: string | null, ip: string, opts: { perAccount?: boolean } = {}): ImposedLock[] {
    const address = throttleAddress(ip);
    const locks: ImposedLock[] = [];
    const note = (scope: LockScope, ms: number) => {
      if (ms > 0) locks.push({ scope, retryAfterSeconds: Math.ceil(ms / 1000) });
    };
    note('address', this.byAddress.fail(address));
    const prefix = prefix48Of(address);
    if (prefix !== null) note('address_prefix', this.byPrefix.fail(prefix));
    if (account === null) return locks;
    note('account_address', this.byAccountAddress.fail(`${account}\n${address}`));
    if (opts.perAccount !== false) note('account', this.byAccount.fail(account));
    return locks;
  }

  /**
   * Forgets the account's failures from this address and remembers the address as the account's own. The address's
   * count stays, so signing in to one's own account cannot reset a guesser's; so does the account's ceiling.
   */
  recordSuccess(account: string, ip: string): void {
    const pair = `${account}\n${throttleAddress(ip)}`;
    this.byAccountAddress.clear(pair);
    this.known.delete(pair);
    this.known.set(pair, this.clock());
    bound(this.known);
  }

  /**
   * Runs `attempt` once every earlier attempt from the same address (IPv6: the same /48) has ended. A burst sent at
   * once would otherwise pass the throttle's check together, before any of its failures was counted, and each write
   * its audit entry; one at a time, each is judged with the failures before it counted. Not per account (a stranger
   * would slow its owner's sign-ins): guesses at one account from many addresses are held back by `begin`.
   */
  inTurn<T>(ip: string, attempt: () => Promise<T>): Promise<T> {
    const address = throttleAddress(ip);
    const key = prefix48Of(address) ?? address;
    const mine = (this.turns.get(key) ?? Promise.resolve()).then(attempt);
    const ended = mine.then(
      () => undefined,
      () => undefined,
    );
    this.turns.set(key, ended);
    void ended.then(() => {
      if (this.turns.get(key) === ended) this.turns.delete(key);
    });
    return mine;
  }

  private isKnown(pair: string): boolean {
    const at = this.known.get(pair);
    return at !== undefined && this.clock() - at <= this.policies.knownAddressMs;
  }
}
