import { EventEmitter } from 'node:events';

/**
 * A cheap abort signal for undici (which accepts an EventEmitter with an `abort` event): Node's AbortController and
 * EventTarget cost several microseconds per request on the hot path.
 */
export class AbortEmitter extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

interface Deadline {
  at: number;
  fire(): void;
}

/**
 * Total-time limits of in-flight requests, checked by one timer every 250 ms instead of a timer per request.
 * A request can overrun its limit by at most the tick.
 */
export class Deadlines {
  private readonly pending = new Set<Deadline>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly tickMs = 250) {}

  /** Calls `fire` once `ms` have passed, unless cancelled by the returned function first. */
  add(ms: number, fire: () => void): () => void {
    const d: Deadline = { at: Date.now() + ms, fire };
    this.pending.add(d);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.tickMs);
      this.timer.unref();
    }
    return () => {
      this.pending.delete(d);
    };
  }

  private tick(): void {
    const now = Date.now();
    for (const d of this.pending) {
      if (d.at <= now) {
        this.pending.delete(d);
        d.fire();
      }
    }
    if (this.pending.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
