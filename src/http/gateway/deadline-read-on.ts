import type { ServerResponse } from 'node:http';
import type { AbortHandle } from '../../core/abort-handle.js';
import type { Admission } from '../../core/request-guard.js';
import { readOnMs } from '../../core/upstream.js';
import { Deadlines } from './deadlines.js';
import type { DetachedReads } from './detached-reads.js';
import type { GatewayContext } from './gateway-context.js';
import { answerTimedOut, type LateAnswer } from './late-answer.js';
import type { RequestInfo } from './proxy.js';

// A model call the gateway cut at its provider's `total_ms` was billed a bound (deadline-bound.ts): its counted input
// and its max_tokens of output. That kept hard caps safe, but over-billed every call whose generation was smaller, and
// billed a provider that hung a full bound. The cut now ends only the client's wait (a 504, or its stream's end): the
// upstream call is read on, as after a client's hang-up on a reasoning stream (token-fallback.ts readOnAfterHangUp),
// for `total_ms` again (core/upstream.ts readOnMs), and billed the usage it comes with; the bound only when the read-on
// ends without it (the upstream broke off, never answered, or a shutdown came first: detached-reads.ts). Its hard
// cap's reservation is held meanwhile, settled only when it is metered.

const DEADLINES = new Deadlines();

/** How a call's client is let go at the deadline while the call is read on; null until then (or when it is cut instead). */
export type DeadlineCut = 'answered' | 'ended' | 'gone' | null;

/**
 * One request's deadline, its provider's `total_ms` from its sending, checked every 250 ms (deadlines.ts). When it
 * passes, `readsOn` decides (deadline-bound.ts billsBoundAtDeadline: a model call whose usage the provider bills): the
 * call is aborted as before, or read on for readOnMs, its client let go now: a stream under way ended by its relay
 * (`relaying`), any other client answered 504 (`answer`), one already gone left so. A shutdown aborts a read-on it
 * cannot wait for (detached-reads.ts), as the read-on's own end does: billed the bound then.
 */
export class CallDeadline {
  /** Whether the deadline passed by its tick. */
  timedOut = false;
  /** How the client was let go when the call is read on past the deadline. */
  cut: DeadlineCut = null;
  private readonly at: number;
  private endStream: (() => void) | null = null;
  private readonly cancelTotal: () => void;
  private cancelReadOn: (() => void) | null = null;

  constructor(
    private readonly totalMs: number,
    private readonly controller: AbortHandle,
    private readonly detached: DetachedReads | undefined,
    private readonly o: {
      /** Asked at the deadline: whether the call is read on past it (else aborted). */
      readsOn: () => boolean;
      /** Whether its client no longer waits (hung up, or answered at the first byte's timeout). */
      clientGone: () => boolean;
      /** Answers its client 504 at the deadline, when no stream of it is under way. */
      answer: () => void;
    },
  ) {
    this.at = performance.now() + totalMs;
    this.cancelTotal = DEADLINES.add(totalMs, () => this.pass());
  }

  /**
   * Whether the deadline has passed. Undici's own timeouts at the deadline (a body silent for total_ms, a late
   * answer's headers) may fire before the deadlines' tick: a failure from then on is the deadline's all the same.
   */
  pastDeadline(): boolean {
    return this.timedOut || performance.now() >= this.at;
  }

  /** Whether the call is read on past its deadline (its client let go). */
  get readingOn(): boolean {
    return this.cut !== null;
  }

  /** Whether its client was let go by the gateway at the deadline (answered 504, or its stream ended), not gone before. */
  get letGo(): boolean {
    return this.cut === 'answered' || this.cut === 'ended';
  }

  /**
   * A stream's relay, under way: `end` ends its client's stream at the deadline, from when on the relay reads on
   * unwritten. Called at once when the client was let go already (answered 504 before the stream began).
   */
  relaying(end: () => void): void {
    this.endStream = end;
    if (this.cut !== null) end();
  }

  /** Called once the request has ended, and been metered. */
  done(): void {
    this.cancelTotal();
    this.cancelReadOn?.();
    this.detached?.done(this.controller);
  }

  private pass(): void {
    this.timedOut = true;
    if (this.controller.aborted) return;
    if (!this.o.readsOn()) {
      this.controller.abort();
      return;
    }
    // Read on without its client: noted first, for a shutdown to let it finish or bill it (detached-reads.ts).
    this.detached?.add(this.controller);
    if (this.o.clientGone()) this.cut = 'gone';
    else if (this.endStream !== null) {
      this.cut = 'ended';
      this.endStream();
    } else {
      this.cut = 'answered';
      this.o.answer();
    }
    this.cancelReadOn = DEADLINES.add(readOnMs(this.totalMs), () => this.controller.abort());
  }
}

/** The message a client let go at its request's deadline is given (a 504's, or its stream's last event's). */
export function cutAtDeadlineMessage(provider: string, totalMs: number): string {
  return `The upstream provider '${provider}' did not finish its answer within ${totalMs} ms (its total_ms); the request goes on there and is billed by its usage when it ends, so sending it again would run it again.`;
}

/** How a forwarded call's client waits (proxy.ts and translated.ts alike): its deadline, and what it tells. */
export interface CallWait {
  deadline: CallDeadline;
  pastDeadline: () => boolean;
  /**
   * Why the client no longer waits for the answer, if it does not: it was answered at the first byte's timeout, or let
   * go at the deadline (answered 504, or its stream ended), or it hung up.
   */
  left: () => 'client_aborted' | 'timeout' | null;
  /** Whether nobody waits for the answer any more, or its deadline passed: no other credential or fallback is tried then. */
  abandoned: () => boolean;
  stopped: () => boolean;
  /** Whether the client was answered already (a 504 at the first byte's timeout, or at the deadline). */
  answered: () => boolean;
  /** Called once the request has ended, and been metered. */
  cancelDeadline: () => void;
}

/**
 * A call's wait from its sending: at its deadline (`totalMs`) a call whose usage the provider bills (`readsOn`) is
 * read on, its client let go: answered 504 (`late`'s, or a new answer), or its stream ended by its relay. `provider`
 * names the upstream sent to last (a fallback's, after one).
 */
export function waitForCall(
  g: GatewayContext,
  res: ServerResponse,
  info: RequestInfo,
  o: {
    totalMs: number;
    controller: AbortHandle;
    late: LateAnswer | null;
    hungUp: () => boolean;
    clientGone: () => boolean;
    provider: () => string;
    /** The admission under way (a fallback's once it took over), whose limit headers a 504 carries. */
    admission: () => Admission;
    readsOn: () => boolean;
  },
): CallWait {
  const deadline = new CallDeadline(o.totalMs, o.controller, g.detached, {
    readsOn: o.readsOn,
    clientGone: o.clientGone,
    answer: () => {
      const message = cutAtDeadlineMessage(o.provider(), o.totalMs);
      if (o.late) o.late.answerAtDeadline(message);
      else answerTimedOut(g, res, info, message, o.admission());
    },
  });
  const abandoned = () => o.clientGone() || deadline.readingOn;
  return {
    deadline,
    pastDeadline: () => deadline.pastDeadline(),
    left: () => (o.late?.answered || deadline.letGo ? 'timeout' : o.hungUp() ? 'client_aborted' : null),
    abandoned,
    stopped: () => o.controller.aborted || abandoned(),
    answered: () => o.late?.answered === true || deadline.cut === 'answered',
    cancelDeadline: () => deadline.done(),
  };
}
