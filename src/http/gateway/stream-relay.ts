import type { ServerResponse } from 'node:http';
import { type ApiFormat, anthropicError, anthropicErrorBody } from '../../core/anthropic-errors.js';
import { TollgateError } from '../../core/errors.js';
import type { TokenCounts } from '../../core/pricing.js';
import { mayHoldProviderDetails, withoutProviderDetails } from '../../core/provider-details.js';
import type { Speed } from '../../core/speed.js';
import { MAX_SSE_EVENT_BYTES, SseEventTooLarge, SseFramer } from '../../core/sse.js';
import { answerFinished, answerOutput, type ErrorEventRewrite, inspectEvents, lastEventOf, serviceTierNamedIn, streamShapeFor } from '../../core/stream-usage.js';
import { anthropicErrorBodyOf } from '../../core/translate/error-bodies.js';
import type { UpstreamResponse } from '../../core/upstream.js';
import { cutIfStalled } from './client-stall.js';
import type { CallDeadline } from './deadline-read-on.js';
import { clientResponseHeaders } from './forward-headers.js';

export interface StreamResult {
  /** The stream ended properly ([DONE], or the Responses API's response.completed, .incomplete or .failed). */
  complete: boolean;
  tokens: TokenCounts | null;
  /** Whether `tokens` are the stream's final usage (a chat usage chunk, a final Response, Anthropic's message_delta). */
  final: boolean;
  /** Generated output seen, for counting when the upstream reported no usage, or a stream ended before its last usage. */
  text: string;
  /** Bytes of audio it delivered (a spoken chat answer's), counted as `text` is. */
  audioBytes?: number;
  /** The service tier the stream named (its usage chunk, or the final Response), or null. */
  serviceTier: string | null;
  /** The speed an Anthropic stream named (core/speed.ts), or null when it reported no usage. */
  speed: Speed | null;
}

const CUT_OFF_MESSAGE = 'The upstream stream ended unexpectedly.';
const TOO_LARGE_MESSAGE = `The upstream stream sent an event larger than ${MAX_SSE_EVENT_BYTES / (1024 * 1024)} MiB; the stream was cut there.`;

/**
 * Why a stream ended without its end: `err` what broke it off, if anything (an event past the framer's bound,
 * core/sse.ts, is named as such; anything else is a cut).
 */
export function cutOffMessage(err: unknown): string {
  return err instanceof SseEventTooLarge ? TOO_LARGE_MESSAGE : CUT_OFF_MESSAGE;
}

/**
 * The event that ends a stream the upstream cut off (or whose event grew past the framer's bound: `message`), for the
 * client's API. Anthropic's is Tollgate's own error, so it carries what every other does on those paths
 * (docs/providers.md): the request's id in `request_id` and the code in `details.error_code`. The Responses API ends a
 * failed stream with its own `error` event (ResponseErrorEvent: type, code, message, param and the next sequence
 * number), which clients of that API parse (the Vercel AI SDK refuses the chat-shaped one); `events` are the last
 * events relayed.
 */
export function cutOffEvent(format: ApiFormat | undefined, endpoint: string, events: Buffer | null, requestId: string, message = CUT_OFF_MESSAGE): string {
  if (format === 'anthropic') return anthropicErrorEvent(new TollgateError('upstream_error', message), requestId);
  if (!(endpoint === '/responses' || endpoint.startsWith('/responses/'))) {
    return `data: ${JSON.stringify({ error: { message, type: 'api_error', param: null, code: 'upstream_error' } })}\n\n`;
  }
  let next = 0;
  if (events) for (const m of events.toString('latin1').matchAll(/"sequence_number"\s*:\s*(\d+)/g)) next = Math.max(next, Number(m[1]) + 1);
  const error = { type: 'error', code: 'upstream_error', message, param: null, sequence_number: next };
  return `event: error\ndata: ${JSON.stringify(error)}\n\n`;
}

