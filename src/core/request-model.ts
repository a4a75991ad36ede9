import { formFields } from './form-fields.js';
import { mayFold } from './member-case.js';
import { modelNameProblem } from './model-name.js';
import { multipartFields } from './multipart.js';
import { findRepeatedMember, repeatedMemberProblem } from './repeated-members.js';

// The model a request names, found in whatever the upstream will read: the body as JSON whatever its declared type
// (a missing or lying Content-Type included), multipart/form-data and form-urlencoded fields, and the query string.
// Every check (allowlist, routing, limits, metering) decides on this one value; a body that could be read another way
// upstream (duplicate names, another spelling of the name, a compressed or unreadable body) is refused or marked
// undetermined instead of guessed at (issue 15 §6).

/** How a body is read, by its declared Content-Type; anything not multipart or a form is tried as JSON. */
export type BodyKind = 'json' | 'multipart' | 'form' | 'other';

/** Where the model was found, so an alias can be written back in the same places. */
export type ModelPlace =
  | { in: 'json' }
  /** body[start, end) or the query string (after its `?`)[start, end), encoded as the field is (`form`: percent-encoded). */
  | { in: 'body' | 'query'; start: number; end: number; encoding: 'raw' | 'form' };

export interface ModelRequest {
  contentType: string | undefined;
  contentEncoding: string | undefined;
  /** The body as received, or null when empty. */
  raw: Buffer | null;
  /** The body's JSON value when it parsed as JSON (however declared), else undefined. */
  json: unknown;
  /** The query string with its `?`, or ''. */
  search: string;
}

export type ModelFinding =
  | {
      ok: true;
      /** The model named (clean and bounded), or null when none is. */
      model: string | null;
      /** Every place that names it: the body's, then the query string's when both do (an alias is written in each). */
      places: ModelPlace[];
      /** The body when it is a JSON object. */
      body: Record<string, unknown> | null;
      /** Why the body's model could not be read (it is not JSON, multipart or a form, or reads ambiguously), or null. */
      undetermined: string | null;
    }
  | { ok: false; code: 'invalid_value' | 'invalid_json' | 'unsupported_media_type'; message: string; param: string | null };

const MULTIPART = 'multipart/form-data';
const FORM = 'application/x-www-form-urlencoded';
const JSON_SUFFIX = /^application\/[\w.-]+\+json$/;

/** How a body with this Content-Type is read. */
export function bodyKindOf(contentType: string | undefined): BodyKind {
  if (contentType === undefined) return 'other';
  if (contentType === 'application/json') return 'json';
  const type = contentType.split(';', 1)[0].trim().toLowerCase();
  if (type === 'application/json' || JSON_SUFFIX.test(type)) return 'json';
  if (type === MULTIPART) return 'multipart';
  if (type === FORM) return 'form';
  return 'other';
}

type Refusal = Extract<ModelFinding, { ok: false }>;

/** Whether a body with this Content-Encoding is compressed (anything but identity): its model cannot be read. */
export function isContentEncoded(contentEncoding: string | undefined): boolean {
  return contentEncoding !== undefined && contentEncoding.trim().toLowerCase() !== 'identity';
}

const invalid = (message: string, param: string | null = 'model'): Refusal => ({ ok: false, code: 'invalid_value', message, param });

/** Checks a model name found somewhere: a finding that refuses it, or null when it is clean. */
function refusedName(name: string, where: string): Refusal | null {
  const problem = modelNameProblem(name);
  return problem ? invalid(`${problem} (${where})`) : null;
}

