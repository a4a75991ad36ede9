import { describe, expect, it, vi } from 'vitest';
import { PREFIX_48_FACTOR, throttleAddress } from '../core/network.js';
import { AuthThrottle } from './auth-throttle.js';

const T0 = Date.UTC(2026, 0, 1);
const opts = { maxFailures: 3, windowMs: 60_000, blockMs: 60_000, maxEntries: 1000 };

describe('key-guessing throttle', () => {
  it('blocks an address after too many failures, for blockMs', () => {
    const t = new AuthThrottle(opts);
    for (let i = 0; i < 3; i++) t.fail('203.0.113.5', T0);
    expect(t.blockedFor('203.0.113.5', T0)).toBe(60_000);
    expect(t.blockedFor('203.0.113.6', T0)).toBe(0);
    expect(t.blockedFor('203.0.113.5', T0 + 60_000)).toBe(0);
  });

  it('counts every address of one IPv6 /64 as one: rotating through it is still throttled', () => {
    const t = new AuthThrottle(opts);
    for (let i = 0; i < 3; i++) t.fail(`2001:db8:1:2::${(i + 1).toString(16)}`, T0);
    expect(t.blockedFor('2001:db8:1:2:ffff:ffff:ffff:ffff', T0)).toBe(60_000);
    expect(t.blockedFor('2001:DB8:1:2:0:0:0:abcd', T0)).toBe(60_000);
  });

  it('keeps different /64s apart', () => {
    const t = new AuthThrottle(opts);
    for (let i = 0; i < 3; i++) t.fail(`2001:db8:1:${i}::1`, T0);
    for (let i = 0; i < 4; i++) expect(t.blockedFor(`2001:db8:1:${i}::1`, T0)).toBe(0);
  });

  it(`throttles a whole IPv6 /48 whose /64s together make ${PREFIX_48_FACTOR} times one /64's failures, and no other /48`, () => {
    const t = new AuthThrottle(opts);
    // A guesser walking through the /64s of its /48, one budget's worth short on each.
    const perPrefix = opts.maxFailures - 1;
    const prefixes = Math.ceil((opts.maxFailures * PREFIX_48_FACTOR) / perPrefix);
    for (let p = 0; p < prefixes; p++) for (let i = 0; i < perPrefix; i++) t.fail(`2001:db8:7:${p.toString(16)}::${i + 1}`, T0);
    expect(t.blockedFor('2001:db8:7:ffff::1', T0)).toBe(60_000); // a /64 of that /48 it never used
    expect(t.blockedFor('2001:db8:8::1', T0)).toBe(0); // the next /48
    expect(t.blockedFor('203.0.113.5', T0)).toBe(0);
    expect(t.blockedFor('2001:db8:7::1', T0 + 60_000)).toBe(0);
  });

  it('lets a /48 make one failure fewer than its budget, spread over its /64s, without blocking it', () => {
    const t = new AuthThrottle(opts);
    for (let i = 0; i < opts.maxFailures * PREFIX_48_FACTOR - 1; i++) t.fail(`2001:db8:6:${(i % 4096).toString(16)}::1`, T0);
    expect(t.blockedFor('2001:db8:6:ffff::1', T0)).toBe(0);
    t.fail('2001:db8:6:fffe::1', T0);
    expect(t.blockedFor('2001:db8:6:ffff::1', T0)).toBe(60_000);
  });

  it('counts an IPv4-mapped IPv6 address as its IPv4', () => {
    const t = new AuthThrottle(opts);
    t.fail('::ffff:203.0.113.5', T0);
    t.fail('203.0.113.5', T0);
    t.fail('::FFFF:203.0.113.5', T0);
    expect(t.blockedFor('203.0.113.5', T0)).toBe(60_000);
    expect(t.blockedFor('::ffff:203.0.113.5', T0)).toBe(60_000);
  });

  it('keeps grouping right once its memo of addresses starts afresh', () => {
    const t = new AuthThrottle({ ...opts, maxFailures: 20_000, maxEntries: 100_000 });
    for (let i = 0; i < 20_000; i++) t.fail(`2001:db8:9:9::${i.toString(16)}`, T0);
    expect(t.blockedFor('2001:db8:9:9::1', T0)).toBe(60_000);
    expect(t.blockedFor('2001:db8:9:9:1::1', T0)).toBe(60_000);
  });

  it('parses no address while nothing is blocked, and each client address once while something is', () => {
    // The real grouping, counted: parsing an address costs microseconds, and blockedFor runs on every request.
    const parses = vi.fn(throttleAddress);
    const t = new AuthThrottle(opts, parses);
    for (let i = 0; i < 100; i++) expect(t.blockedFor('2001:db8:5:5::1', T0)).toBe(0);
    t.fail('198.51.100.9', T0);
    expect(t.blockedFor('2001:db8:5:5::1', T0)).toBe(0);
    expect(parses).toHaveBeenCalledTimes(1); // the failure's address only
    for (let i = 0; i < 3; i++) t.fail('203.0.113.5', T0);
    for (let i = 0; i < 100; i++) expect(t.blockedFor('2001:db8:5:5::1', T0)).toBe(0);
    expect(parses).toHaveBeenCalledTimes(3); // the guesser's address, then the client's, once
    expect(t.blockedFor('2001:db8:5:5::1', T0 + 60_000)).toBe(0);
    expect(parses).toHaveBeenCalledTimes(3);
  });
});