/** Tollgate's own error as an Anthropic stream's `error` event. */
export function anthropicErrorEvent(err: TollgateError, requestId: string): string {
  return `event: error\ndata: ${JSON.stringify(anthropicErrorBody(err, requestId))}\n\n`;
}

/**
 * A provider's own error event inside a stream, as the client gets it: as an error the provider answered over HTTP
 * (proxy.ts), without the provider's account details or keys (`secrets`), and, in Anthropic's shape, with Tollgate's
 * request id in `request_id` (the provider's goes out as `x-upstream-request-id`; docs/providers.md). OpenAI's error
 * shapes carry no id member: their event passes on as it is but for those details.
 */
export function upstreamErrorEvent(format: ApiFormat | undefined, requestId: string, secrets: readonly string[]): ErrorEventRewrite {
  return (event, data) => {
    if (format !== 'anthropic') return mayHoldProviderDetails(event, secrets) ? withoutProviderDetails(event, secrets) : null;
    const body = anthropicErrorBodyOf(withoutProviderDetails(JSON.stringify(data), secrets));
    const error = data.error as { message?: unknown } | undefined;
    const shaped = body
      ? { ...body, request_id: requestId }
      : anthropicError(502, withoutProviderDetails(String(error?.message ?? 'The upstream stream failed.'), secrets), requestId);
    return `event: error\ndata: ${JSON.stringify(shaped)}\n\n`;
  };
}

/** Bytes of content events kept for counting when the upstream never reports usage, before they are condensed to text. */
const MAX_KEPT_FOR_COUNTING = 4 * 1024 * 1024;

/**
 * Relays Server-Sent Events as they arrive (never buffering the whole answer), reading `usage` on the way. Events
 * without a usage or end marker are forwarded byte for byte, uninspected; when the gateway asked for usage on the
 * client's behalf, the extra usage-only chunk is dropped. The last events go out with the end of the response (one
 * write, not two). A stream cut off by the upstream, or one of whose events grows past the framer's bound
 * (core/sse.ts), ends with an error event in the client's shape.
 */