/** The model a request names, in its body and its query string. */
export function findRequestModel(r: ModelRequest): ModelFinding {
  const raw = r.raw !== null && r.raw.length > 0 ? r.raw : null;
  if (raw && isContentEncoded(r.contentEncoding)) {
    return {
      ok: false,
      code: 'unsupported_media_type',
      message: `Request bodies with Content-Encoding '${String(r.contentEncoding).slice(0, 40)}' are not accepted: Tollgate reads the body to check its model. Send it uncompressed.`,
      param: null,
    };
  }
  let model: string | null = null;
  const places: ModelPlace[] = [];
  let body: Record<string, unknown> | null = null;
  let undetermined: string | null = null;
  if (raw) {
    const charset = foreignCharset(r.contentType);
    if (charset !== null) {
      return {
        ok: false,
        code: 'unsupported_media_type',
        message: `Request bodies declared in charset '${charset.slice(0, 40)}' are not accepted: Tollgate reads JSON and form bodies as UTF-8 (JSON is UTF-8, RFC 8259 §8.1), and an upstream decoding them as '${charset.slice(0, 40)}' would read another request. Send UTF-8, with charset=utf-8 or none.`,
        param: null,
      };
    }
    const kind = bodyKindOf(r.contentType);
    if (r.json !== undefined) {
      const found = jsonModel(raw, r.json);
      if (!found.ok) return found;
      ({ model, body } = found);
      if (model !== null) places.push({ in: 'json' });
    } else if (isUtf16Or32(raw)) {
      // Whatever it is declared as: an upstream that reads any body as JSON (Python's json.loads detects UTF-16 and
      // UTF-32) reads this one so, and the text read as a form or multipart here may spell other fields in its bytes.
      undetermined = 'the body reads as UTF-16 or UTF-32 (JSON must be UTF-8, RFC 8259 §8.1)';
    } else if (kind === 'multipart') {
      const found = multipartModel(raw, r.contentType as string);
      if ('ok' in found) return found;
      if ('why' in found) undetermined = `its multipart/form-data cannot be read unambiguously: ${found.why}`;
      else if (found.value !== null) {
        model = found.value;
        places.push({ in: 'body', start: found.start, end: found.end, encoding: 'raw' });
      }
    } else if (kind === 'form') {
      const found = formModel(raw.toString('latin1'), 'body');
      if ('ok' in found) return found;
      if ('why' in found) undetermined = found.why;
      else if (found.value !== null) {
        model = found.value;
        places.push({ in: 'body', start: found.start, end: found.end, encoding: 'form' });
      }
    } else {
      undetermined = 'the body is not JSON, multipart/form-data or application/x-www-form-urlencoded';
    }
  }
  if (r.search.length > 1) {
    const found = formModel(r.search.slice(1), 'query');
    if ('ok' in found) return found;
    if ('why' in found) return invalid(`The query string names the model ambiguously: ${found.why}.`);
    if (found.value !== null) {
      if (model !== null && model !== found.value) return invalid(`The query string names the model '${found.value}' and the body '${model}'; name one.`);
      model = found.value;
      places.push({ in: 'query', start: found.start, end: found.end, encoding: 'form' });
    }
  }
  return { ok: true, model, places, body, undetermined };
}

/** Whether a body starts as UTF-16 or UTF-32 text does: a byte order mark, or a zero byte among its first four. */
export function isUtf16Or32(raw: Buffer): boolean {
  if ((raw[0] === 0xff && raw[1] === 0xfe) || (raw[0] === 0xfe && raw[1] === 0xff)) return true;
  for (let i = 0; i < 4 && i < raw.length; i++) if (raw[i] === 0) return true;
  return false;
}

type Field = { value: string | null; start: number; end: number };

/** The model of a JSON body: its top-level `model` member, refused when the object names it twice or in another case. */
function jsonModel(raw: Buffer, json: unknown): { ok: true; model: string | null; body: Record<string, unknown> | null } | Refusal {
  if (json === null || typeof json !== 'object') return { ok: true, model: null, body: null };
  if (Array.isArray(json)) return repeatedMemberRefusal(raw) ?? { ok: true, model: null, body: null };
  const body = json as Record<string, unknown>;
  // Readers differ on a repeated member (JSON.parse keeps the last, others the first or refuse), and some match
  // names without regard to case (Go's encoding/json): any second member that may mean `model` is refused.
  for (const key in body) {
    if (key.length === 5 && key !== 'model' && key.toLowerCase() === 'model') return invalid(`The body names the model as '${key}'; name it 'model', once.`);
    // Any other member in another case ('MAX_TOKENS', or with the Kelvin sign for its k, which Go folds to k as it
    // does ſ to s), beside the lower-case one or alone: the gateway reads the lower-case name, an upstream that matches
    // names without regard to case takes this one (a larger max_tokens, a prompt the estimate never saw) and escapes the
    // limits and the budget's reservation. OpenAI's and Anthropic's members are all lower case (both refuse a name they
    // do not know), so no request meant for them is refused by this.
    if (mayFold(key)) {
      const folded = key.toUpperCase().toLowerCase();
      if (folded !== key) {
        if (Object.hasOwn(body, folded)) return invalid(`The body names '${folded}' twice, also as '${key}'; name each member once, in lower case.`, folded);
        return invalid(`The body names the member '${key}', which an upstream matching names without regard to case reads as '${folded}'; name it in lower case.`, key);
      }
    }
  }
  if (mayRepeatModelKey(raw) && topLevelKeyCount(raw, 'model') > 1) return invalid('The body names the model more than once.');
  const repeated = repeatedMemberRefusal(raw);
  if (repeated !== null) return repeated;
  const value = body.model;
  if (value === undefined || value === null || value === '') return { ok: true, model: null, body };
  if (typeof value !== 'string') return invalid('The model must be a string.');
  return refusedName(value, 'model') ?? { ok: true, model: value, body };
}

