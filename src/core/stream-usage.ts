import type { TokenCounts } from './pricing.js';
import { answeredServiceTier, anthropicServiceTier } from './service-tier.js';
import { answeredSpeed, type Speed, speedNamed } from './speed.js';
import { boundaryEndsAt, eventData, lastBoundaryEnd, nextBoundaryEnd, splitEvents } from './sse.js';
import { deltaAudioBytes, deltaText, isJsonSpace, lastUsageKey, namesOutputCount, tokensFromUsage, withAnthropicDelta } from './usage-extract.js';

// The stream usage scanner: pure functions over the bytes of Server-Sent Events, apart from the pump that moves them
// (http/gateway/stream-relay.ts). It finds the usage an upstream reports and the end of the stream, and leaves out
// what a client that did not ask for usage must not see. Every fast path here was measured on the gateway bench;
// each says why it is there.

/**
 * What the relay looks for in an endpoint's stream: the markers of the events it must look into (the others pass
 * through as bytes, never decoded), and whether the stream ends with a `data: [DONE]` event.
 */
export interface StreamShape {
  /** ASCII, searched for in the chunk read as latin1 (one character per byte, so offsets are byte offsets). */
  markers: string[];
  /** The markers still worth looking for before a `[DONE]` that ends the chunk. */
  beforeDone: string[];
  endsWithDone: boolean;
  /**
   * What shows the answer's generation over before its usage arrives: a choice's `finish_reason` with a value (chat and
   * legacy completions: the usage chunk comes after), or the events that end it (the Responses API's text done before
   * `response.completed`; Anthropic's `message_delta`, which carries its usage). Not an event that ends one block or
   * tool call of several (Anthropic's content_block_stop ends a thinking block before the text, a Responses stream may
   * call several tools): a client that stops the answer there must stop the provider too.
   */
  finish: 'finish_reason' | EndEvents;
  /**
   * Whether its events name the tier the answer runs at before its usage (every chat chunk's `service_tier`, the
   * Responses API's `response.created`): read early (serviceTierNamedIn), so that a stream cut before its usage is
   * billed at the tier the answer named, not the one asked for.
   */
  namesTierEarly: boolean;
  /**
   * The events whose `type` ends the stream, besides a [DONE] (endsWithDone) and the Responses API's final events:
   * OpenAI's image and transcription streams end after their last event and send no [DONE].
   */
  endEvents?: ReadonlySet<string>;
}
const bytes = (...markers: string[]) => markers.map((m) => Buffer.from(m));
/**
 * Events known by their type (StreamShape.finish): each name with its closing quote, searched for (its opening quote is
 * checked apart: V8 runs along a needle's first character, and a quote is in every member of a stream's JSON; measured
 * on an Anthropic text chunk: 0.9 µs a chunk with it, 0.2 without); a hit counts only as the value of a `"type"` member
 * (isTypeValueAt). The bare name, searched for, was found in any text that spelled it out (found by a review: a text
 * delta saying "message_delta" marked the answer over, and its client's hang-up left the provider generating to
 * max_tokens, billed in full).
 */
export interface EndEvents {
  closed: readonly Buffer[];
}
const endEvents = (...names: string[]): EndEvents => ({ closed: names.map((n) => Buffer.from(`${n}"`, 'latin1')) });
/**
 * The usage member's key without its opening quote (checked apart): V8 searches needles of 7 characters or more with
 * Boyer-Moore-Horspool, whose table it builds on every call (measured over a chat chunk's five events: 1.27 µs for
 * '"usage"', 0.37 µs for 'usage"').
 */
const USAGE = 'usage"';
/**
 * What a provider's own error event holds (`"type":"error"` in Anthropic's and the Responses API's, the `"error"` member
 * of OpenAI's chat chunk), searched for as its tail: a needle whose first character is rare in a stream's JSON (V8
 * runs along the first character; measured over a chat burst: 0.13 µs for 'rror"', 1.2 µs for '"error"'). Any other
 * string ending so (`"overloaded_error"`, a text delta ending in "error") costs one event's decoding.
 */
