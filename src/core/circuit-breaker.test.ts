import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';

describe('CircuitBreaker', () => {
  const make = () => {
    let now = 1_000_000;
    const b = new CircuitBreaker({ failures: 3, coolOffMs: 10_000 }, () => now);
    return { b, advance: (ms: number) => (now += ms) };
  };

  it('opens after K consecutive failures, not after fewer or after a success between them', () => {
    const { b } = make();
    b.failed();
    b.failed();
    b.succeeded();
    expect(b.failed()).toBe(false);
    expect(b.failed()).toBe(false);
    expect(b.state).toBe('closed');
    expect(b.allow()).toBe(true);
    expect(b.failed()).toBe(true);
    expect(b.state).toBe('open');
    expect(b.allow()).toBe(false);
    expect(b.retryInMs()).toBe(10_000);
  });

  it('lets one probe through after the cool-off; its success closes the breaker', () => {
    const { b, advance } = make();
    for (let i = 0; i < 3; i++) b.failed();
    advance(9_999);
    expect(b.allow()).toBe(false);
    advance(1);
    expect(b.state).toBe('half_open');
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(false);
    b.succeeded();
    expect(b.state).toBe('closed');
    expect(b.allow()).toBe(true);
    // Closed again: it takes K failures anew to open.
    expect(b.failed()).toBe(false);
  });

  it('opens again for a whole cool-off when the probe fails', () => {
    const { b, advance } = make();
    for (let i = 0; i < 3; i++) b.failed();
    advance(10_000);
    expect(b.allow()).toBe(true);
    expect(b.failed()).toBe(true);
    expect(b.state).toBe('open');
    advance(5_000);
    expect(b.allow()).toBe(false);
    advance(5_000);
    expect(b.allow()).toBe(true);
  });

  it('lets another probe go when the first never reported for a whole cool-off', () => {
    const { b, advance } = make();
    for (let i = 0; i < 3; i++) b.failed();
    advance(10_000);
    expect(b.allow()).toBe(true);
    advance(9_000);
    expect(b.allow()).toBe(false);
    advance(1_000);
    expect(b.allow()).toBe(true);
  });

  it('counts failures a client may have caused once per client in a run: one client alone never opens it', () => {
    const { b } = make();
    for (let i = 0; i < 10; i++) expect(b.failedFor('key_a')).toBe(false);
    expect(b.state).toBe('closed');
    expect(b.failedFor('key_b')).toBe(false);
    expect(b.failedFor('key_c')).toBe(true);
    expect(b.state).toBe('open');
  });

  it('mixes both kinds in one run, and an answer starts the count of clients afresh', () => {
    const { b } = make();
    b.failedFor('key_a');
    b.failed();
    b.succeeded();
    b.failedFor('key_a');
    b.failedFor('key_a');
    expect(b.failed()).toBe(false);
    expect(b.failed()).toBe(true);
  });

  it('a probe that its client abandoned, or that failed in a way its client may have caused, lets the next probe go at once', () => {
    const { b, advance } = make();
    for (let i = 0; i < 3; i++) b.failed();
    advance(10_000);
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(false);
    b.inconclusive();
    expect(b.allow()).toBe(true);
    expect(b.failedFor('key_a')).toBe(false);
    expect(b.state).toBe('half_open');
    expect(b.allow()).toBe(true);
    // A failure no client chooses still opens it again.
    expect(b.failed()).toBe(true);
    expect(b.allow()).toBe(false);
  });

  it('an abandoned request while closed or open changes nothing', () => {
    const { b } = make();
    b.inconclusive();
    for (let i = 0; i < 3; i++) b.failed();
    b.inconclusive();
    expect(b.allow()).toBe(false);
  });
});