/**
 * Any member named twice in one object of a JSON body, at any depth: JSON.parse keeps the last, an upstream keeping the
 * first runs another request than the one limited and metered (`"max_tokens":64000,"max_tokens":10` was reserved for
 * 10 tokens; a tool typed `web_search` then `function` passed a spend limit; `"thinking":{"type":"enabled","type":
 * "disabled"}` was cut at a hang-up: found by outside reviews). The scan skips strings' contents with indexOf.
 */
function repeatedMemberRefusal(raw: Buffer): Refusal | null {
  const repeated = findRepeatedMember(raw.toString('utf8'));
  return repeated === null ? null : { ok: false, code: 'invalid_json', ...repeatedMemberProblem(repeated) };
}

/**
 * Whether the raw JSON may hold a second top-level member named `model`: JSON.parse keeps only one, so the bytes are
 * looked at (cheaply: a second `"model"`, or an escaped ASCII letter, which no serialiser writes unasked).
 */
function mayRepeatModelKey(raw: Buffer): boolean {
  const first = raw.indexOf('"model"');
  if (first >= 0 && raw.indexOf('"model"', first + 7) >= 0) return true;
  // The letters of `model` escaped are \u004X or \u006X; most bodies have no \u00 at all, so that is looked for first.
  return raw.indexOf('\\u00') >= 0 && (raw.indexOf('\\u004') >= 0 || raw.indexOf('\\u006') >= 0);
}

/** How many members of a valid JSON text's top-level object are named `key`, escapes decoded, in any case. */
export function topLevelKeyCount(raw: Buffer, key: string): number {
  let depth = 0;
  let topIsObject = false;
  let expectKey = false;
  let count = 0;
  const n = raw.length;
  for (let i = 0; i < n; i++) {
    const c = raw[i];
    if (c === 0x22) {
      const start = i;
      let escaped = false;
      for (i++; i < n && raw[i] !== 0x22; i++) {
        if (raw[i] === 0x5c) {
          escaped = true;
          i++;
        }
      }
      if (depth === 1 && topIsObject && expectKey) {
        const name = escaped ? (JSON.parse(raw.toString('utf8', start, i + 1)) as string) : raw.toString('latin1', start + 1, i);
        if (name.toLowerCase() === key) count++;
        expectKey = false;
      }
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth === 1) {
        topIsObject = c === 0x7b;
        expectKey = topIsObject;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c && depth === 1) expectKey = topIsObject;
  }
  return count;
}

/** The `model` field of a multipart/form-data body: one plain UTF-8 text field, or a refusal, or why it is unreadable. */
function multipartModel(raw: Buffer, contentType: string): Field | { why: string } | Refusal {
  const found = multipartFields(raw, contentType, 'model');
  if (!found.ok) return { why: found.why };
  if (found.fields.length === 0) return { value: null, start: 0, end: 0 };
  if (found.fields.length > 1) return invalid('The multipart body names the model more than once.');
  const field = found.fields[0];
  if (field.filename !== null) return invalid('The model must be a form field, not a file.');
  if (field.transferEncoding !== null && !/^(7bit|8bit|binary)$/i.test(field.transferEncoding)) {
    return { why: `the model field is sent with Content-Transfer-Encoding ${field.transferEncoding}` };
  }
  const charsets = [...(found.charset === null ? [] : [found.charset]), ...(field.contentType === null ? [] : declaredCharsets(field.contentType))];
  if (field.contentType !== null && !/^text\/plain(\s*;|$)/i.test(field.contentType)) return invalid('The model field must be text/plain.');
  for (const charset of charsets) {
    if (!isUtf8Charset(charset)) return { why: `the model field is declared in charset ${charset.slice(0, 40)}` };
  }
  let value: string;
  try {
    value = new TextDecoder('utf-8', { fatal: true }).decode(raw.subarray(field.start, field.end));
  } catch {
    return invalid('The model field is not UTF-8.');
  }
  if (value === '') return { value: null, start: field.start, end: field.end };
  const refused = refusedName(value, 'multipart field model');
  return refused ?? { value, start: field.start, end: field.end };
}