const ERROR = 'rror"';
const ERROR_BYTES = Buffer.from(ERROR, 'latin1');
/** The Responses API's events that end a stream, each with the final Response (and its usage). */
const RESPONSE_END_EVENTS = ['response.completed', 'response.incomplete', 'response.failed'] as const;
/** The events of an Anthropic message stream that carry its usage and its end. */
const ANTHROPIC_EVENTS = ['message_start', 'message_delta', 'message_stop'] as const;
/**
 * The events that end an image stream (openapi.yaml ImageGenCompletedEvent, ImageEditCompletedEvent), each with its
 * image and usage; then the stream ends, with no [DONE]. Either ends either endpoint's stream. With `n` above 1 one
 * comes per image: the stream is complete once one has come and the stream ends cleanly (a connection broken after
 * it, or an error event, still breaks it off).
 */
const IMAGE_END_EVENTS = ['image_generation.completed', 'image_edit.completed'] as const;
const IMAGE_SHAPE: StreamShape = {
  markers: [USAGE, '[DONE]', ...IMAGE_END_EVENTS, ERROR],
  beforeDone: [USAGE, ...IMAGE_END_EVENTS, ERROR],
  endsWithDone: true,
  finish: endEvents(...IMAGE_END_EVENTS),
  namesTierEarly: false,
  endEvents: new Set(IMAGE_END_EVENTS),
};
/** A transcription stream's last event, with the whole text and its usage (openapi.yaml TranscriptTextDoneEvent); no [DONE]. */
const TRANSCRIPT_END_EVENTS = ['transcript.text.done'] as const;
const CHAT_SHAPE: StreamShape = { markers: [USAGE, '[DONE]', ERROR], beforeDone: [USAGE, ERROR], endsWithDone: true, finish: 'finish_reason', namesTierEarly: true };
const SHAPES: Readonly<Record<string, StreamShape>> = {
  '/chat/completions': CHAT_SHAPE,
  '/completions': CHAT_SHAPE,
  // The Responses API reports usage inside the event that ends the stream (response.completed, or .incomplete when
  // max_output_tokens cut the answer short, or .failed), and sends no [DONE].
  '/responses': {
    markers: [...RESPONSE_END_EVENTS, ERROR],
    beforeDone: [...RESPONSE_END_EVENTS, ERROR],
    endsWithDone: false,
    finish: endEvents('response.output_text.done', ...RESPONSE_END_EVENTS),
    namesTierEarly: true,
  },
  // Anthropic's Messages API: input in message_start, output (cumulative) in message_delta, the end at message_stop.
  '/messages': { markers: [...ANTHROPIC_EVENTS, ERROR], beforeDone: [...ANTHROPIC_EVENTS, ERROR], endsWithDone: false, finish: endEvents('message_delta', 'message_stop'), namesTierEarly: false },
  // OpenAI's image and transcription streams: usage in their last event, then the end without [DONE] (one sent by a
  // compatible server is taken too).
  '/images/generations': IMAGE_SHAPE,
  '/images/edits': IMAGE_SHAPE,
  '/audio/transcriptions': {
    markers: [USAGE, '[DONE]', ...TRANSCRIPT_END_EVENTS, ERROR],
    beforeDone: [USAGE, ...TRANSCRIPT_END_EVENTS, ERROR],
    endsWithDone: true,
    finish: endEvents(...TRANSCRIPT_END_EVENTS),
    namesTierEarly: false,
    endEvents: new Set(TRANSCRIPT_END_EVENTS),
  },
};
const ANY_SHAPE: StreamShape = {
  markers: [USAGE, '[DONE]', ...RESPONSE_END_EVENTS, ERROR],
  beforeDone: [USAGE, ...RESPONSE_END_EVENTS, ERROR],
  endsWithDone: true,
  finish: 'finish_reason',
  namesTierEarly: false,
};
const DONE = '[DONE]';
const RESPONSE_ENDS: ReadonlySet<string> = new Set(RESPONSE_END_EVENTS);
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

const LINE_END = Buffer.from('\n');
const BLANK_LINE = Buffer.from('\n\n');

/**
 * What is left of a stream whose body ended cleanly without a blank line after it (SseFramer.rest), as its last event:
 * with the blank line it lacked, to be inspected and relayed as any other (an upstream that ends `…}}}\n`, or
 * `data: [DONE]` alone, meant that event: its usage was lost, and the cut-off error glued onto it; found by a review).
 * Null when it is blank, or when its data is JSON cut short (a client's SDK would throw on it: the stream is cut there).
 */