export async function relayStream(
  raw: ServerResponse,
  res: UpstreamResponse,
  o: {
    endpoint: string;
    injectUsage: boolean;
    admissionHeaders: Record<string, string>;
    requestId: string;
    /**
     * The providers' API keys, kept out of a provider's error event relayed (upstreamErrorEvent) and of the answer's
     * headers (clientResponseHeaders). Required: a caller that left it out relayed both unscrubbed.
     */
    secrets: readonly string[];
    isClientGone: () => boolean;
    /** TOLLGATE_CLIENT_STALL_TIMEOUT_MS: a client that takes no bytes for this long while output waits is cut (client-stall.ts). */
    stallMs: number;
    format?: ApiFormat;
    /**
     * Set once the answer's generation is over (core/stream-usage.ts answerFinished): from then on a client that hangs
     * up leaves the stream read to its end for its usage (watchHangUp), which this relay goes on reading unwritten.
     */
    generation?: { finished: boolean };
    /**
     * The request's deadline: when it passes with the call read on (deadline-read-on.ts), the client's stream is ended
     * there with a cut-off event (`cutMessage`), and the rest read unwritten for its usage.
     */
    deadline?: Pick<CallDeadline, 'relaying'>;
    cutMessage?: string;
  },
): Promise<StreamResult> {
  const shape = streamShapeFor(o.endpoint);
  const errorEvent = upstreamErrorEvent(o.format, o.requestId, o.secrets);
  const headers = clientResponseHeaders(res.headers, o.requestId, o.format ?? 'openai', o.secrets);
  for (const name in o.admissionHeaders) headers[name] = o.admissionHeaders[name];
  // Relayed as events whatever the upstream called them (`text/plain`, `Text/Event-Stream`: proxy.ts), the client is told so.
  const type = headers['content-type'];
  if (typeof type !== 'string' || !type.startsWith('text/event-stream')) headers['content-type'] = 'text/event-stream; charset=utf-8';
  headers['cache-control'] = 'no-cache';
  headers['x-accel-buffering'] = 'no';
  const framer = new SseFramer();
  let tokens: TokenCounts | null = null;
  let provisional = false;
  let serviceTier: string | null = null;
  let speed: Speed | null = null;
  let complete = false;
  /** Whether the provider sent its own error event: the client has an error, and needs no cut-off event after it. */
  let errored = false;
  /** Content events, kept (bounded) in case the upstream never reports usage and the tokenizer has to count. */
  const kept: Buffer[] = [];
  let keptBytes = 0;
  /** The text of kept events already condensed, and the bytes of audio they delivered. */
  let keptText = '';
  let keptAudio = 0;
  /** Output held back once the stream's end marker was seen, to be written together with the end. */
  let last: Buffer | string | null = null;
  // What one read of the upstream socket delivers (undici hands over each HTTP chunk of it apart: a chat stream that
  // asked for usage came as three, its events, the usage chunk and [DONE]) is relayed as one burst, once that read is
  // handled (a microtask): one inspection, and one write to the client instead of one per chunk. A client that reads
  // slower than the upstream writes pauses the upstream until the client's socket drains; one that reads nothing for
  // `stallMs` is cut (client-stall.ts), as if it had hung up.
  let burst: Buffer[] = [];
  let scheduled = false;
  /** The events of the last burst (a Responses stream's cut-off event follows their sequence numbers). */
  let lastEvents: Buffer | null = null;
  // relayBurst and onDrain run only once `piped` is set (a microtask later, and on a drain after a write).
  let draining = false;
  const onDrain = () => {
    draining = false;
    piped.resume();
  };
  /** Whether the client's stream was ended at the request's deadline (or answered 504 before it began): nothing more is written. */
  let ended = false;
  o.deadline?.relaying(() => {
    // Its end already seen (only its last write to come) and its client there: it ends as it would have.
    if (complete && !raw.destroyed) return;
    ended = true;
    if (!raw.headersSent || raw.writableEnded || raw.destroyed) return;
    if (draining) {
      raw.off('drain', onDrain);
      onDrain();
    }
    if (last !== null) raw.write(last);
    last = null;
    raw.end(cutOffEvent(o.format, o.endpoint, lastEvents, o.requestId, o.cutMessage));
    if (!raw.writableFinished) cutIfStalled(raw, o.stallMs);
  });
  if (!ended) raw.writeHead(res.statusCode, headers);
  /** Writes to the client; a full socket pauses the upstream until it drains (or the client is cut as stalled). */
  const send = (out: Buffer | string): void => {
    if (raw.write(out) || draining) return;
    draining = true;
    piped.pause();
    raw.once('drain', onDrain);
    cutIfStalled(raw, o.stallMs);
  };
  const relayBurst = (): void => {
    scheduled = false;
    if (burst.length === 0) return;
    const chunk = burst.length === 1 ? burst[0] : Buffer.concat(burst);
    burst = [];
    const events = framer.push(chunk);
    if (events) relayEvents(events);
  };
  /** Inspects complete events and relays what the client gets of them. */
  const relayEvents = (events: Buffer): void => {
    lastEvents = events;
    const generation = o.generation;
    if (generation && !generation.finished && answerFinished(events, shape)) generation.finished = true;
    // A client gone: nothing more is written; the rest is read only for its usage (a stream whose generation was over,
    // or one read on past its deadline).
    const gone = ended || raw.destroyed || o.isClientGone();
    if (gone && !ended && !generation?.finished) return;
    // Events after the end marker (an image stream of several images is complete at its first): what was held goes now.
    if (last !== null && !gone) {
      const held = last;
      last = null;
      send(held);
    }
    const seen = inspectEvents(events, shape, o.injectUsage, tokens, provisional, errorEvent);
    tokens = seen.tokens;
    provisional = seen.provisional;
    serviceTier = seen.serviceTier ?? serviceTier;
    if (serviceTier === null && shape.namesTierEarly) serviceTier = serviceTierNamedIn(events);
    speed = seen.speed ?? speed;
    complete ||= seen.complete;
    errored ||= seen.errored;
    // Kept while the usage reported so far is not the last (Anthropic's message_start says 1 output token, its
    // message_delta the real count), so a stream cut before its final usage is counted from what it delivered.
    // Kept too when the usage named no output count (outputUnnamed: a prompt_tokens without completion_tokens).
    if (!tokens || provisional || tokens.outputUnnamed) {
      kept.push(events);
      keptBytes += events.length;
      // Past the bound, what is kept is condensed to the text it delivered (a small part of its events' bytes): only
      // the first 4 MiB of events were counted, 34,727 of 120,001 tokens delivered (found by an outside review).
      if (keptBytes >= MAX_KEPT_FOR_COUNTING) {
        const condensed = answerOutput(kept);
        keptText += condensed.text;
        keptAudio += condensed.audioBytes;
        kept.length = 0;
        keptBytes = 0;
      }
    }
    if (complete) last = seen.out;
    else if (!gone && seen.out.length > 0) send(seen.out);
  };
  // A burst that throws (an event past the framer's bound; nothing else in it should) ends the exchange as a broken
  // stream, never the process.
  let burstError = false;
  /** What broke the stream off (a burst's error, or the upstream body's), named in the cut-off event. */
  let breakage: unknown = null;
  const relayScheduled = (): void => {
    try {
      relayBurst();
    } catch (err) {
      burstError = true;
      breakage ??= err;
      piped.cancel();
    }
  };
  const piped = res.body.pipe((chunk) => {
    burst.push(chunk);
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(relayScheduled);
    }
    return true;
  });
  // A client that hangs up while the upstream waits for its socket to drain: the rest is read (for its usage) or the
  // upstream was aborted (watchHangUp); either way, nothing is held back for a drain that will not come.
  raw.once('close', onDrain);
  let failed = false;
  try {
    await piped.done;
  } catch (err) {
    failed = true;
    breakage ??= err;
  }
  try {
    // What the last read brought, if its microtask has not run yet.
    if (!burstError) relayScheduled();
    // A stream the provider broke off with its own error event is not complete, whatever came after it ([DONE]).
    if (failed || burstError || errored) complete = false;
    else {
      // A clean end: what came after the last blank line is the last event, read as every other (lastEventOf).
      const rest = lastEventOf(framer.rest());
      if (rest !== null) relayEvents(rest);
    }
  } finally {
    raw.off('drain', onDrain);
    raw.off('close', onDrain);
  }
  const final = tokens !== null && !provisional;
  // A stream that ended without its final usage (message_delta's output count) is counted from what it delivered,
  // whether it ended properly or was cut (token-fallback.ts streamedTokens).
  // (Assigned in the pump's closure: read through a cast, or TypeScript takes it for the null it was set to.)
  const counted = final && (tokens as TokenCounts | null)?.outputUnnamed !== true ? null : answerOutput(kept);
  const text = counted === null ? '' : keptText + counted.text;
  const audioBytes = counted === null ? 0 : keptAudio + counted.audioBytes;
  // A client that went away gets its socket destroyed: ending a response to a half-closed socket would leave the
  // connection open and hold up graceful shutdown. One ended at its deadline was ended whole.
  if (ended) {
    // nothing more to write
  } else if (o.isClientGone()) raw.destroy();
  else if (!raw.destroyed) {
    // A stream the provider ended with its own error event is broken off too (billed as such), but its client was
    // told so by that event: a second error after it would be one too many (found by an outside review).
    if (!complete && !errored) {
      if (last !== null) raw.write(last);
      last = cutOffEvent(o.format, o.endpoint, lastEvents, o.requestId, cutOffMessage(breakage));
    }
    if (last !== null && last.length > 0) raw.end(last);
    else raw.end();
    if (!raw.writableFinished) cutIfStalled(raw, o.stallMs);
  }
  return { complete, tokens, final, text, serviceTier, speed, ...(audioBytes > 0 ? { audioBytes } : {}) };
}
