import { isJsonMediaType, mediaTypeOf } from '../../core/media-types.js';
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import sjson from 'secure-json-parse';
import { TollgateError } from '../../core/errors.js';
import { isContentEncoded } from '../../core/request-model.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../core/json-depth.js';
import { findRepeatedMember, type RepeatedMember, repeatedMemberProblem } from '../../core/repeated-members.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body exactly as received (forwarded upstream as-is; signatures are checked over it). */
    rawBody?: Buffer;
  }
}

/**
 * JSON parser of the Fastify app (admin API, dashboard, exposure reports; the gateway reads its own bodies): keeps the
 * raw bytes, refuses prototype-pollution keys and members named twice, and accepts an empty body (OpenAI's own curl
 * examples send Content-Type: application/json on GET and DELETE).
 */
export function installJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  const parse = (request: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
    // No compressed body is taken, as on the gateway: found by an outside review, a plain body labelled gzip was read
    // as if unlabelled, and a gzipped one refused as broken JSON quoting its bytes.
    if (isContentEncoded(request.headers['content-encoding'])) {
      done(new TollgateError('unsupported_media_type', 'Tollgate takes no compressed request body (Content-Encoding other than identity); send it uncompressed.'));
      return;
    }
    request.rawBody = body;
    try {
      done(null, parseControlJsonBody(body));
    } catch (err) {
      done(err as Error);
    }
  };
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parse);
  app.addContentTypeParser(/^application\/[\w.-]+\+json/, { parseAs: 'buffer' }, parse);
}

/** Whether a Content-Type names JSON (application/json, or a +json type such as application/merge-patch+json). */
export function isJsonContentType(contentType: string | undefined): boolean {
  return contentType === 'application/json' || isJsonMediaType(mediaTypeOf(contentType));
}

/** Parses a JSON request body (undefined when empty); throws `invalid_json`, also for prototype-pollution keys. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  return parseJsonText(body.toString('utf8'), body);
}

/**
 * parseJsonBody, also refusing (400 `invalid_json` naming it) a member an object names twice: JSON.parse keeps the last
 * one without a word. For the control plane; the gateway scans each JSON body once where it reads the model
 * (core/request-model.ts).
 */
export function parseControlJsonBody(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  const text = body.toString('utf8');
  const parsed = parseJsonText(text, body);
  const repeated = findRepeatedMember(text);
  if (repeated) throw repeatedMemberError(repeated);
  return parsed;
}

/** The 400 `invalid_json` for a JSON text that names a member twice (`where`: what held it, when not the body). */
export function repeatedMemberError(repeated: RepeatedMember, where?: string): TollgateError {
  const { message, param } = repeatedMemberProblem(repeated, where);
  return new TollgateError('invalid_json', message, param);
}

function parseJsonText(text: string, body?: Buffer): unknown {
  if (exceedsJsonDepth(text)) {
    throw new TollgateError('invalid_json', `We could not parse the JSON body of your request: it nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep.`);
  }
  try {
    // A text without these cannot name a __proto__ or constructor key, even escaped: parse it as it is (the
    // secure parser's two regular-expression scans cost about as much again as JSON.parse on a chat body).
    if (!text.includes('__proto__') && !text.includes('constructor') && !text.includes('\\u')) return JSON.parse(text);
    return sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    // JSON.parse's message quotes the text around the fault: of a body that is not UTF-8 text (a compressed body, a
    // binary file) that would be its raw bytes, mangled into replacement characters.
    if (body !== undefined && !isUtf8(body)) throw new TollgateError('invalid_json', 'We could not parse the JSON body of your request: it is not UTF-8 text.');
    throw new TollgateError('invalid_json', `We could not parse the JSON body of your request: ${(err as Error).message}`);
  }
}
