import { describe, expect, it } from 'vitest';
import { AbortHandle } from '../../core/abort-handle.js';
import { DetachedReads } from './detached-reads.js';

// A shutdown lets the answers read on after their client left finish within its grace, then aborts the rest: an
// upstream pool's close would otherwise wait for them to their deadline (10 minutes by default).
describe('DetachedReads', () => {
  /** A request that ends (and is metered) a turn after it is aborted, or after `ms` on its own. */
  const request = (reads: DetachedReads, ms: number) => {
    const h = new AbortHandle();
    const timer = setTimeout(() => reads.done(h), ms);
    h.onAbort(() => {
      clearTimeout(timer);
      setImmediate(() => reads.done(h));
    });
    reads.add(h);
    return h;
  };

  it('waits for reads that end within the grace, and aborts the rest once it is over', async () => {
    const reads = new DetachedReads();
    const quick = request(reads, 50);
    const slow = request(reads, 60_000);
    const started = performance.now();
    expect(await reads.drain(300)).toBe(1);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect({ quick: quick.aborted, slow: slow.aborted, left: reads.size }).toEqual({ quick: false, slow: true, left: 0 });
  });

  it('returns at once with nothing under way', async () => {
    const started = performance.now();
    expect(await new DetachedReads().drain(10_000)).toBe(0);
    expect(performance.now() - started).toBeLessThan(100);
  });
});
