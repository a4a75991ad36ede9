import type { ServerResponse } from 'node:http';
import { AbortHandle } from '../../core/abort-handle.js';
import type { DetachedReads } from './detached-reads.js';

export { AbortHandle };

/**
 * Watches for the client hanging up before its answer ended; the returned function says whether it has. Then the
 * upstream call is aborted (a stream: the provider stops generating, and what was relayed is billed) unless
 * `keepUpstream`: a whole answer a provider bills whether anyone waits for it is read to its end and billed, so that
 * hanging up just before a costly answer does not make it free for the key (and its budget) while the account pays.
 * `keepUpstream` may also be asked at the hang-up: a stream whose generation is over (its usage still to come) is read
 * to its end, so that hanging up between an answer's last words and its usage does not leave it unbilled.
 * The listener is left attached: once the answer is finished, 'close' finds it finished (removing it cost ~0.5 µs
 * per request).
 */
export function watchHangUp(
  res: ServerResponse,
  controller: AbortHandle,
  keepUpstream: boolean | ((cutByGateway: boolean) => boolean),
  detached?: DetachedReads,
): () => boolean {
  let gone = false;
  res.on('close', () => {
    if (res.writableFinished) return;
    gone = true;
    if (!(typeof keepUpstream === 'function' ? keepUpstream(cutResponses.has(res)) : keepUpstream)) controller.abort();
    // Read on without its client: noted, for a shutdown to let it finish (detached-reads.ts).
    else detached?.add(controller);
  });
  return () => gone;
}

/** Answers the gateway cut itself (cutByGateway), not their clients. */
const cutResponses = new WeakSet<ServerResponse>();

/**
 * Cuts an answer under way because its key no longer lets it through (revoked, found exposed, expired, its project
 * archived: live-requests.ts). Told apart from a client hanging up: a stream that may have reasoned unseen is read on
 * to its usage when its client leaves (token-fallback.ts), but one the gateway cut stops at the provider too, so that
 * a leaked key's generations stop spending at once (found by review once every model not known to show all it
 * generates was read on).
 */
export function cutByGateway(res: ServerResponse): void {
  cutResponses.add(res);
  res.destroy();
}

interface Deadline {
  at: number;
  /** Position in the pending list, -1 once cancelled or fired. */
  index: number;
  fire(): void;
}

/**
 * Total-time limits of in-flight requests, checked by one timer every 250 ms instead of a timer per request. They are
 * elapsed real time, so they read the monotonic clock the timer runs on, not the injected wall clock. A request can overrun its limit by at most the tick. The pending list is an array with swap-removal: measured
 * against a Set, whose churn made the young generation promote ~1.4 MB per scavenge under load.
 */
export class Deadlines {
  private readonly pending: Deadline[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly tickMs = 250) {}

  /** Calls `fire` once `ms` have passed, unless cancelled by the returned function first. */
  add(ms: number, fire: () => void): () => void {
    const d: Deadline = { at: performance.now() + ms, index: this.pending.length, fire };
    this.pending.push(d);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.tickMs);
      this.timer.unref();
    }
    return () => this.remove(d);
  }

  private remove(d: Deadline): void {
    const i = d.index;
    if (i < 0) return;
    const last = this.pending.pop() as Deadline;
    if (last !== d) {
      this.pending[i] = last;
      last.index = i;
    }
    d.index = -1;
  }

  private tick(): void {
    const now = performance.now();
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const d = this.pending[i];
      if (d && d.at <= now) {
        this.remove(d);
        d.fire();
      }
    }
    if (this.pending.length === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
