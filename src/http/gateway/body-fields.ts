import { TollgateError } from '../../core/errors.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../core/json-depth.js';
import { lineSplitter, readJsonLine } from '../../core/json-lines.js';
import { readMultipart } from '../../core/multipart.js';
import { mayNameObjects } from '../../core/object-refs.js';
import { findRepeatedMember } from '../../core/repeated-members.js';
import { repeatedMemberError } from '../shared/json-body.js';

// The fields of a body that is not JSON, and of a query string, as one object, for the object ids they name:
// multipart/form-data (RFC 7578: `file_id` when a container file is made from a file, `consent` of a custom voice,
// `input_reference[file_id]` of a video; uploaded files, parts with a filename beyond a few KB, are skipped, never
// decoded; smaller ones are read as fields for the object isolation, as some parsers read them, but are data, not
// parameters, for a restricted key's scopes) and application/x-www-form-urlencoded (an upstream may read one, or
// read parameters from the query). A multipart body's parts are where the one strict reader finds them
// (core/multipart.ts, which refuses a body holding its boundary anywhere else): the model lookup, metering and this
// check read the same parts, and a body they cannot read unambiguously is refused (415) rather than split another way
// here (this reader split at the boundary wherever it was, and searched the rest of the body for each part's blank
// line: a 10 MB upload with 50,000 boundaries in its file held the event loop 94 s).

/** File parts longer than this are uploads, not ids: left out. */
const MAX_FILE_FIELD = 4096;

/**
 * The names a Content-Disposition gives its part, read the ways parsers do: quoted (escapes undone), as a bare token,
 * or RFC 5987 encoded (`name*=UTF-8''…`). All of them count, so no spelling hides a field.
 */
function partNames(headers: string): { names: string[]; isFile: boolean } {
  const names: string[] = [];
  let isFile = false;
  for (const line of headers.split(/\r?\n/)) {
    if (!/^content-disposition\s*:/i.test(line)) continue;
    const params = /(?:^|;)\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g;
    for (let m = params.exec(line); m; m = params.exec(line)) {
      const key = m[1].toLowerCase();
      const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
      if (key === 'filename' || key === 'filename*') isFile = true;
      if (key === 'name') names.push(value);
      if (key === 'name*') {
        const encoded = value.split("'").slice(2).join("'");
        try {
          names.push(decodeURIComponent(encoded));
        } catch {
          names.push(encoded);
        }
      }
    }
  }
  return { names, isFile };
}

/**
 * A field value that is JSON (a realtime call's `session`): what it names is read too; 400 when it names a member twice
 * and may name an object (JSON.parse keeps the last, another reader the first, which the check would not have seen).
 * A field that looks like JSON, is not strict JSON and may name an object is refused too (400): Python's json.loads
 * reads `{"x": NaN, …}`, and the objects it names would have gone unchecked (found by an outside review). A file part
 * is data: read when it is JSON, else kept as text.
 */
