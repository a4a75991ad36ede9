import { mayNameField } from './form-fields.js';
import { type HeaderValue, parseHeaderParams } from './header-params.js';

// multipart/form-data (RFC 7578 over RFC 2046), read to find named fields: strictly (CRLF line ends, a boundary
// line is the boundary and optional white space, a header block per part, the boundary nowhere else in the body), and
// then checked against a loose reading of the same bytes, so that a body other readers would split differently (bare
// LF line ends, a part hidden in the preamble or behind the boundary inside another part, `name*=`, another case or
// spelling of the name) is refused instead of read one way here and another way upstream.
//
// The one reader of where a body's parts are (readMultipart): the model lookup, metering and the object check read
// the same parts, read once per body. Linear in the body, each line's and part's work bounded (found by a review: a
// 10 MB image edit whose loose reading scanned the rest of the body from each of a few hundred marks held the event
// loop 26-164 s).

/** One part named as the field sought: where its value lies in the body, and what its headers say about it. */
export interface MultipartField {
  filename: string | null;
  /** The part's Content-Type, or null. */
  contentType: string | null;
  /** The part's Content-Transfer-Encoding, or null. */
  transferEncoding: string | null;
  /** The value's bytes: body[start, end). */
  start: number;
  end: number;
}

export type MultipartFields =
  | {
      ok: true;
      /** The parts named exactly as sought, in order. */
      fields: MultipartField[];
      /** The value of a `_charset_` field (RFC 7578 §4.6), or null. */
      charset: string | null;
    }
  | { ok: false; why: string };

/** One part of a body, as the strict reading finds it. */
export interface MultipartPart {
  /** Its header block: body[headerStart, headerEnd), CRLF-separated lines (empty when the part has no headers). */
  headerStart: number;
  headerEnd: number;
  /** Its headers, names lower-cased. */
  headers: Map<string, string>;
  /** Its Content-Disposition, read strictly (core/header-params.ts), or null when it has none. */
  disposition: HeaderValue | null;
  /** Its value: body[start, end). */
  start: number;
  end: number;
}

/** A body's parts, or why it cannot be read unambiguously whatever field is sought. */
export type MultipartReading = { ok: true; parts: MultipartPart[]; charset: string | null } | { ok: false; why: string };

// RFC 2046 §5.1.1: 1 to 70 of these, not ending in a space.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const CRLF = Buffer.from('\r\n');
// Bounds on the work one body may cost (a 10 MB body of 200,000 empty parts took 2 s): OpenAI's endpoints take a
// handful of parts (an image edit: 16 images and a few fields), and part headers are a few lines.
const MAX_PARTS = 1000;
const MAX_HEADER_BYTES = 16 * 1024;
const MAX_HEADER_LINES = 64;
const MAX_DISPOSITION_LINES = 10_000;
/** Name parameters the loose reading keeps (a part names itself once; a file may mention a few). */
const MAX_LOOSE_NAMES = 10_000;

/** The boundary of a multipart/form-data Content-Type, or null when it has none or an invalid one. */
export function multipartBoundary(contentType: string): string | null {
  const parsed = parseHeaderParams(contentType);
  const boundary = parsed?.params.get('boundary');
  return boundary !== undefined && BOUNDARY.test(boundary) ? boundary : null;
}

interface Reading {
  contentType: string;
  strict: MultipartReading;
  loose?: LooseNames;
}

// Each body is read once however many fields are sought in it (the model lookup, each field metering reads, the
// object check): its reading kept as long as the body is.
const readings = new WeakMap<Buffer, Reading>();

function readingOf(body: Buffer, contentType: string): Reading {
  const kept = readings.get(body);
  if (kept && kept.contentType === contentType) return kept;
  const reading: Reading = { contentType, strict: readParts(body, contentType) };
  readings.set(body, reading);
  return reading;
}

