import type { ServerResponse } from 'node:http';
import type { TokenCounts } from '../../core/pricing.js';
import type { UpstreamResponse } from '../../providers/types.js';
import { clientResponseHeaders } from './forward-headers.js';
import { boundaryEndsAt, eventData, lastBoundaryEnd, nextBoundaryEnd, SseFramer, splitEvents } from './sse.js';
import { deltaText, tokensFromUsage } from './usage-extract.js';

export interface StreamResult {
  /** The stream ended properly ([DONE] or response.completed). */
  complete: boolean;
  tokens: TokenCounts | null;
  /** Generated text seen, for counting when the upstream reported no usage. */
  text: string;
}

const CUT_OFF = `data: ${JSON.stringify({
  error: { message: 'The upstream stream ended unexpectedly.', type: 'api_error', param: null, code: 'upstream_error' },
})}\n\n`;

/**
 * What the relay looks for in an endpoint's stream: the markers of the events it must look into (the others pass
 * through as bytes, never decoded), and whether the stream ends with a `data: [DONE]` event.
 */
interface StreamShape {
  markers: Buffer[];
  /** The markers still worth looking for before a `[DONE]` that ends the chunk. */
  beforeDone: Buffer[];
  endsWithDone: boolean;
}
const bytes = (...markers: string[]) => markers.map((m) => Buffer.from(m));
const CHAT_SHAPE: StreamShape = { markers: bytes('"usage"', '[DONE]'), beforeDone: bytes('"usage"'), endsWithDone: true };
const SHAPES: Record<string, StreamShape> = {
  '/chat/completions': CHAT_SHAPE,
  '/completions': CHAT_SHAPE,
  // The Responses API reports usage inside its response.completed event, and sends no [DONE].
  '/responses': { markers: bytes('response.completed'), beforeDone: bytes('response.completed'), endsWithDone: false },
};
const ANY_SHAPE: StreamShape = {
  markers: bytes('"usage"', '[DONE]', 'response.completed'),
  beforeDone: bytes('"usage"', 'response.completed'),
  endsWithDone: true,
};
const DONE = '[DONE]';
const COMPLETED = 'response.completed';
/** The end event as upstreams send it, nearly always last in its chunk: recognised there without a search. */
const DONE_EVENTS = bytes('data: [DONE]\n\n', 'data: [DONE]\r\n\r\n');

/** Where a `data: [DONE]` event that ends `buf` starts, or -1. */
function doneAtEnd(buf: Buffer): number {
  for (const done of DONE_EVENTS) {
    const start = buf.length - done.length;
    if (start < 0 || (start > 0 && !boundaryEndsAt(buf, start))) continue;
    let i = done.length - 1;
    while (i >= 0 && buf[start + i] === done[i]) i--;
    if (i < 0) return start;
  }
  return -1;
}

/** Bytes of content events kept for counting when the upstream never reports usage. */
const MAX_KEPT_FOR_COUNTING = 4 * 1024 * 1024;

/** The generated text of the relayed events (only needed when the upstream reported no usage). */
function answerText(kept: Buffer[]): string {
  let text = '';
  for (const ev of splitEvents(Buffer.concat(kept).toString('utf8'))) {
    const data = eventData(ev);
    if (!data || data === DONE) continue;
    try {
      text += deltaText(JSON.parse(data));
    } catch {
      // not JSON: no text
    }
  }
  return text;
}

const USAGE = Buffer.from('"usage"');

function isUsageAt(buf: Buffer, at: number): boolean {
  let i = USAGE.length - 1;
  while (i >= 0 && buf[at + i] === USAGE[i]) i--;
  return i < 0;
}

/**
 * Whether the `"usage"` at `at` is a member set to null: OpenAI sends `"usage":null` in every chunk of a stream that
 * asked for usage, and those events need no decoding.
 */
function isNullUsage(buf: Buffer, at: number): boolean {
  let i = at + USAGE.length;
  while (i < buf.length && (buf[i] === 0x3a || buf[i] === 0x20 || buf[i] === 0x09)) i++;
  return buf[i] === 0x6e; // n(ull)
}

/**
 * The next marker of `markers` in `buf` before `limit`, from per-marker positions found so far (`next`, -1 when a
 * marker has no further occurrence): each marker is searched for again only once passed, not on every step.
 */
function nextMarker(buf: Buffer, from: number, limit: number, markers: Buffer[], next: number[]): number {
  let at = -1;
  for (let m = 0; m < markers.length; m++) {
    let i = next[m];
    if (i >= 0 && i < from) next[m] = i = buf.indexOf(markers[m], from);
    if (i >= 0 && i < limit && (at < 0 || i < at)) at = i;
  }
  return at;
}

interface Inspected {
  /** What the client gets of these events. */
  out: Buffer;
  complete: boolean;
  tokens: TokenCounts | null;
}

/**
 * Looks only into the events that carry a marker (usage, [DONE], response.completed): reads usage and the end of the
 * stream, and drops the usage-only chunk the gateway asked for. Everything else is passed on as the same bytes.
 */
