import type { AbortHandle } from '../../core/abort-handle.js';

/**
 * Upstream requests still read after their client stopped waiting (a hang-up on a whole answer, an answer later than
 * its first-byte timeout, a model call past its deadline: watchHangUp, late-answer.ts, deadline-read-on.ts), so that
 * they are billed. Nothing holds them but this: at a shutdown the HTTP server has nothing left to drain, and an upstream
 * pool's close would wait for them up to their deadline (`total_ms`, 10 minutes by default, and as long again read on). So a shutdown gives them its grace to finish and be billed, then aborts
 * them (billed nothing, as a hang-up whose upstream fails; a model call read on past its deadline is billed its bound:
 * deadline-read-on.ts), before the usage is flushed.
 */
export class DetachedReads {
  private readonly pending = new Set<AbortHandle>();

  /** Notes a request read on without its client; `done` once it has ended and been metered. */
  add(request: AbortHandle): void {
    this.pending.add(request);
  }

  done(request: AbortHandle): void {
    this.pending.delete(request);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Waits up to `graceMs` for the reads under way, aborts what remains and waits a moment for it to be metered; returns how many were aborted. */
  async drain(graceMs: number): Promise<number> {
    const until = performance.now() + graceMs;
    while (this.pending.size > 0 && performance.now() < until) await pause(50);
    const left = [...this.pending];
    for (const request of left) request.abort();
    // An aborted exchange settles on its next turn of the event loop; its request is metered then.
    for (let i = 0; i < 20 && this.pending.size > 0; i++) await pause(50);
    return left.length;
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
