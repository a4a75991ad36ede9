// The gateway decides on exactly what it forwards (STYLE.md, habit 11): a `/v1` request target is accepted only
// when it is already in canonical form, and refused with OpenAI's own 404 (`Invalid URL (METHOD /path)`) otherwise.
// Refusing rather than rewriting means there is one spelling of every route: scopes, allowlists, limits, metering,
// object ownership and the control-plane exclusion all see the bytes the upstream receives, and no upstream router
// (which may resolve dot segments, merge slashes, decode %2F or match case-insensitively) can read a different path
// into them. OpenAI's clients only ever send canonical targets, so nothing legitimate is refused.
//
// Canonical (RFC 3986 §6.2.2, strict): the target starts with `/`; no `#`; every path segment is non-empty (no `//`,
// no trailing `/`), is not `.` or `..` and does not end with `.`, and holds only pchar characters (`;` excepted);
// a percent-encoding is upper-case hex and
// never encodes an unreserved character (`%63` for `c`, `%2E` for `.`), a `/`, a `\` or a control character; and a
// segment that spells one of the API's own path words in other letter case (`Completions`) is refused too, so a
// case-insensitive upstream cannot serve it as that route.

import { ANTHROPIC_PATH_WORDS, API_PATH_WORDS } from './api-routes.js';

export type CanonicalTarget =
  | { ok: true; path: string; search: string }
  | { ok: false; reason: string };

const UNRESERVED = /[A-Za-z0-9\-._~]/;
/**
 * Characters allowed raw in a path segment: RFC 3986 pchar without '%' and ';' (servlet containers read `;…` as path
 * parameters and drop it, so `/completions;x` would be served as `/completions`). As a table: this runs per request.
 */
const PCHAR_RAW = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@") PCHAR_RAW[c.charCodeAt(0)] = 1;
const HEX_UPPER = /^[0-9A-F]{2}$/;

const LOWER_WORDS: ReadonlyMap<string, string> = new Map([...API_PATH_WORDS, ...ANTHROPIC_PATH_WORDS].map((w) => [w.toLowerCase(), w]));

/** Why a path segment is not canonical, or null when it is. `allowEncodedSlash` for a segment Tollgate serves itself. */
export function segmentProblem(segment: string, allowEncodedSlash = false): string | null {
  if (segment === '') return 'an empty path segment (// or a trailing /)';
  if (segment === '.' || segment === '..') return 'a dot segment';
  // Some servers drop trailing dots (`files.` served as `files`); no API path or id ends with one.
  if (segment.endsWith('.')) return 'a trailing dot';
  let encodedHigh = false;
  for (let i = 0; i < segment.length; i++) {
    const code = segment.charCodeAt(i);
    if (code < 128 && PCHAR_RAW[code] === 1) continue;
    const c = segment[i];
    if (c === '%') {
      const hex = segment.slice(i + 1, i + 3);
      if (!HEX_UPPER.test(hex)) return 'a malformed or lower-case percent-encoding';
      const byte = Number.parseInt(hex, 16);
      if (byte < 0x20 || byte === 0x7f) return 'an encoded control character';
      const ch = String.fromCharCode(byte);
      if (byte < 0x80 && UNRESERVED.test(ch)) return `a percent-encoded unreserved character (%${hex})`;
      if (ch === '\\' || (ch === '/' && !allowEncodedSlash)) return `an encoded ${ch}`;
      // A percent sign encoded before two hex digits: a router that decodes twice reads another path (`%252e%252e`).
      if (byte === 0x25 && /^[0-9A-Fa-f]{2}$/.test(segment.slice(i + 3, i + 5))) return 'a double percent-encoding (%25 before hex)';
      if (byte >= 0x80) encodedHigh = true;
      i += 2;
      continue;
    }
    return `the character ${JSON.stringify(c)}`;
  }
  // Encoded bytes past ASCII must spell UTF-8, shortest form: an overlong `%C0%AE` is `.` to a lax decoder.
  if (encodedHigh) {
    try {
      decodeURIComponent(segment);
    } catch {
      return 'a percent-encoding that is not UTF-8';
    }
  }
  const word = LOWER_WORDS.get(segment.toLowerCase());
  if (word !== undefined && word !== segment) return `'${segment}' (the API's path word is '${word}')`;
  return null;
}

/**
 * Checks a request target (`req.url`: path and query string) of a `/v1` request. The canonical path is the target's
 * path itself (nothing is rewritten); `search` is the query string with its `?`, or ''.
 */
export function canonicalTarget(target: string, opts: { allowEncodedSlashIn?: (segments: string[]) => boolean } = {}): CanonicalTarget {
  if (!target.startsWith('/')) return { ok: false, reason: 'the request target is not a path (absolute or authority form)' };
  if (target.includes('#')) return { ok: false, reason: 'a fragment (#)' };
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const search = q < 0 ? '' : target.slice(q);
  const segments = path.slice(1).split('/');
  const allowSlash = opts.allowEncodedSlashIn?.(segments) ?? false;
  for (let i = 0; i < segments.length; i++) {
    const problem = segmentProblem(segments[i], allowSlash && i === segments.length - 1);
    if (problem) return { ok: false, reason: problem };
  }
  for (let i = 1; i < search.length; i++) {
    const c = search.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x5c) return { ok: false, reason: 'a control character, space or \\ in the query string' };
  }
  return { ok: true, path, search };
}

/** Whether a target addresses the `/v1` API in any spelling (`/v1`, `/V1/`, `/%761/…`, `//v1`), so it must be canonical. */
export function isV1Target(target: string): boolean {
  if (target.length < 3 || target[0] !== '/') return target.length > 0 && target[0] !== '/';
  let i = 1;
  while (target[i] === '/' || target[i] === '\\') i++;
  if (i > 1) return true;
  const end = target.slice(i).search(/[/?#\\]/);
  const first = end < 0 ? target.slice(i) : target.slice(i, i + end);
  let decoded = first;
  try {
    decoded = decodeURIComponent(first);
  } catch {
    return first.toLowerCase().includes('v');
  }
  return decoded.toLowerCase() === 'v1' || decoded === '.' || decoded === '..';
}