/**
 * A multipart/form-data body's parts, read strictly, or why it cannot be: malformed, past the bounds, or holding its
 * boundary anywhere but at the start of its boundary lines (a reader splitting at the boundary wherever it is, or at
 * a bare LF before it, would find other parts). Read once per body (and Content-Type).
 */
export function readMultipart(body: Buffer, contentType: string): MultipartReading {
  return readingOf(body, contentType).strict;
}

function readParts(body: Buffer, contentType: string): MultipartReading {
  const boundary = multipartBoundary(contentType);
  if (boundary === null) return { ok: false, why: 'its Content-Type has no valid boundary' };
  const dash = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.concat([CRLF, dash]);
  // The first boundary line starts the body, or follows a preamble and its CRLF (RFC 2046: an empty preamble too,
  // `\r\n--b` at 0, which was refused: found by review).
  let at = body.subarray(0, dash.length).equals(dash) ? 0 : body.indexOf(delimiter);
  if (at < 0) return { ok: false, why: 'no boundary line was found' };
  if (!body.subarray(at, at + dash.length).equals(dash)) at += 2;
  const parts: MultipartPart[] = [];
  /** Where each boundary line starts: the boundary is found nowhere else. */
  const lines: number[] = [at];
  let charset: string | null = null;
  for (let count = 0; ; count++) {
    let i = at + dash.length;
    if (body[i] === 0x2d && body[i + 1] === 0x2d) break; // the close delimiter: what follows is the epilogue
    if (count === MAX_PARTS) return { ok: false, why: `it has more than ${MAX_PARTS} parts` };
    while (body[i] === 0x20 || body[i] === 0x09) i++;
    if (body[i] !== 0x0d || body[i + 1] !== 0x0a) return { ok: false, why: 'a boundary line goes on after the boundary' };
    const headStart = i + 2;
    const next = body.indexOf(delimiter, headStart);
    if (next < 0) return { ok: false, why: 'it has no closing boundary line' };
    // The blank line ending the headers, within the part (it may share its CRLF with the next boundary line).
    let headEnd =
      body[headStart] === 0x0d && body[headStart + 1] === 0x0a ? headStart : body.subarray(headStart, Math.min(next + 2, headStart + MAX_HEADER_BYTES)).indexOf('\r\n\r\n');
    if (headEnd < 0) return { ok: false, why: 'a part has no end to its headers within 16 KB' };
    if (headEnd !== headStart) headEnd += headStart;
    const valueStart = headEnd === headStart ? headStart + 2 : headEnd + 4;
    const headers = partHeaders(body.toString('latin1', headStart, headEnd));
    if (!headers) return { ok: false, why: 'a part has malformed headers' };
    const value = headers.get('content-disposition');
    const disposition = value === undefined ? null : parseHeaderParams(value);
    if (disposition === null && value !== undefined) return { ok: false, why: 'a part has a malformed Content-Disposition' };
    const part: MultipartPart = { headerStart: headStart, headerEnd: headEnd, headers, disposition, start: valueStart, end: Math.max(valueStart, next) };
    parts.push(part);
    if (disposition?.value === 'form-data' && disposition.params.get('name') === '_charset_') charset = body.toString('latin1', part.start, part.end).trim();
    at = next + 2;
    lines.push(at);
  }
  // The boundary anywhere else (in the preamble, a part's headers or value, the epilogue; after a bare LF) is where
  // another reader may start a part this one does not see. Each search goes on past the last: linear in the body.
  let line = 0;
  for (let found = body.indexOf(dash); found >= 0; found = body.indexOf(dash, found + dash.length)) {
    if (found !== lines[line]) return { ok: false, why: 'its boundary appears inside a part, where other readers may split it' };
    line++;
  }
  return { ok: true, parts, charset };
}

/**
 * The fields named `name` of a multipart/form-data body, or why the body cannot be read unambiguously: malformed,
 * or a loose reading finds a field of that name (in any case or encoding) that the strict one does not. `name` may
 * be a group of names read as one field (a file field and its array spelling, `image` and `image[]`): the parts named
 * exactly as any of them, and the loose reading's count of parts that may name any of them. The body is read once
 * (readMultipart), however many fields are sought in it.
 */
