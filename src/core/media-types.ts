// What an upstream's answer is, by its Content-Type: a media type, whose type and subtype are compared without regard
// to case (RFC 9110 §8.3.1), never a raw string. `Text/Event-Stream; charset=utf-8` for a stream was read as JSON: a
// 502 "malformed JSON" billed nothing though the provider ran it; a list answered `Application/JSON` went out without
// being filtered to the caller's project (found by a review).

/** Whether `value` is `type` (lower-case) as spelt, alone or before its parameters: the usual spelling, checked without lower-casing. */
function spelt(value: string, type: string): boolean {
  if (!value.startsWith(type)) return false;
  const next = value.charCodeAt(type.length);
  return Number.isNaN(next) || next === 0x3b || next === 0x20 || next === 0x09;
}

/** The media type of a Content-Type value: lower-case, without its parameters (`''` when there is none). */
export function mediaTypeOf(contentType: string | string[] | undefined): string {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  if (!value) return '';
  const semi = value.indexOf(';');
  return (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
}

/** Whether a media type (mediaTypeOf) is JSON: `application/json`, or a `+json` suffix (RFC 6839). */
export function isJsonMediaType(type: string): boolean {
  return type === 'application/json' || JSON_SUFFIXED.test(type);
}

/** `application/<name>+json`: what the admin API's body parser takes for JSON too (http/shared/json-body.ts). */
const JSON_SUFFIXED = /^application\/[\w.-]+\+json$/;

/**
 * Whether a successful answer is read as Server-Sent Events: one declared `text/event-stream` in any case, and, when
 * the request asked to stream (`askedToStream`), any answer not declared JSON (an OpenAI-compatible server's
 * `text/plain`, or none): such a request's JSON answer is still read as JSON.
 */
export function readsAsEventStream(contentType: string | string[] | undefined, askedToStream: boolean): boolean {
  if (typeof contentType === 'string') {
    // As nearly every upstream spells them.
    if (spelt(contentType, 'text/event-stream')) return true;
    if (spelt(contentType, 'application/json')) return false;
  }
  const type = mediaTypeOf(contentType);
  return type === 'text/event-stream' || (askedToStream && !isJsonMediaType(type));
}
