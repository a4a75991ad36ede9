import { TollgateError } from '../../core/errors.js';
import { formFields } from '../../core/form-fields.js';
import { BODILESS_METHODS } from '../../core/api-routes.js';
import { BATCH_ENDPOINTS, modelRunsOf, runDecidingParams } from '../../core/model-runs.js';
import { type AccessLevel, isAllowed, isModelAllowed, levelForRequest, resourceForPath } from '../../core/permissions.js';
import type { KeyRecord } from '../../core/verify.js';
import { verifyPresentedKey } from '../shared/authenticate.js';
import type { GatewayContext } from './gateway-context.js';
import { meter, NO_TOKENS } from './metering.js';
import type { GatewayRequest } from './request.js';
import { routeLabel } from './route-label.js';
import { andThen, type MaybePromise } from '../../core/maybe-promise.js';

/** Counts a refusal by code (exported as metrics; never billed). */
export function countRefusal(g: GatewayContext, code: string): void {
  g.refusals.set(code, (g.refusals.get(code) ?? 0) + 1);
}

/**
 * Checks 1–3 of every gateway request, in order: the key (401), OpenAI-Organization/OpenAI-Project headers (401),
 * and IP allowlists (403, inside the key check). Synchronous for a cached key. A live key refused for the address
 * it came from is metered as a refused request of that key, so its owners see the attempts (issue 19).
 */
export function authorizeGatewayRequest(g: GatewayContext, request: GatewayRequest): MaybePromise<KeyRecord> {
  const verified = verifyPresentedKey(
    g.app,
    request,
    (code, record) => {
      countRefusal(g, code);
      if (code === 'ip_not_allowed' && record?.kind === 'project') meterRefusal(g, request, record, 403, code);
    },
    true,
  );
  return andThen(verified, (record) => checkCaller(g, request, record));
}

/** What the gateway refuses of a valid key: admin keys, and OpenAI-Organization/OpenAI-Project headers naming others. */
function checkCaller(g: GatewayContext, request: GatewayRequest, record: KeyRecord): KeyRecord {
  if (record.kind === 'admin') {
    countRefusal(g, 'admin_key');
    throw new TollgateError('insufficient_permissions', 'Admin keys manage the organization; call the model API with a project key (sk-tg-…).');
  }
  const org = request.headers['openai-organization'];
  if (typeof org === 'string' && org !== '' && org !== record.orgId) {
    countRefusal(g, 'mismatched_organization');
    throw new TollgateError('mismatched_organization');
  }
  const project = request.headers['openai-project'];
  if (typeof project === 'string' && project !== '' && project !== record.projectId) {
    countRefusal(g, 'mismatched_project');
    throw new TollgateError('mismatched_project');
  }
  return record;
}

/**
 * Check 4 of every gateway request, on its method and path alone, before a byte of its body is read: a key outside its
 * scope is told so (403 naming the scope) whatever its body says, and the refusal is metered as one of that key (a
 * read_only key's `POST /v1/chat/completions {}` had been answered 400 missing_required_parameter, found by a review).
 * What the body makes the provider do beyond the path is checked once it is read (checkDelegatedScope).
 */
export function checkRequestScope(g: GatewayContext, request: GatewayRequest, record: KeyRecord): void {
  if (record.permissions === 'all') return;
  try {
    checkScope(g, record, request.method, request.path);
  } catch (err) {
    meterRefusal(g, request, record, 403, 'insufficient_permissions');
    throw err;
  }
}

/** The key's scope must allow this method on this `/v1` path's resource group (pass-through paths included). */
export function checkScope(g: GatewayContext, record: KeyRecord, method: string, path: string): void {
  if (record.permissions === 'all') return;
  requireScope(g, record, resourceForPath(path), levelForRequest(method, path.slice(3) || '/'));
}

/** Refuses (403, naming the missing scope as OpenAI does) a key not allowed `level` on `resource`. */
export function requireScope(g: GatewayContext, record: KeyRecord, resource: string, level: AccessLevel): void {
  if (!isAllowed(record.permissions, resource, level)) refuseScope(g, resource, level);
}