function inspect(events: Buffer, shape: StreamShape, injectUsage: boolean, tokens: TokenCounts | null): Inspected {
  const kept: Buffer[] = [];
  let copied = 0;
  // A [DONE] event at the end of the chunk needs no search and no decoding; markers are looked for before it.
  const doneAt = shape.endsWithDone ? doneAtEnd(events) : -1;
  let complete = doneAt >= 0;
  const limit = doneAt >= 0 ? doneAt : events.length;
  const markers = complete ? shape.beforeDone : shape.markers;
  const next = limit > 0 ? markers.map((m) => events.indexOf(m)) : [];
  for (let at = limit > 0 ? nextMarker(events, 0, limit, markers, next) : -1; at >= 0; ) {
    if (isUsageAt(events, at) && isNullUsage(events, at)) {
      at = nextMarker(events, at + USAGE.length, limit, markers, next);
      continue;
    }
    // The event holding the marker: from just after the blank line before it to just after its own.
    const start = Math.max(0, lastBoundaryEnd(events, at));
    const end = nextBoundaryEnd(events, at);
    const data = eventData(events.toString('utf8', start, end));
    let drop = false;
    if (data === DONE) complete = true;
    else if (data) {
      let obj: Record<string, unknown> | null = null;
      try {
        obj = JSON.parse(data);
      } catch {
        obj = null;
      }
      if (obj?.usage) {
        tokens = tokensFromUsage(obj.usage) ?? tokens;
        drop = injectUsage && Array.isArray(obj.choices) && obj.choices.length === 0;
      }
      if (obj?.type === COMPLETED) {
        complete = true;
        tokens = tokensFromUsage((obj.response as { usage?: unknown } | undefined)?.usage) ?? tokens;
      }
    }
    if (drop) {
      kept.push(events.subarray(copied, start));
      copied = end;
    }
    at = end < limit ? nextMarker(events, end, limit, markers, next) : -1;
  }
  if (copied === 0) return { out: events, complete, tokens };
  kept.push(events.subarray(copied));
  return { out: Buffer.concat(kept), complete, tokens };
}

/**
 * Relays Server-Sent Events as they arrive (never buffering the whole answer), reading `usage` on the way. Events
 * without a usage or end marker are forwarded byte for byte, uninspected; when the gateway asked for usage on the
 * client's behalf, the extra usage-only chunk is dropped. The last events go out with the end of the response (one
 * write, not two). A stream cut off by the upstream ends with an OpenAI-shaped error event.
 */
export async function relayStream(
  raw: ServerResponse,
  res: UpstreamResponse,
  o: { endpoint: string; injectUsage: boolean; admissionHeaders: Record<string, string>; isClientGone: () => boolean },
): Promise<StreamResult> {
  const shape = SHAPES[o.endpoint] ?? ANY_SHAPE;
  const headers = clientResponseHeaders(res.headers);
  for (const name in o.admissionHeaders) headers[name] = o.admissionHeaders[name];
  headers['cache-control'] = 'no-cache';
  headers['x-accel-buffering'] = 'no';
  raw.writeHead(res.statusCode, headers);
  const framer = new SseFramer();
  let tokens: TokenCounts | null = null;
  let complete = false;
  /** Content events, kept (bounded) in case the upstream never reports usage and the tokenizer has to count. */
  const kept: Buffer[] = [];
  let keptBytes = 0;
  /** Output held back once the stream's end marker was seen, to be written together with the end. */
  let last: Buffer | string | null = null;
  // Each chunk is relayed as the upstream socket delivers it (no promise per chunk); a client that reads slower than
  // the upstream writes pauses the upstream socket until the client's socket drains.
  const pipe: { resume?: () => void } = {};
  const onDrain = () => pipe.resume?.();
  const piped = res.body.pipe((chunk) => {
    const events = framer.push(chunk);
    if (!events || raw.destroyed) return true;
    if (last !== null) {
      raw.write(last);
      last = null;
    }
    const seen = inspect(events, shape, o.injectUsage, tokens);
    tokens = seen.tokens;
    complete ||= seen.complete;
    if (!tokens && keptBytes < MAX_KEPT_FOR_COUNTING) {
      kept.push(events);
      keptBytes += events.length;
    }
    if (complete) last = seen.out;
    else if (seen.out.length > 0 && !raw.write(seen.out)) {
      raw.once('drain', onDrain);
      return false;
    }
    return true;
  });
  pipe.resume = piped.resume;
  try {
    await piped.done;
    const rest = framer.rest();
    if (rest?.toString('utf8').trim()) {
      if (last !== null) raw.write(last);
      last = rest;
    }
  } catch {
    complete = false;
  } finally {
    raw.off('drain', onDrain);
  }
  const text = tokens ? '' : answerText(kept);
  // A client that went away gets its socket destroyed: ending a response to a half-closed socket would leave the
  // connection open and hold up graceful shutdown.
  if (o.isClientGone()) raw.destroy();
  else if (!raw.destroyed) {
    if (!complete) {
      if (last !== null) raw.write(last);
      last = CUT_OFF;
    }
    if (last !== null && last.length > 0) raw.end(last);
    else raw.end();
  }
  return { complete, tokens, text };
}
