import { TollgateError } from '../../core/errors.js';
import { exceedsJsonDepth } from '../../core/json-depth.js';
import { modelNameProblem } from '../../core/model-name.js';
import { JSON_MODEL_ENDPOINTS, modelUseOf } from '../../core/model-use.js';
import { bodyKindOf, findRequestModel, isUtf16Or32, type ModelPlace, nestedModels } from '../../core/request-model.js';
import type { KeyRecord } from '../../core/verify.js';
import { parseJsonBody } from '../shared/json-body.js';
import { checkModel, countRefusal } from './authorize.js';
import type { GatewayContext } from './gateway-context.js';
import type { GatewayRequest } from './request.js';

/** The model a gateway request names, and the body it was read from. */
export interface RequestModel {
  /** The model named (clean, at most 256 characters), or null. */
  model: string | null;
  /** Where it is named (body, query string), to write an alias back. */
  places: ModelPlace[];
  /** The body when it is a JSON object, however it was declared. */
  body: Record<string, unknown> | null;
  /** Why the body's model could not be read, or null. */
  undetermined: string | null;
}

/**
 * Finds the model of a request (body, whatever its Content-Type, and query string) before anything is stored or
 * forwarded: 400 for a bad or ambiguous model, 415 for a compressed body or one it cannot read (but an SDP offer), and,
 * where the endpoint runs a model, 400 for a body that names none. A JSON body declared as JSON is the one the listener
 * parsed already.
 */
export function requestModel(request: GatewayRequest, endpoint: string): RequestModel {
  const raw = request.rawBody;
  const contentType = request.headers['content-type'];
  let json: unknown = request.json ?? undefined;
  if (json === undefined && raw !== null && bodyKindOf(contentType) === 'other') json = sniffJson(raw);
  const encoding = request.headers['content-encoding'];
  const found = findRequestModel({ contentType, contentEncoding: encoding, raw, json, search: request.search });
  if (!found.ok) throw new TollgateError(found.code, found.message, found.param);
  // DELETE /v1/models/{model} (a fine-tuned model) names its model in the path.
  if (found.model === null && endpoint.startsWith('/models/')) {
    const named = pathModel(endpoint.slice('/models/'.length));
    const problem = modelNameProblem(named);
    if (problem) throw new TollgateError('invalid_value', problem, 'model');
    found.model = named;
  }
  const use = modelUseOf(request.method, endpoint);
  // As OpenAI answers: these take a JSON object naming a model. A JSON object declared as something else (a form: curl
  // -d without a Content-Type) is one, and so may be a body in UTF-16 or UTF-32: it is told below that it cannot be read
  // (415), not that it is no JSON object.
  if (request.method === 'POST' && JSON_MODEL_ENDPOINTS.has(endpoint) && !found.body && !(raw !== null && (startsAsJsonObject(raw) || isUtf16Or32(raw)))) {
    throw new TollgateError('invalid_value', 'The request body must be a JSON object.', null);
  }
  if ((use === 'required' || use === 'defaulted') && found.undetermined !== null) {
    throw new TollgateError('unsupported_media_type', `Tollgate cannot read the model of this request: ${found.undetermined}.`, 'model');
  }
  // Any other body Tollgate cannot read (UTF-16 or UTF-32 JSON, which Python's json.loads reads; an unknown type; an
  // ambiguous multipart or form body) would name objects and models the checks never saw: refused on every path, as on
  // model endpoints above. 415, not 400: the body may be well formed, in a form or encoding the gateway does not take.
  if (found.undetermined !== null && !isSdpOffer(request, endpoint)) {
    throw new TollgateError(
      'unsupported_media_type',
      `Tollgate cannot read this request's body: ${found.undetermined}. It reads every body for the objects and models it names; send JSON in UTF-8, multipart/form-data or application/x-www-form-urlencoded.`,
      null,
    );
  }
  if (use === 'required' && !namesModelInBody(found)) {
    throw new TollgateError('missing_required_parameter', "Missing required parameter: 'model'.", 'model');
  }
  // An endpoint that runs a default model when its body names none: a model in the query string alone is run by some
  // upstreams (Azure's deployment URL) and not by others (OpenAI runs its default), so the request would be routed,
  // limited and billed as one model and might run another.
  if (use === 'defaulted' && found.model !== null && !namesModelInBody(found)) {
    throw new TollgateError('invalid_value', 'Name the model in the request body: this endpoint reads its model there, not from the query string.', 'model');
  }
  return found;
}

/**
 * The one body the gateway forwards unread: a WebRTC SDP offer to POST /v1/realtime/calls, declared `application/sdp`
 * and starting as SDP must (`v=`, RFC 8866 §5): it names no object, and its model is refused to allowlist keys (hidden).
 */
