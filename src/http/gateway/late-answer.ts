import type { ServerResponse } from 'node:http';
import type { AbortHandle } from '../../core/abort-handle.js';
import { answeredAfterSending, TollgateError } from '../../core/errors.js';
import type { Admission } from '../../core/request-guard.js';
import type { GatewayContext } from './gateway-context.js';
import { withAdmissionHeaders } from './limit-headers.js';
import type { RequestInfo } from './proxy.js';
import { sendError } from './respond.js';

/**
 * A whole answer billed whoever waits for it, whose first byte is later than its provider's `first_byte_ms`: the
 * client is answered 504 `upstream_timeout` then, as before, but the upstream request goes on to the request's
 * deadline and its answer is read whole and billed, as for a client that hung up (watchHangUp). Found by a review: the
 * first-byte timeout aborted the call and recorded it unbilled, while the provider, which had the request, generated
 * the answer and billed it — a long generation was free for the key and its budget.
 */
export interface LateAnswer {
  /** Whether the client was answered at the first-byte timeout (the upstream request goes on without it). */
  readonly answered: boolean;
  /** UpstreamRequest.onLate. */
  readonly onLate: () => void;
  /**
   * Answers the client 504 at the request's deadline (its provider's `total_ms`), unless it was answered or gone
   * already; the call is read on past it (deadline-read-on.ts), read and billed from then on as one whose client left.
   */
  readonly answerAtDeadline: (message: string) => void;
}

const NO_LOG = { error() {} };

/** The endpoints whose answer can be streamed, the way round a long generation's late first byte. */
const STREAMS: ReadonlySet<string> = new Set(['/chat/completions', '/completions', '/responses', '/messages']);

/**
 * The late-answer state of one request, answering `res` in the client's API when its first byte is late, with the limit
 * headers of its admission (`admission()`: the current one, a fallback's once it took over).
 */
export function lateAnswer(g: GatewayContext, res: ServerResponse, info: RequestInfo, isClientGone: () => boolean, request: AbortHandle, admission: () => Admission): LateAnswer {
  const late = {
    answered: false,
    onLate: () => {
      // A client already gone left the request going (watchHangUp): nobody to answer.
      if (late.answered || res.headersSent || res.destroyed || isClientGone()) return;
      late.answered = true;
      g.detached?.add(request);
      // Not to be retried (x-should-retry: false): the provider is still generating this answer, billed when it ends, and
      // each retry by the client's SDK would start another, as long, billed too, for a 504 again.
      const instead = STREAMS.has(info.endpoint)
        ? "For a long generation, send it with stream: true (its answer begins as it is generated), or ask an operator to raise the provider's first_byte_ms."
        : "Ask an operator to raise the provider's first_byte_ms for such requests.";
      const message = `The upstream provider '${info.provider ?? 'upstream'}' did not begin its answer within its first_byte_ms; the request goes on there and is billed by its usage when it ends, so sending it again would run it again. ${instead}`;
      answerTimedOut(g, res, info, message, admission());
    },
    answerAtDeadline: (message: string) => {
      if (late.answered || res.headersSent || res.destroyed || isClientGone()) return;
      late.answered = true;
      g.detached?.add(request);
      answerTimedOut(g, res, info, message, admission());
    },
  };
  return late;
}

/**
 * Answers 504 `upstream_timeout` (`message`) while the upstream request goes on: not to be retried (x-should-retry:
 * false); with the limit headers of the request's `admission`.
 */
export function answerTimedOut(g: GatewayContext, res: ServerResponse, info: RequestInfo, message: string, admission: Admission): void {
  sendError(res, withAdmissionHeaders(answeredAfterSending(new TollgateError('upstream_timeout', message)), admission, info.format), g.log ?? NO_LOG, info.requestId, info.format);
}
