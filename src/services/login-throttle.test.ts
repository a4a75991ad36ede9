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
});