function fieldValue(text: string, isFile = false): unknown {
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '[') return text;
  if (exceedsJsonDepth(text)) throw new TollgateError('invalid_json', `We could not parse a JSON field of your request: it nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    if (!isFile && mayNameObjects(Buffer.from(text))) {
      throw new TollgateError(
        'invalid_json',
        'We could not parse a JSON field of your request: it is not strict JSON (NaN, Infinity, comments and trailing commas are not), which some readers read anyway, and it may name objects Tollgate must check.',
      );
    }
    return text;
  }
  const repeated = mayNameObjects(Buffer.from(text)) ? findRepeatedMember(text) : null;
  if (repeated) throw repeatedMemberError(repeated, 'a JSON field of your request');
  return parsed;
}

/** A multipart body's fields as an object, two ways (multipartFields). */
export interface MultipartFields {
  /** What an upstream may read as the body's fields: small file parts too, as some parsers read them; JSON parsed. */
  fields: Record<string, unknown>;
  /**
   * The request's parameters, for its scopes: a file part is data, kept as its text under its own name and never read
   * as JSON (a small JSON document that mentions a conversation names nothing the request uses). `fields` itself when
   * no file part was read.
   */
  params: Record<string, unknown>;
}

/**
 * The fields of a multipart body (of this Content-Type): `a[b]` nests as `{a: {b}}` and `a[]` collects an array (as
 * SDKs send nested parameters), a repeated name becomes an array. 415 for a body the strict reader refuses (bare LF
 * line ends, its boundary inside a part, past its bounds: the model lookup refused it already).
 */
export function multipartFields(body: Buffer, contentType: string): MultipartFields {
  const read = readMultipart(body, contentType);
  if (!read.ok) {
    throw new TollgateError(
      'unsupported_media_type',
      `Tollgate cannot read this request's body: its multipart/form-data cannot be read unambiguously: ${read.why}. It reads every body for the objects and models it names; send JSON in UTF-8, multipart/form-data or application/x-www-form-urlencoded.`,
      null,
    );
  }
  const parts: Array<{ names: Set<string>; isFile: boolean; text: string; bytes: Buffer }> = [];
  for (const part of read.parts) {
    const { names, isFile } = partNames(body.toString('latin1', part.headerStart, part.headerEnd));
    if (names.length > 0 && (!isFile || part.end - part.start <= MAX_FILE_FIELD)) {
      const bytes = body.subarray(part.start, part.end);
      parts.push({ names: new Set(names), isFile, text: bytes.toString('utf8'), bytes });
    }
  }
  const fields: Record<string, unknown> = Object.create(null);
  const params: Record<string, unknown> | null = parts.some((p) => p.isFile) ? Object.create(null) : null;
  // A batch's input file, uploaded: its lines read as the batch's check will read them (batch-input.ts), a line no
  // reader can be sure of refused at once rather than at the batch.
  const batch = parts.some((p) => !p.isFile && p.names.has('purpose') && p.text.trim() === 'batch');
  for (const part of parts) {
    if (part.isFile && batch) checkBatchLines(part.bytes, [...part.names][0] ?? '');
    const value = fieldValue(part.text, part.isFile);
    for (const name of part.names) {
      setField(fields, name, value);
      if (params !== null) setField(params, name, part.isFile ? part.text : value);
    }
  }
  return { fields, params: params ?? fields };
}

/** Refuses (400, naming it) the first line of a batch input file that cannot be read one way only (core/json-lines.ts). */
function checkBatchLines(bytes: Buffer, name: string): void {
  let line = 0;
  const refuse = (problem: string) => new TollgateError('invalid_json', `We could not parse line ${line} of the file part '${name.slice(0, 64)}': it ${problem}.`, name);
  const lines = lineSplitter(
    (b) => {
      line++;
      const read = readJsonLine(b);
      if (read.kind === 'unreadable') throw refuse(read.problem);
    },
    Number.POSITIVE_INFINITY,
    () => refuse('is too long'),
  );
  lines.push(bytes);
  lines.end();
}

/** The fields of a multipart body as an upstream may read them (multipartFields' `fields`). */
export function multipartTextFields(body: Buffer, contentType: string): Record<string, unknown> {
  return multipartFields(body, contentType).fields;
}

function setField(out: Record<string, unknown>, name: string, value: unknown): void {
  const path = name.split('[').map((p, i) => (i === 0 ? p : p.replace(/\]$/, '')));
  const appends = path.length > 1 && path[path.length - 1] === '';
  if (appends) path.pop();
  // Null-prototype objects: a field named `__proto__[x]` is a key like any other, never the prototype.
  let node = out;
  for (let i = 0; i < path.length - 1; i++) {
    const child = node[path[i]];
    if (child === null || typeof child !== 'object' || Array.isArray(child)) {
      const fresh: Record<string, unknown> = Object.create(null);
      node[path[i]] = fresh;
      node = fresh;
    } else node = child as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  const existing = node[last];
  if (appends || existing !== undefined) {
    const list = Array.isArray(existing) ? existing : existing === undefined ? [] : [existing];
    list.push(value);
    node[last] = list;
  } else node[last] = value;
}

/** The fields of urlencoded text (a form body, or a query string without its `?`), nested as multipart fields are. */
export function urlencodedFields(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  // `;` separated fields too, as older parsers split.
  for (const [name, value] of new URLSearchParams(text.replaceAll(';', '&'))) setField(out, name, fieldValue(value));
  return out;
}