/** Where a Content-Type names a charset: `charset`, in any case, with RFC 2231's `*`, white space around its `=`. */
const CHARSET_PARAM = /charset\s*\*?\s*=\s*/gi;

/**
 * Every charset a Content-Type names, in any reading of it: each `charset` parameter (readers differ on which of two
 * counts: body-parser's takes the last, others the first), in any case, quoted or not, with white space around its `=`
 * or RFC 2231's `charset*=`; also where it only seems to be one (inside another parameter's quoted value). A value is
 * taken as written, quotes and escapes aside: `"utf\-7"` is not UTF-8.
 */
export function declaredCharsets(contentType: string): string[] {
  const out: string[] = [];
  for (const m of contentType.matchAll(CHARSET_PARAM)) {
    const rest = contentType.slice((m.index ?? 0) + m[0].length);
    const value = rest.startsWith('"') ? rest.slice(1, rest.indexOf('"', 1) < 0 ? undefined : rest.indexOf('"', 1)) : (/^[^;\s]*/.exec(rest)?.[0] ?? '');
    out.push(value);
  }
  return out;
}

/** UTF-8, and its subset US-ASCII: the charsets a body is read in here. */
const isUtf8Charset = (charset: string): boolean => /^(utf-8|us-ascii)$/i.test(charset);

/**
 * The first charset other than UTF-8 a request's Content-Type names, or null. Whatever the type (Tollgate reads a body as
 * JSON whatever its declared type, and forms as UTF-8): an upstream decoding the bytes in that charset reads other text
 * (found by an outside review: in UTF-7, `+ACI-` is `"`, and body-parser, Express's JSON reader, decodes UTF-7).
 */
export function foreignCharset(contentType: string | undefined): string | null {
  if (contentType === undefined || contentType === 'application/json') return null;
  for (const charset of declaredCharsets(contentType)) if (!isUtf8Charset(charset)) return charset;
  return null;
}

/** The `model` field of a form text (body or query string). */
function formModel(text: string, where: 'body' | 'query'): Field | { why: string } | Refusal {
  // After a UTF-8 byte order mark (read as latin1 here) too: JSON readers skip it.
  const trimmed = (text.startsWith('\u00ef\u00bb\u00bf') ? text.slice(3) : text).trimStart();
  if (where === 'body' && (trimmed.startsWith('{') || trimmed.startsWith('['))) {
    return { why: 'a body declared as form data reads as JSON' };
  }
  const found = formFields(text, 'model');
  if (!found.ok) return { why: found.why };
  if (found.fields.length === 0) return { value: null, start: 0, end: 0 };
  if (found.fields.length > 1) return invalid(`The ${where === 'query' ? 'query string' : 'form body'} names the model more than once.`);
  const field = found.fields[0];
  if (field.value === '') return { value: null, start: field.start, end: field.end };
  return refusedName(field.value, where === 'query' ? 'query parameter model' : 'form field model') ?? field;
}

/** Every string a JSON value holds under a `model` member below its top level (tools, graders, sessions); null past depth 64. */
export function nestedModels(json: unknown): string[] | null {
  const out: string[] = [];
  const walk = (v: unknown, depth: number): boolean => {
    if (depth > 64) return false;
    if (Array.isArray(v)) return v.every((x) => walk(x, depth + 1));
    if (v === null || typeof v !== 'object') return true;
    for (const key in v as Record<string, unknown>) {
      const x = (v as Record<string, unknown>)[key];
      if (depth > 0 && typeof x === 'string' && key.toLowerCase() === 'model') out.push(x);
      else if (!walk(x, depth + 1)) return false;
    }
    return true;
  };
  return walk(json, 0) ? out : null;
}
