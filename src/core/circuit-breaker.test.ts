import { describe, expect, it } from 'vitest';
import { type BreakerPass, CircuitBreaker } from './circuit-breaker.js';

describe('CircuitBreaker', () => {
  const make = () => {
    let now = 1_000_000;
    const b = new CircuitBreaker({ failures: 3, coolOffMs: 10_000 }, () => now);
    /** A request let through now (the test fails if none may be). */
    const sent = (): BreakerPass => {
      const pass = b.allow();
      if (pass === null) throw new Error('not let through');
      return pass;
    };
    return { b, sent, advance: (ms: number) => (now += ms) };
  };

  it('opens after K consecutive failures, not after fewer or after a success between them', () => {
    const { b, sent } = make();
    b.failed(sent());
    b.failed(sent());
    b.succeeded(sent());
    expect(b.failed(sent())).toBe(false);
    expect(b.failed(sent())).toBe(false);
    expect(b.state).toBe('closed');
    expect(b.allow()).not.toBeNull();
    expect(b.failed(sent())).toBe(true);
    expect(b.state).toBe('open');
    expect(b.allow()).toBeNull();
    expect(b.retryInMs()).toBe(10_000);
  });

  it('lets one probe through after the cool-off; its success closes the breaker', () => {
    const { b, sent, advance } = make();
    for (let i = 0; i < 3; i++) b.failed(sent());
    advance(9_999);
    expect(b.allow()).toBeNull();
    advance(1);
    expect(b.state).toBe('half_open');
    const probe = sent();
    expect(b.allow()).toBeNull();
    b.succeeded(probe);
    expect(b.state).toBe('closed');
    expect(b.allow()).not.toBeNull();
    // Closed again: it takes K failures anew to open.
    expect(b.failed(sent())).toBe(false);
  });

  it('opens again for a whole cool-off when the probe fails', () => {
    const { b, sent, advance } = make();
    for (let i = 0; i < 3; i++) b.failed(sent());
    advance(10_000);
    expect(b.failed(sent())).toBe(true);
    expect(b.state).toBe('open');
    advance(5_000);
    expect(b.allow()).toBeNull();
    advance(5_000);
    expect(b.allow()).not.toBeNull();
  });

  it('lets another probe go when the first never reported for a whole cool-off; the first one counts for nothing then', () => {
    const { b, sent, advance } = make();
    for (let i = 0; i < 3; i++) b.failed(sent());
    advance(10_000);
    const first = sent();
    advance(9_000);
    expect(b.allow()).toBeNull();
    advance(1_000);
    const second = sent();
    b.inconclusive(first);
    b.succeeded(first);
    expect(b.state).toBe('half_open');
    expect(b.allow()).toBeNull();
    b.succeeded(second);
    expect(b.state).toBe('closed');
  });

  it('counts failures a client may have caused once per client in a run: one client alone never opens it', () => {
    const { b, sent } = make();
    for (let i = 0; i < 10; i++) expect(b.failedFor(sent(), 'key_a')).toBe(false);
    expect(b.state).toBe('closed');
    expect(b.failedFor(sent(), 'key_b')).toBe(false);
    expect(b.failedFor(sent(), 'key_c')).toBe(true);
    expect(b.state).toBe('open');
  });

  it('mixes both kinds in one run, and an answer starts the count of clients afresh', () => {
    const { b, sent } = make();
    b.failedFor(sent(), 'key_a');
    b.failed(sent());
    b.succeeded(sent());
    b.failedFor(sent(), 'key_a');
    b.failedFor(sent(), 'key_a');
    expect(b.failed(sent())).toBe(false);
    expect(b.failed(sent())).toBe(true);
  });

  it('a probe that its client abandoned, or that failed in a way its client may have caused, lets the next probe go at once', () => {
    const { b, sent, advance } = make();
    for (let i = 0; i < 3; i++) b.failed(sent());
    advance(10_000);
    const probe = sent();
    expect(b.allow()).toBeNull();
    b.inconclusive(probe);
    const next = sent();
    expect(b.failedFor(next, 'key_a')).toBe(false);
    expect(b.state).toBe('half_open');
    // A failure no client chooses still opens it again.
    expect(b.failed(sent())).toBe(true);
    expect(b.allow()).toBeNull();
  });

  it('an abandoned request while closed or open changes nothing', () => {
    const { b, sent } = make();
    const pass = sent();
    b.inconclusive(pass);
    for (let i = 0; i < 3; i++) b.failed(sent());
    b.inconclusive(pass);
    expect(b.allow()).toBeNull();
  });

  it('only the probe ends the half-open state: requests sent before the breaker opened count for nothing once it has (found by an outside review)', () => {
    // A request sent while closed whose client hung up while the probe was out freed the half-open state, and a second
    // probe went out beside the first.
    for (const outcome of ['inconclusive', 'failedFor', 'failed', 'succeeded'] as const) {
      const { b, sent, advance } = make();
      const old = sent();
      for (let i = 0; i < 3; i++) b.failed(sent());
      // While open: nothing an old request says changes it, an answer included (the probe decides, after the cool-off).
      if (outcome === 'succeeded') b.succeeded(old);
      expect(b.state).toBe('open');
      advance(10_000);
      const probe = sent();
      if (outcome === 'failedFor') expect(b.failedFor(old, 'key_a')).toBe(false);
      else if (outcome === 'failed') expect(b.failed(old)).toBe(false);
      else if (outcome === 'succeeded') b.succeeded(old);
      else b.inconclusive(old);
      expect(b.state).toBe('half_open');
      expect(b.allow()).toBeNull();
      b.succeeded(probe);
      expect(b.state).toBe('closed');
    }
  });

  it('a breaker closed again does not count failures of requests sent before it opened', () => {
    const { b, sent, advance } = make();
    const old = [sent(), sent(), sent()];
    for (let i = 0; i < 3; i++) b.failed(sent());
    advance(10_000);
    b.succeeded(sent());
    for (const pass of old) expect(b.failed(pass)).toBe(false);
    expect(b.state).toBe('closed');
    // Failures of requests sent since do.
    b.failed(sent());
    b.failed(sent());
    expect(b.failed(sent())).toBe(true);
  });
});