function isSdpOffer(request: GatewayRequest, endpoint: string): boolean {
  const type = request.headers['content-type'];
  const raw = request.rawBody;
  return (
    request.method === 'POST' &&
    endpoint === '/realtime/calls' &&
    typeof type === 'string' &&
    type.split(';', 1)[0].trim().toLowerCase() === 'application/sdp' &&
    raw !== null &&
    raw[0] === 0x76 &&
    raw[1] === 0x3d
  );
}

/** Whether a body starts as a JSON object does: `{` after an optional UTF-8 byte order mark and white space. */
function startsAsJsonObject(raw: Buffer): boolean {
  let i = raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0;
  while (raw[i] === 0x20 || raw[i] === 0x0a || raw[i] === 0x0d || raw[i] === 0x09) i++;
  return raw[i] === 0x7b;
}

/** Whether the body names the model: a model endpoint reads its body, not the query string. */
function namesModelInBody(found: RequestModel): boolean {
  return found.model !== null && found.places.length > 0 && found.places[0].in !== 'query';
}

function pathModel(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * A body sent without a JSON Content-Type that is a JSON object or array all the same (many upstreams read JSON
 * whatever the type says), after an optional UTF-8 byte order mark; undefined otherwise. Such a body is held to what a
 * JSON body is: one naming `__proto__` or `constructor` is refused (400 `invalid_json`), never read as naming nothing.
 */
export function sniffJson(raw: Buffer): unknown {
  let i = raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0;
  const start = i;
  while (raw[i] === 0x20 || raw[i] === 0x0a || raw[i] === 0x0d || raw[i] === 0x09) i++;
  if (raw[i] !== 0x7b && raw[i] !== 0x5b) return undefined;
  const bytes = start ? raw.subarray(start) : raw;
  const text = bytes.toString('utf8');
  // Too deep to walk: refused as a JSON body is (400 invalid_json).
  if (exceedsJsonDepth(text)) return parseJsonBody(bytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  // JSON: held to what a JSON body is, which only a text naming these can fail (parseJsonBody's own shortcut).
  return text.includes('__proto__') || text.includes('constructor') || text.includes('\\u') ? parseJsonBody(bytes) : parsed;
}

/**
 * For a key with a model allowlist, after its scope: refuses what would let it reach a model it may not use: a body
 * whose model cannot be read, an endpoint that runs a model the request does not name, a model left to the upstream's
 * default, or a model named deeper in the body (a tool's, a grader's) outside the list.
 */
export function checkModelUse(g: GatewayContext, record: KeyRecord, found: RequestModel, method: string, endpoint: string): void {
  if (!record.allowedModels || record.allowedModels.length === 0) return;
  const limited = 'This API key may only use certain models';
  if (found.undetermined !== null) {
    countRefusal(g, 'model_unreadable');
    throw new TollgateError('unsupported_media_type', `${limited}, and Tollgate cannot read the model of this request: ${found.undetermined}.`, 'model');
  }
  const use = modelUseOf(method, endpoint);
  if (use === 'hidden') {
    countRefusal(g, 'model_not_named');
    throw new TollgateError('insufficient_permissions', `${limited}, and ${method} /v1${endpoint} runs a model that its request does not name.`, 'model');
  }
  if (use === 'defaulted' && !namesModelInBody(found)) {
    countRefusal(g, 'model_not_named');
    throw new TollgateError('missing_required_parameter', `${limited}: name the model, or the provider picks its default.`, 'model');
  }
  if (!found.body) return;
  const nested = nestedModels(found.body);
  if (nested === null) throw new TollgateError('invalid_value', `${limited}, and this body is nested too deeply to check the models it names.`, 'model');
  for (const name of nested) {
    const problem = modelNameProblem(name);
    if (problem) throw new TollgateError('invalid_value', problem, 'model');
    checkModel(g, record, name);
  }
}

/**
 * The request with the model written back wherever it was named (aliases): multipart and form fields, the query
 * string. JSON bodies are rewritten when forwarded.
 */
export function withModel(request: GatewayRequest, places: ModelPlace[], model: string): GatewayRequest {
  let out = request;
  for (const place of places) {
    if (place.in === 'json') continue;
    const value = place.encoding === 'form' ? encodeURIComponent(model) : model;
    if (place.in === 'query') {
      const text = out.search.slice(1);
      out = { ...out, search: `?${text.slice(0, place.start)}${value}${text.slice(place.end)}` };
    } else {
      const raw = out.rawBody as Buffer;
      out = { ...out, rawBody: Buffer.concat([raw.subarray(0, place.start), Buffer.from(value), raw.subarray(place.end)]) };
    }
  }
  return out;
}