export function multipartFields(body: Buffer, contentType: string, name: string | readonly string[]): MultipartFields {
  const names = typeof name === 'string' ? [name] : name;
  const label = names.join(' or ');
  const reading = readingOf(body, contentType);
  const read = reading.strict;
  if (!read.ok) return read;
  const fields: MultipartField[] = [];
  for (const part of read.parts) {
    const parsed = part.disposition;
    if (parsed === null) continue;
    const partName = parsed.params.get('name');
    const extended = parsed.params.get('name*');
    const named = partName !== undefined && namesAny(partName, names, false);
    if (extended !== undefined && (named || namesAny(extended, names, true))) {
      return { ok: false, why: `a part names its field both with name and name* (${label})` };
    }
    // Readers differ on backslashes in quoted strings (RFC 9110 unescapes them; browsers never write them).
    if (named && (part.headers.get('content-disposition') ?? '').includes('\\')) return { ok: false, why: `a part names the ${label} field with a backslash` };
    if (parsed.value === 'form-data' && partName !== undefined && names.includes(partName)) {
      fields.push({
        filename: parsed.params.get('filename') ?? parsed.params.get('filename*') ?? null,
        contentType: part.headers.get('content-type') ?? null,
        transferEncoding: part.headers.get('content-transfer-encoding') ?? null,
        start: part.start,
        end: part.end,
      });
    }
  }
  reading.loose ??= looseNames(body);
  const loose = reading.loose;
  if ('why' in loose) return { ok: false, why: loose.why };
  for (const readers of [loose.lines, loose.crLines]) {
    if (looseCount(readers, names) !== fields.length) {
      return { ok: false, why: `a part names the ${label} field in a way other readers may take differently` };
    }
  }
  return { ok: true, fields, charset: read.charset };
}

/**
 * A part's header block: names lower-cased; null for a line without a colon, a folded line, a bare CR or LF, a
 * repeated header, or more than 64 lines.
 */
function partHeaders(block: string): Map<string, string> | null {
  const out = new Map<string, string>();
  if (block === '') return out;
  const lines = block.split('\r\n');
  if (lines.length > MAX_HEADER_LINES) return null;
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0 || line.includes('\n') || line.includes('\r') || line[0] === ' ' || line[0] === '\t') return null;
    const key = line.slice(0, colon).trim().toLowerCase();
    if (out.has(key)) return null;
    out.set(key, line.slice(colon + 1).trim());
  }
  return out;
}