/** The 403 for a missing scope, in OpenAI's words. */
export function refuseScope(g: GatewayContext, resource: string, level: AccessLevel): never {
  countRefusal(g, 'insufficient_permissions');
  throw new TollgateError('insufficient_permissions', `You have insufficient permissions for this operation. Missing scope: ${resource || 'unknown'} (${level}).`);
}

/**
 * Check 4, for what a request makes the provider do beyond its own path: a batch runs its `endpoint` (each line's
 * `url` must match it, at OpenAI), an upload's completion creates a File, an eval run samples a model through its data
 * source, and a model grader runs its model (core/model-runs.ts). The key must be allowed to write there too: a key
 * with `batches: write` alone ran chat completions its scope refused through a batch, one with `uploads: write`
 * created files under `files: none`, and one with `evals: write` ran a model on every row of an eval (found by outside
 * reviews). Every method that may carry a body is checked so. `hasBody`: the request has a body, read as `body` only
 * when it is a JSON object.
 */
export function checkDelegatedScope(
  g: GatewayContext,
  record: KeyRecord,
  method: string,
  endpoint: string,
  body: Record<string, unknown> | null,
  search = '',
  hasBody = body !== null,
): void {
  // Every method that may carry a body: an upstream routing without regard to the method runs a PUT or a PATCH as the
  // POST it stands for (a PUT of a grader run ran a model grader unchecked: found by an outside review).
  if (BODILESS_METHODS.has(method)) return;
  // Named in the query string, what runs is not what the body says for an upstream merging the query into the body (a
  // chat batch the body called embeddings): refused to every key, as which one an upstream reads cannot be known.
  // (Only a request with a query string is looked at: this runs on every POST.)
  if (search.length > 1) {
    for (const name of runDecidingParams(endpoint)) {
      if (namesField(search, name)) {
        throw new TollgateError('invalid_value', `'${name}' is read from the body only: this request names it in the query string, where an upstream may read it instead.`, name);
      }
    }
  }
  const runs = endpoint === '/batches' && body !== null ? body.endpoint : undefined;
  // A batch runs one of the endpoints OpenAI batches, spelled exactly so, for every key (as OpenAI answers). One naming
  // none is the upstream's to refuse (a restricted key's is refused below: no scope can be shown to allow it).
  if (runs !== undefined && !(typeof runs === 'string' && BATCH_ENDPOINTS.has(runs))) {
    throw new TollgateError('invalid_value', `A batch's endpoint is one of ${[...BATCH_ENDPOINTS].join(', ')}, spelled exactly so.`, 'endpoint');
  }
  if (record.permissions === 'all') return;
  if (endpoint === '/batches') {
    // A body that is no JSON object names none Tollgate can read: no scope can be shown to allow what it runs.
    checkScope(g, record, 'POST', typeof runs === 'string' ? runs : '/?');
  } else if (endpoint.startsWith('/uploads/') && endpoint.endsWith('/complete')) checkScope(g, record, 'POST', '/v1/files');
  else for (const resource of modelRunsOf(endpoint, body, hasBody)) requireScope(g, record, resource, 'write');
}

/** Whether a query string names a field in any reading (strict, or loose: any case, `;`, brackets): core/form-fields.ts. */
function namesField(search: string, name: string): boolean {
  const found = formFields(search.slice(1), name);
  return !found.ok || found.fields.length > 0;
}

/** Refuses a model outside the key's allowlist. */
export function checkModel(g: GatewayContext, record: KeyRecord, model: string | null): void {
  if (model !== null && !isModelAllowed(record.allowedModels, model)) {
    countRefusal(g, 'model_not_allowed');
    throw new TollgateError('insufficient_permissions', `This API key may not use the model '${model}'.`, 'model');
  }
}

/** Meters a request refused before its body was read (its address, its scope): no model is named. */
function meterRefusal(g: GatewayContext, request: GatewayRequest, record: KeyRecord, status: number, code: string): void {
  const now = g.app.deps.clock();
  meter(
    g,
    { record, model: null, provider: null, route: routeLabel(request.path.slice(3) || '/').route, method: request.method, startedMs: now, requestId: request.requestId, upstreamRequestId: null },
    { status, outcome: 'refused', billable: false, tokens: NO_TOKENS, upstreamMs: null, streamed: false, errorCode: code },
  );
}