export function lastEventOf(rest: Buffer | null): Buffer | null {
  if (rest === null) return null;
  const text = rest.toString('utf8');
  if (text.trim() === '') return null;
  const data = eventData(text);
  if (data !== null && data !== DONE && /^\s*[[{]/.test(data)) {
    try {
      JSON.parse(data);
    } catch {
      return null;
    }
  }
  return Buffer.concat([rest, rest[rest.length - 1] === 0x0a ? LINE_END : BLANK_LINE]);
}

/** The generated text of the relayed events (only needed when the upstream reported no usage). */
export function answerText(kept: Buffer[]): string {
  return answerOutput(kept).text;
}

/** The generated text of the relayed events, and the bytes of audio they delivered (usage-extract.ts deltaAudioBytes). */
export function answerOutput(kept: Buffer[]): { text: string; audioBytes: number } {
  let text = '';
  let audioBytes = 0;
  for (const ev of splitEvents(Buffer.concat(kept).toString('utf8'))) {
    const data = eventData(ev);
    if (!data || data === DONE) continue;
    try {
      const event: unknown = JSON.parse(data);
      text += deltaText(event);
      audioBytes += deltaAudioBytes(event);
    } catch {
      // not JSON: no text
    }
  }
  return { text, audioBytes };
}

/**
 * The next marker of `markers` in `text` before `limit`, from per-marker positions found so far (`next`, -1 when a
 * marker has no further occurrence): each marker is searched for again only once passed, not on every step. The
 * searches run on a latin1 string of the chunk: String#indexOf is a V8 builtin, where Buffer#indexOf crosses into
 * C++ on every call (measured on a chat stream's chunks: ~0.2 µs a call, ~2 µs of the relay's 7.5 per stream).
 */
function nextMarker(text: string, from: number, limit: number, markers: string[], next: number[]): number {
  let at = -1;
  for (let m = 0; m < markers.length; m++) {
    let i = next[m];
    if (i >= 0 && i < from) next[m] = i = text.indexOf(markers[m], from);
    if (i >= 0 && i < limit && (at < 0 || i < at)) at = i;
  }
  return at;
}

export interface Inspected {
  /** What the client gets of these events. */
  out: Buffer;
  complete: boolean;
  tokens: TokenCounts | null;
  /**
   * Whether `tokens` are not the stream's last word: Anthropic's message_start reports 1 output token, and only its
   * message_delta the real count. A chat usage chunk, a final Response and a message_delta naming output_tokens are final.
   */
  provisional: boolean;
  /** The service tier an event read here named (a chat chunk's, or the final Response's), or null. */
  serviceTier: string | null;
  /** The speed an Anthropic event read here named (core/speed.ts: message_start's usage, or message_delta's), or null. */
  speed: Speed | null;
  /**
   * Whether the provider sent its own error event among these (isUpstreamError): the stream ends there, broken off
   * (not complete), and the client has its error (rewritten by `errorEvent`, when given).
   */
  errored: boolean;
}

/**
 * Whether a stream event's data is a provider's error: Anthropic's `error` event and the Responses API's
 * (`"type": "error"`), or OpenAI's chat chunk `{"error": {…}}` (no type; a Responses event that carries an error
 * names its own type, `response.failed`).
 */
export function isUpstreamError(obj: Record<string, unknown> | null): boolean {
  if (obj === null || typeof obj !== 'object') return false;
  if (obj.type === 'error') return true;
  return obj.type === undefined && obj.error !== null && typeof obj.error === 'object';
}

/**
 * What the client gets instead of a provider's error event (`event`: its text, with its blank line; `data`: its data,
 * decoded), or null to pass it on as it is.
 */
export type ErrorEventRewrite = (event: string, data: Record<string, unknown>) => string | null;

const QUOTE = 0x22;
const COLON = 0x3a;
const COMMA = 0x2c;
const NULL = Buffer.from('null');

/**
 * The one null-usage check, in byte offsets of the chunk (the marker search runs on its latin1 string, whose offsets
 * are the same): where the `"usage": null` member whose `usage"` is at `at` starts and ends, with the comma that
 * separates it from the member after it (or else before it); null when the key is not `"usage"` (a longer key ending
 * in `usage"`) or its value is not null. OpenAI sends `"usage":null` in every chunk of a stream that asked for usage.
 */
export function nullUsageSpan(buf: Buffer, at: number): [number, number] | null {
  const key = at - 1;
  if (buf[key] !== QUOTE) return null;
  let i = at + USAGE.length;
  while (isJsonSpace(buf[i])) i++;
  if (buf[i] !== COLON) return null;
  i++;
  while (isJsonSpace(buf[i])) i++;
  if (buf.length < i + NULL.length || NULL.compare(buf, i, i + NULL.length) !== 0) return null;
  const end = i + NULL.length;
  let after = end;
  while (isJsonSpace(buf[after])) after++;
  if (buf[after] === COMMA) return [key, after + 1];
  let before = key - 1;
  while (before >= 0 && isJsonSpace(buf[before])) before--;
  return buf[before] === COMMA ? [before, end] : [key, end];
}

/** Whether the `usage"` at `at` holds nothing to decode: a null usage member, or some other key ending in `usage"`. */
const isIdleUsage = (buf: Buffer, at: number): boolean => buf[at - 1] !== QUOTE || nullUsageSpan(buf, at) !== null;

/**
 * Looks only into the events that carry a marker (usage, [DONE], response.completed, a provider's error): reads usage
 * and the end of the stream. When the gateway asked for usage on the client's behalf, it drops the usage-only chunk and
 * the `"usage": null` member OpenAI sends in every other chunk of such a stream (a client that did not ask gets none, as
 * from OpenAI); a provider's error event goes out as `errorEvent` makes it. Everything else is passed on as the same
 * bytes.
 */
export function inspectEvents(
  events: Buffer,
  shape: StreamShape,
  injectUsage: boolean,
  tokens: TokenCounts | null,
  provisional = false,
  errorEvent?: ErrorEventRewrite,
): Inspected {
  const kept: Buffer[] = [];
  let copied = 0;
  // A [DONE] event at the end of the chunk needs no search and no decoding; markers are looked for before it.
  const doneAt = shape.endsWithDone ? doneAtEnd(events) : -1;
  let complete = doneAt >= 0;
  let serviceTier: string | null = null;
  let speed: Speed | null = null;
  let errored = false;
  const limit = doneAt >= 0 ? doneAt : events.length;
  if (limit === 0) return { out: events, complete, tokens, provisional, serviceTier, speed, errored };
  const markers = complete ? shape.beforeDone : shape.markers;
  /** Whether an event read so far carried a usage of its own (at its top level), not only one nested in a member. */
  let ownUsage = false;
  /** Reads the event holding the marker at `at`; returns where that event ends. */
  const look = (at: number): number => {
    // The event: from just after the blank line before the marker to just after its own.
    const start = Math.max(0, lastBoundaryEnd(events, at));
    const end = nextBoundaryEnd(events, at);
    const data = eventData(events.toString('utf8', start, end));
    let drop = false;
    let instead: string | null = null;
    if (data === DONE) complete = true;
    else if (data) {
      let obj: Record<string, unknown> | null = null;
      try {
        obj = JSON.parse(data);
      } catch {
        obj = null;
      }
      if (obj?.type === 'message_delta') {
        if (obj.usage) {
          // Final once a delta names the output: one without output_tokens leaves message_start's 1 (or none) standing.
          const wasFinal = tokens !== null && !provisional;
          tokens = withAnthropicDelta(tokens, obj.usage);
          serviceTier = anthropicServiceTier((obj.usage as { service_tier?: unknown }).service_tier) ?? serviceTier;
          speed = speedNamed(obj.usage) ?? speed;
          provisional = !(wasFinal || namesOutputCount(obj.usage));
        }
      } else if (obj?.usage) {
        ownUsage = true;
        const reported = tokensFromUsage(obj.usage);
        if (reported) {
          tokens = reported;
          provisional = false;
        }
        // The usage chunk of a chat stream names the tier as every chunk does (the others are not decoded).
        serviceTier = answeredServiceTier(obj.service_tier) ?? serviceTier;
        drop = injectUsage && Array.isArray(obj.choices) && obj.choices.length === 0;
      }
      if (typeof obj?.type === 'string' && RESPONSE_ENDS.has(obj.type)) {
        complete = true;
        const response = obj.response as { usage?: unknown; service_tier?: unknown } | undefined;
        const final = tokensFromUsage(response?.usage);
        if (final) {
          tokens = final;
          provisional = false;
        }
        serviceTier = answeredServiceTier(response?.service_tier) ?? serviceTier;
      }
      if (obj?.type === 'message_start') {
        // Anthropic's message names its tier in its usage (by OpenAI's names here: core/service-tier.ts).
        const usage = (obj.message as { usage?: { service_tier?: unknown } } | undefined)?.usage;
        const started = tokensFromUsage(usage);
        if (started) {
          tokens = started;
          provisional = true;
        }
        serviceTier = anthropicServiceTier(usage?.service_tier) ?? serviceTier;
        // And the speed it runs at (a usage without one: the standard speed).
        speed = answeredSpeed(usage) ?? speed;
      } else if (obj?.type === 'message_stop') complete = true;
      else if (typeof obj?.type === 'string' && shape.endEvents?.has(obj.type)) complete = true;
      else if (obj && isUpstreamError(obj)) {
        errored = true;
        instead = errorEvent ? errorEvent(events.toString('utf8', start, end), obj) : null;
      }
    }
    if (drop) cut(start, end);
    else if (instead !== null) cut(start, end, Buffer.from(instead));
    return end;
  };
  /** Leaves out the bytes from `from` to `to` (in order: each cut after the last), or puts `instead` in their place. */
  const cut = (from: number, to: number, instead?: Buffer) => {
    kept.push(events.subarray(copied, from));
    if (instead) kept.push(instead);
    copied = to;
  };
  const result = (): Inspected => {
    if (copied === 0) return { out: events, complete, tokens, provisional, serviceTier, speed, errored };
    kept.push(events.subarray(copied));
    return { out: Buffer.concat(kept), complete, tokens, provisional, serviceTier, speed, errored };
  };
  // The usual end of a chat stream: [DONE] after the usage chunk, in one read. The last usage before [DONE] is the one
  // that counts (a later usage replaces an earlier one), so when the last "usage" key there holds an object, that event
  // is the only one to read; with no "usage" key at all, there is nothing to read. Found by a loop from [DONE]
  // backwards, the rest of the chunk is not even decoded (it held five "usage":null on a bench chat stream), unless it
  // has "usage":null members to leave out.
  // A provider's error event before [DONE] (vLLM writes one, then [DONE]) is read by the loop below, never passed over.
  if (complete && markers === CHAT_SHAPE.beforeDone && events.lastIndexOf(ERROR_BYTES, limit) < 0) {
    const at = lastUsageKey(events, limit);
    if (at < 0) return { out: events, complete, tokens, provisional, serviceTier, speed, errored };
    if (nullUsageSpan(events, at + 1) === null && (!injectUsage || lastUsageKey(events, at) < 0)) {
      look(at);
      // Unless that "usage" key was nested in a member of its event (Groq's `x_groq.usage_breakdown`, a chunk after
      // the one with the total: found by a review), and the event's own usage may be in an earlier one: all are read.
      if (ownUsage) return result();
    }
  }
  const text = events.toString('latin1', 0, limit);
  const next = markers.map((m) => text.indexOf(m));
  for (let at = nextMarker(text, 0, limit, markers, next); at >= 0; ) {
    if (text.startsWith(USAGE, at) && isIdleUsage(events, at)) {
      const span = injectUsage ? nullUsageSpan(events, at) : null;
      if (span) cut(span[0], span[1]);
      at = nextMarker(text, at + USAGE.length, limit, markers, next);
      continue;
    }
    const end = look(at);
    // An event read for a marker in its text (a delta ending " error", one that says "usage" or "[DONE]" or names an end
    // event) that is kept as it is: its own `"usage":null`, after that text, is left out as every other chunk's is (the
    // search goes on past the event; found by reviews, for " error" first, then for the others).
    if (injectUsage && copied < end) {
      for (let u = text.indexOf(USAGE, at); u >= 0 && u < end; u = text.indexOf(USAGE, u + USAGE.length)) {
        const span = isIdleUsage(events, u) ? nullUsageSpan(events, u) : null;
        if (span && span[0] >= copied) cut(span[0], span[1]);
      }
    }
    at = end < limit ? nextMarker(text, end, limit, markers, next) : -1;
  }
  return result();
}

const TIER_KEY = 'service_tier"';

/**
 * The tier the first event naming one says the answer runs at: a chat chunk's `service_tier`, or the `service_tier` of
 * the Response a Responses API event carries (`response.created`); null when no event names one, or the first names
 * `auto` (what was asked, not where it runs); a text ending in the key names none. Asked by the relay while no event has named a
 * tier (StreamShape.namesTierEarly): every chat chunk names it, so one event is decoded per stream. A later tier (the
 * usage chunk's, the final Response's) replaces it. Found by an outside review: a stream cut before its usage was billed
 * at the tier asked for (standard, for `auto` or none) though its chunks said `priority`.
 */
export function serviceTierNamedIn(events: Buffer): string | null {
  // A text ending in the key (not preceded by a quote), or an event that holds it only in its text, is passed over: a
  // server that writes its members in another order than OpenAI's may name the tier after the text (found by a review).
  for (let at = events.indexOf(TIER_KEY, 0, 'latin1'); at > 0; at = events.indexOf(TIER_KEY, at + 1, 'latin1')) {
    if (events[at - 1] !== QUOTE) continue;
    const end = nextBoundaryEnd(events, at);
    const data = eventData(events.toString('utf8', Math.max(0, lastBoundaryEnd(events, at)), end));
    if (!data || data === DONE) return null;
    let obj: unknown;
    try {
      obj = JSON.parse(data);
    } catch {
      return null;
    }
    if (obj === null || typeof obj !== 'object') return null;
    const { service_tier: own, response } = obj as { service_tier?: unknown; response?: unknown };
    const named = own ?? (response !== null && typeof response === 'object' ? (response as { service_tier?: unknown }).service_tier : undefined);
    if (named === undefined) {
      at = end - 1;
      continue;
    }
    const tier = answeredServiceTier(named);
    return tier === 'auto' ? null : tier;
  }
  return null;
}

const FINISH_REASON = Buffer.from('finish_reason"');
const OPEN_BRACE = 0x7b;
/** `type`, backwards. */
const TYPE_REVERSED = [0x65, 0x70, 0x79, 0x74];

/**
 * Whether the name found at `at` (its closing quote with it) is a JSON string that is the value of a `"type"` member:
 * `{` or `,`, then `"type"`, `:` and the quoted name, however spaced. Every quote of that is unescaped (each follows a
 * byte that is no backslash), so each one opens or closes a string of the JSON itself: text spelling any of it out
 * has its quotes escaped (`\"`), and is never taken for it. A chunk's bytes only, no decoding: it runs on every chunk
 * until the answer is over.
 */
function isTypeValueAt(buf: Buffer, at: number): boolean {
  if (buf[at - 1] !== QUOTE) return false;
  let i = at - 2;
  while (i >= 0 && isJsonSpace(buf[i])) i--;
  if (buf[i] !== COLON) return false;
  i--;
  while (i >= 0 && isJsonSpace(buf[i])) i--;
  if (buf[i] !== QUOTE) return false;
  for (const c of TYPE_REVERSED) if (buf[--i] !== c) return false;
  if (buf[--i] !== QUOTE) return false;
  i--;
  while (i >= 0 && isJsonSpace(buf[i])) i--;
  return buf[i] === OPEN_BRACE || buf[i] === COMMA;
}

/**
 * Whether these events show the answer's generation over (StreamShape.finish): what is left of the stream is its
 * usage and its end, which the provider bills whether or not the client still reads. For a chat stream, any
 * `"finish_reason"` member whose value is a string (not null), however spaced; for the others, an event whose type is
 * one of the shape's (isTypeValueAt), never its name in the answer's text, its thinking or a tool call's JSON.
 */
export function answerFinished(events: Buffer, shape: StreamShape): boolean {
  if (shape.finish !== 'finish_reason') {
    for (const name of shape.finish.closed) {
      for (let at = events.indexOf(name); at >= 0; at = events.indexOf(name, at + name.length)) if (isTypeValueAt(events, at)) return true;
    }
    return false;
  }
  for (let at = events.indexOf(FINISH_REASON); at > 0; at = events.indexOf(FINISH_REASON, at + 1)) {
    if (events[at - 1] !== 0x22) continue;
    let i = at + FINISH_REASON.length;
    while (isJsonSpace(events[i])) i++;
    if (events[i] !== 0x3a) continue;
    i++;
    while (isJsonSpace(events[i])) i++;
    if (events[i] === 0x22) return true;
  }
  return false;
}

/** What the relay looks for in a stream of `endpoint` (a route template relative to /v1). */
export function streamShapeFor(endpoint: string): StreamShape {
  return SHAPES[endpoint] ?? ANY_SHAPE;
}