const LOOSE_NAME = /(?:^|;)[ \t]*name(\*?)[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"?|[^;]*)/g;
const MARK = 'content-disposition';
const LF = 0x0a;
const CR = 0x0d;

/**
 * The name parameters of the body's Content-Disposition lines, read loosely, two ways: `lines` by readers that end
 * lines at LF or CRLF (a bare CR is text in a line), `crLines` by readers that end them at a bare CR too (a line may
 * start after one). Each name is kept as isLooselyNamed reads it (looseName), with how many parameters give it.
 * A line is a header line at any line start, folded lines joined; or why the body cannot be read so: a line over
 * 16 KB (the strict reading takes no longer header block), more than 10,000 lines or names. Lines of either reading
 * do not overlap, and each is read once: linear in the body. Searched in the body lower-cased: a case-insensitive
 * regular expression over the body cost ~12 ms per MB, a line-by-line indexOf ~1 s for 10 MB of empty lines.
 */
type LooseNames = { lines: Map<string, number>; crLines: Map<string, number> } | { why: string };

function looseNames(body: Buffer): LooseNames {
  const text = body.toString('latin1').toLowerCase();
  const lines = new Map<string, number>();
  const crLines = new Map<string, number>();
  let count = 0;
  let kept = 0;
  /** Keeps the names of a line (past its header name) in `into`; false past MAX_LOOSE_NAMES. */
  const keep = (line: string, into: Array<Map<string, number>>): boolean => {
    const colon = /^[ \t]*:/.exec(line);
    if (!colon) return true;
    for (const param of line.slice(colon[0].length).matchAll(LOOSE_NAME)) {
      if (++kept > MAX_LOOSE_NAMES) return false;
      const v = looseName(param[2], param[1] === '*');
      for (const map of into) map.set(v, (map.get(v) ?? 0) + 1);
    }
    return true;
  };
  for (let at = text.indexOf(MARK); at >= 0; at = text.indexOf(MARK, at + 1)) {
    const before = text.charCodeAt(at - 1);
    if (at > 0 && before !== LF && before !== CR) continue;
    if (++count > MAX_DISPOSITION_LINES) return { why: `it has more than ${MAX_DISPOSITION_LINES} Content-Disposition lines` };
    // After a bare CR, a line starts only for readers that end lines there.
    const byCr = looseLine(text, at, true);
    const byLf = before === CR ? null : looseLine(text, at, false);
    if (byCr === null || (byLf === null && before !== CR)) return { why: `a Content-Disposition line runs over ${MAX_HEADER_BYTES / 1024} KB` };
    const read = byLf === byCr ? keep(byCr, [lines, crLines]) : keep(byCr, [crLines]) && (byLf === null || keep(byLf, [lines]));
    if (!read) return { why: `it has more than ${MAX_LOOSE_NAMES} name parameters` };
  }
  return { lines, crLines };
}

/**
 * The header line starting at `at` (past its header name), folded lines joined by a space, ending at LF or CRLF, and
 * at a bare CR too when `cr`; null when it runs over 16 KB.
 */
function looseLine(text: string, at: number, cr: boolean): string | null {
  const limit = Math.min(text.length, at + MAX_HEADER_BYTES + 1);
  let out = '';
  let from = at + MARK.length;
  for (let i = from; ; ) {
    if (i >= limit) {
      if (limit < text.length) return null;
      return out + text.slice(from, text.length);
    }
    const c = text.charCodeAt(i);
    const eol = c === LF ? 1 : c === CR && text.charCodeAt(i + 1) === LF ? 2 : c === CR && cr ? 1 : 0;
    if (eol === 0) {
      i++;
      continue;
    }
    out += text.slice(from, i);
    const after = text.charCodeAt(i + eol);
    if (after !== 0x20 && after !== 0x09) return out;
    out += ' ';
    from = i + eol;
    i = from;
  }
}

/** How many loosely read name parameters may name any of `names`. */
function looseCount(found: Map<string, number>, names: readonly string[]): number {
  let count = 0;
  for (const [v, n] of found) {
    for (const name of names) {
      if (mayNameField(v, name)) {
        count += n;
        break;
      }
    }
  }
  return count;
}

/** Whether a name parameter's text could mean any of `names` to some reader (isLooselyNamed). */
function namesAny(raw: string, names: readonly string[], extended: boolean): boolean {
  for (const name of names) if (isLooselyNamed(raw, name, extended)) return true;
  return false;
}

/**
 * Whether a name parameter's text could mean `name` to some reader: unquoted, unescaped, percent-decoded, without an
 * RFC 8187 charset prefix, trimmed, in any case, or within a bracket or dot notation (see mayNameField).
 */
function isLooselyNamed(raw: string, name: string, extended: boolean): boolean {
  return mayNameField(looseName(raw, extended), name);
}

/** A name parameter's text as isLooselyNamed reads it before mayNameField. */
function looseName(raw: string, extended: boolean): string {
  let v = raw.trim();
  if (v.startsWith('"')) v = v.slice(1, v.length > 1 && v.endsWith('"') ? -1 : undefined);
  v = v.replace(/\\/g, '');
  if (extended) v = v.slice(v.lastIndexOf("'") + 1);
  try {
    v = decodeURIComponent(v);
  } catch {
    // not percent-encoding: taken as it is
  }
  return v.trim().toLowerCase();
}
