import { mayNameField } from './form-fields.js';
import { parseHeaderParams } from './header-params.js';

// multipart/form-data (RFC 7578 over RFC 2046), read to find named fields: strictly (CRLF line ends, a boundary
// line is the boundary and optional white space, a header block per part), and then checked against a loose reading
// of the same bytes, so that a body other readers would split differently (bare LF line ends, a part hidden in the
// preamble, `name*=`, another case or spelling of the name) is refused instead of read one way here and another way
// upstream.

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

// RFC 2046 §5.1.1: 1 to 70 of these, not ending in a space.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const CRLF = Buffer.from('\r\n');
// Bounds on the work one body may cost (a 10 MB body of 200,000 empty parts took 2 s): OpenAI's endpoints take a
// handful of parts (an image edit: 16 images and a few fields), and part headers are a few lines.
const MAX_PARTS = 1000;
const MAX_HEADER_BYTES = 16 * 1024;
const MAX_HEADER_LINES = 64;
const MAX_DISPOSITION_LINES = 10_000;

/** The boundary of a multipart/form-data Content-Type, or null when it has none or an invalid one. */
export function multipartBoundary(contentType: string): string | null {
  const parsed = parseHeaderParams(contentType);
  const boundary = parsed?.params.get('boundary');
  return boundary !== undefined && BOUNDARY.test(boundary) ? boundary : null;
}

/**
 * The fields named `name` of a multipart/form-data body, or why the body cannot be read unambiguously: malformed,
 * or a loose reading finds a field of that name (in any case or encoding) that the strict one does not. `name` may
 * be a group of names read as one field (a file field and its array spelling, `image` and `image[]`): the parts named
 * exactly as any of them, and the loose reading's count of parts that may name any of them.
 */
export function multipartFields(body: Buffer, contentType: string, name: string | readonly string[]): MultipartFields {
  const names = typeof name === 'string' ? [name] : name;
  const label = names.join(' or ');
  const boundary = multipartBoundary(contentType);
  if (boundary === null) return { ok: false, why: 'its Content-Type has no valid boundary' };
  const dash = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.concat([CRLF, dash]);
  let at = body.subarray(0, dash.length).equals(dash) ? 0 : body.indexOf(delimiter);
  if (at < 0) return { ok: false, why: 'no boundary line was found' };
  if (at > 0) at += 2;
  const fields: MultipartField[] = [];
  let charset: string | null = null;
  let strictNamed = 0;
  for (let parts = 0; ; parts++) {
    let i = at + dash.length;
    if (body[i] === 0x2d && body[i + 1] === 0x2d) break; // the close delimiter: what follows is the epilogue
    if (parts === MAX_PARTS) return { ok: false, why: `it has more than ${MAX_PARTS} parts` };
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
    const disposition = headers.get('content-disposition');
    if (disposition !== undefined) {
      const parsed = parseHeaderParams(disposition);
      if (!parsed) return { ok: false, why: 'a part has a malformed Content-Disposition' };
      const partName = parsed.params.get('name');
      const extended = parsed.params.get('name*');
      const named = partName !== undefined && namesAny(partName, names, false);
      if (extended !== undefined && (named || namesAny(extended, names, true))) {
        return { ok: false, why: `a part names its field both with name and name* (${label})` };
      }
      // Readers differ on backslashes in quoted strings (RFC 9110 unescapes them; browsers never write them).
      if (named && disposition.includes('\\')) return { ok: false, why: `a part names the ${label} field with a backslash` };
      if (parsed.value === 'form-data' && partName !== undefined && names.includes(partName)) {
        strictNamed++;
        fields.push({
          filename: parsed.params.get('filename') ?? parsed.params.get('filename*') ?? null,
          contentType: headers.get('content-type') ?? null,
          transferEncoding: headers.get('content-transfer-encoding') ?? null,
          start: valueStart,
          end: Math.max(valueStart, next),
        });
      } else if (parsed.value === 'form-data' && partName === '_charset_') {
        charset = body.toString('latin1', valueStart, Math.max(valueStart, next)).trim();
      }
    }
    at = next + 2;
  }
  if (looseFieldCount(body, names, strictNamed) !== strictNamed) {
    return { ok: false, why: `a part names the ${label} field in a way other readers may take differently` };
  }
  return { ok: true, fields, charset };
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

/**
 * How many name parameters of Content-Disposition lines anywhere in the body (at any line start, after CR or LF;
 * folded lines joined), read loosely, name any of `names` (each counted once); more than `enough` once it has found
 * that many. Searched in the body lower-cased: a case-insensitive regular expression over the body cost ~12 ms per
 * MB, a line-by-line indexOf ~1 s for 10 MB of empty lines.
 */
function looseFieldCount(body: Buffer, names: readonly string[], enough: number): number {
  const text = body.toString('latin1').toLowerCase();
  let count = 0;
  let lines = 0;
  for (let at = text.indexOf('content-disposition'); at >= 0; at = text.indexOf('content-disposition', at + 1)) {
    const before = text.charCodeAt(at - 1);
    if (at > 0 && before !== 0x0a && before !== 0x0d) continue;
    if (++lines > MAX_DISPOSITION_LINES) return enough + 1;
    // The header line, and any folded lines after it.
    let end = at;
    for (;;) {
      const lf = text.indexOf('\n', end);
      if (lf < 0 || (text[lf + 1] !== ' ' && text[lf + 1] !== '\t')) {
        end = lf < 0 ? text.length : lf;
        break;
      }
      end = lf + 1;
    }
    const line = text.slice(at + 'content-disposition'.length, end).replace(/\r?\n/g, ' ');
    const colon = /^[ \t]*:/.exec(line);
    if (!colon) continue;
    for (const param of line.slice(colon[0].length).matchAll(LOOSE_NAME)) {
      if (namesAny(param[2], names, param[1] === '*') && ++count > enough) return count;
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
  let v = raw.trim();
  if (v.startsWith('"')) v = v.slice(1, v.length > 1 && v.endsWith('"') ? -1 : undefined);
  v = v.replace(/\\/g, '');
  if (extended) v = v.slice(v.lastIndexOf("'") + 1);
  try {
    v = decodeURIComponent(v);
  } catch {
    // not percent-encoding: taken as it is
  }
  v = v.trim().toLowerCase();
  return mayNameField(v, name);
}
