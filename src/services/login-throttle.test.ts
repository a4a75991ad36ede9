import { describe, expect, it } from 'vitest';
import { LoginThrottle } from './login-throttle.js';

const OWNER = 'owner@example.com';

function throttle() {
  let now = Date.UTC(2026, 0, 1);
  const t = new LoginThrottle(() => now);
  return { t, advance: (ms: number) => (now += ms) };
}

describe('login throttle', () => {
  it('locks the account from the guessing address only: the owner elsewhere is not locked out', () => {
    const { t } = throttle();
    for (let i = 0; i < 4; i++) expect(t.recordFailure(OWNER, '203.0.113.5')).toEqual([]);
    expect(t.recordFailure(OWNER, '203.0.113.5')).toEqual([{ scope: 'account_address', retryAfterSeconds: 60 }]);
    expect(t.retryAfterMs(OWNER, '203.0.113.5')).toBe(60_000);
    expect(t.retryAfterMs(OWNER, '198.51.100.7')).toBe(0);
    expect(t.retryAfterMs('other@example.com', '203.0.113.5')).toBe(0);
  });

  it('locks an address that guesses across many accounts, doubling up to an hour', () => {
    const { t, advance } = throttle();
    for (let i = 0; i < 19; i++) t.recordFailure(`user${i}@example.com`, '203.0.113.5');
    expect(t.recordFailure('user19@example.com', '203.0.113.5')).toEqual([{ scope: 'address', retryAfterSeconds: 60 }]);
    expect(t.retryAfterMs('fresh@example.com', '203.0.113.5')).toBe(60_000);
    expect(t.retryAfterMs('fresh@example.com', '203.0.113.6')).toBe(0);
    advance(60_000);
    expect(t.recordFailure('user20@example.com', '203.0.113.5')).toEqual([{ scope: 'address', retryAfterSeconds: 120 }]);
    const waits = [];
    for (let i = 0; i < 8; i++) {
      advance(t.retryAfterMs('x@example.com', '203.0.113.5'));
      waits.push(t.recordFailure(`next${i}@example.com`, '203.0.113.5').find((l) => l.scope === 'address')?.retryAfterSeconds);
    }
    expect(waits).toEqual([240, 480, 960, 1920, 3600, 3600, 3600, 3600]);
  });

  it('a success clears the pair but not the address count, so signing in cannot reset a guesser', () => {
    const { t } = throttle();
    for (let i = 0; i < 4; i++) t.recordFailure(OWNER, '203.0.113.5');
    t.recordSuccess(OWNER, '203.0.113.5');
    for (let i = 0; i < 4; i++) expect(t.recordFailure(OWNER, '203.0.113.5')).toEqual([]);
    for (let i = 0; i < 11; i++) t.recordFailure(`u${i}@example.com`, '203.0.113.5');
    expect(t.retryAfterMs('anyone@example.com', '203.0.113.5')).toBe(0); // 19 failures from the address
    t.recordFailure('u11@example.com', '203.0.113.5');
    expect(t.retryAfterMs('anyone@example.com', '203.0.113.5')).toBe(60_000); // the 20th
  });

  it('past 100 failures from anywhere the account is locked, except from an address that signed in to it before', () => {
    const { t, advance } = throttle();
    t.recordSuccess(OWNER, '192.0.2.10');
    advance(1000);
    const locks = [];
    for (let i = 0; i < 100; i++) locks.push(...t.recordFailure(OWNER, `10.0.${Math.floor(i / 250)}.${i % 250}`));
    expect(locks).toEqual([{ scope: 'account', retryAfterSeconds: 60 }]);
    expect(t.retryAfterMs(OWNER, '198.51.100.7')).toBe(60_000);
    expect(t.retryAfterMs(OWNER, '192.0.2.10')).toBe(0);
    expect(t.retryAfterMs('other@example.com', '198.51.100.7')).toBe(0);
  });

  it('the setup token (perAccount: false) has no account-wide ceiling a stranger could trip', () => {
    const { t } = throttle();
    for (let i = 0; i < 200; i++) t.recordFailure('\u0000signup', `10.1.${Math.floor(i / 250)}.${i % 250}`, { perAccount: false });
    expect(t.retryAfterMs('\u0000signup', '198.51.100.7')).toBe(0);
  });

  it('counts IPv6 by its /64 and IPv4-mapped IPv6 as IPv4', () => {
    const { t } = throttle();
    for (let i = 0; i < 5; i++) t.recordFailure(OWNER, `2001:db8:1:2::${i + 1}`);
    expect(t.retryAfterMs(OWNER, '2001:db8:1:2:ffff::9')).toBe(60_000);
    expect(t.retryAfterMs(OWNER, '2001:db8:1:3::1')).toBe(0);
    for (let i = 0; i < 5; i++) t.recordFailure(OWNER, '::ffff:203.0.113.5');
    expect(t.retryAfterMs(OWNER, '203.0.113.5')).toBe(60_000);
  });

  describe('attempts in flight (begin)', () => {
    const begun = (r: ReturnType<LoginThrottle['begin']>) => {
      if ('retryAfterMs' in r) throw new Error(`refused for ${r.retryAfterMs} ms`);
      return r;
    };
    const many = (i: number) => `10.0.${Math.floor(i / 250)}.${i % 250}`;

    it('from many addresses at once, no more begin than the account ceiling; each failure counts as it ends', () => {
      const { t } = throttle();
      const attempts = Array.from({ length: 100 }, (_, i) => begun(t.begin(OWNER, many(i))));
      expect(t.begin(OWNER, '198.51.100.7')).toEqual({ retryAfterMs: 60_000 });
      // Another account, and the owner's address that signed in before, are not held back.
      expect('failed' in t.begin('other@example.com', '198.51.100.7')).toBe(true);
      const locks = attempts.flatMap((a) => a.failed());
      expect(locks).toEqual([{ scope: 'account', retryAfterSeconds: 60 }]);
      expect(t.begin(OWNER, '198.51.100.7')).toEqual({ retryAfterMs: 60_000 });
    });

    it('an address that signed in to the account before is not held back by strangers in flight', () => {
      const { t } = throttle();
      t.recordSuccess(OWNER, '192.0.2.10');
      for (let i = 0; i < 100; i++) begun(t.begin(OWNER, many(i)));
      expect('failed' in t.begin(OWNER, '192.0.2.10')).toBe(true);
      expect('retryAfterMs' in t.begin(OWNER, '192.0.2.11')).toBe(true);
    });

    it('from one address, five at once for one account; twenty across accounts', () => {
      const { t } = throttle();
      for (let i = 0; i < 5; i++) begun(t.begin(OWNER, '203.0.113.5'));
      expect(t.begin(OWNER, '203.0.113.5')).toEqual({ retryAfterMs: 60_000 });
      for (let i = 0; i < 15; i++) begun(t.begin(`user${i}@example.com`, '203.0.113.5'));
      expect(t.begin('fresh@example.com', '203.0.113.5')).toEqual({ retryAfterMs: 60_000 });
      expect('failed' in t.begin('fresh@example.com', '203.0.113.6')).toBe(true);
    });

    it('a success or an error frees its place and counts nothing; ending twice counts once', () => {
      const { t } = throttle();
      const first = Array.from({ length: 5 }, () => begun(t.begin(OWNER, '203.0.113.5')));
      first[0].release();
      first[0].failed(); // already ended: not counted
      for (const a of first.slice(2)) {
        a.failed();
        a.release();
      }
      // Three failures counted and one place held: one more may begin.
      begun(t.begin(OWNER, '203.0.113.5')).release();
      expect(t.begin(OWNER, '203.0.113.5')).toMatchObject({ failed: expect.any(Function) });
      expect('retryAfterMs' in t.begin(OWNER, '203.0.113.5')).toBe(true);
      // The success clears the pair's failures: five places again (the one begun above still holds one).
      first[1].succeeded();
      first[1].release();
      for (let i = 0; i < 4; i++) begun(t.begin(OWNER, '203.0.113.5'));
      expect('retryAfterMs' in t.begin(OWNER, '203.0.113.5')).toBe(true);
    });

    it('after a lock, one attempt at a time, and the next failure locks for twice as long', () => {
      const { t, advance } = throttle();
      for (let i = 0; i < 5; i++) t.recordFailure(OWNER, '203.0.113.5');
      expect(t.begin(OWNER, '203.0.113.5')).toEqual({ retryAfterMs: 60_000 });
      advance(60_000);
      const next = begun(t.begin(OWNER, '203.0.113.5'));
      expect(t.begin(OWNER, '203.0.113.5')).toEqual({ retryAfterMs: 120_000 });
      expect(next.failed()).toEqual([{ scope: 'account_address', retryAfterSeconds: 120 }]);
      advance(120_000);
      begun(t.begin(OWNER, '203.0.113.5')).release();
      expect('failed' in t.begin(OWNER, '203.0.113.5')).toBe(true);
    });

    it('an IPv6 /48 in flight counts against its budget as well', () => {
      const { t } = throttle();
      // 320 for the /48: 16 /64s with 20 each (one account per attempt, so no pair or account count is reached).
      for (let net = 0; net < 16; net++) for (let i = 0; i < 20; i++) begun(t.begin(`u${net}-${i}@example.com`, `2001:db8:1:${net}::1`));
      expect('retryAfterMs' in t.begin('x@example.com', '2001:db8:1:ff::1')).toBe(true);
      expect('failed' in t.begin('x@example.com', '2001:db8:2:ff::1')).toBe(true);
    });
  });
});
