import { answeredAfterSending, TollgateError } from '../../core/errors.js';
import { notFoundMessage } from '../../core/object-families.js';
import { asksToStream } from '../../core/metering-plan.js';
import { type ObjectPlan, planObjects } from '../../core/object-plan.js';
import { mayNameObjects } from '../../core/object-refs.js';
import { missingObjectScope, namedObjectsLevel } from '../../core/object-scopes.js';
import type { PermissionsSpec } from '../../core/permissions.js';
import { findRepeatedMember } from '../../core/repeated-members.js';
import { bodyKindOf } from '../../core/request-model.js';
import type { KeyRecord } from '../../core/verify.js';
import type { ObjectOwner, ObjectOwners } from '../../core/ports.js';
import type { Upstream } from '../../core/upstream.js';
import { countRefusal, refuseScope } from './authorize.js';
import { checkBatchInput } from './batch-input.js';
import { multipartFields, urlencodedFields } from './body-fields.js';
import type { GatewayContext } from './gateway-context.js';
import { settleAnswer } from './owned-answers.js';
import { sniffJson } from './request-model.js';
import { repeatedMemberError } from '../shared/json-body.js';
import type { GatewayRequest } from './request.js';
import { andThen, isPending, type MaybePromise } from '../../core/maybe-promise.js';

// Check 4b of a gateway request (after scope and model, before limits): every upstream object the request names must
// belong to the caller's project, else 404 as OpenAI answers for a missing object. Requests that name, create and
// list no object (a chat completion that stores nothing) cost a few type checks and nothing else.

/** The ownership wiring of the data plane. */
export interface GatewayObjects {
  owners: ObjectOwners;
  /** Reports a failure the client is not told about in full (logged for the operator). */
  onError(err: unknown, message: string): void;
}

/** A request's plan and who is making it: what the answer's handling needs. */
export interface ObjectAccess {
  plan: ObjectPlan;
  projectId: string;
  apiKeyId: string;
  /** The key's permissions: what a batch's input lines name needs its scopes too. */
  permissions: PermissionsSpec;
  /** Whether the request asked to stream: its answer is read as events unless it says it is JSON (core/media-types.ts). */
  streams: boolean;
  /**
   * The provider credential whose account holds the objects the request names (recorded with them), which the request
   * is sent with and no other (UpstreamRequest.credential); null when none of them is pinned.
   */
  credential: string | null;
}

/**
 * The body as an upstream may read it: the parsed JSON; else the bytes as JSON whenever they read as JSON (after an
 * optional byte order mark), whatever the declared type (an upstream may ignore Content-Type, and one that does not
 * cannot read such bytes as form data); else multipart or form fields as declared. The same reading as the model's
 * (request-model.ts): a JSON body under a form type or with a byte order mark was read as naming no object, and went
 * to the upstream unchecked.
 */
function bodyOf(request: GatewayRequest): { body: unknown; params: unknown } {
  const raw = request.rawBody;
  // A JSON body declared as such was refused already if it names a member twice (core/request-model.ts, at any depth).
  if (request.json !== null) return same(request.json);
  if (!raw) return same(null);
  const json = sniffJson(raw);
  if (json !== undefined) return same(withoutHiddenMembers(json, raw));
  const type = request.headers['content-type'];
  // A multipart body's file parts are read for the objects an upstream may take them to name, but are data, not the
  // request's parameters, for its scopes (body-fields.ts).
  if (typeof type === 'string' && bodyKindOf(type) === 'multipart') {
    const { fields, params } = multipartFields(raw, type);
    return { body: fields, params };
  }
  if (typeof type === 'string' && /^\s*application\/x-www-form-urlencoded/i.test(type)) return same(urlencodedFields(raw.toString('latin1')));
  return same(null);
}

const same = (body: unknown) => ({ body, params: body });

/**
 * A body read as JSON though declared otherwise, refused (400 `invalid_json`) when it names a member twice and may name
 * an object: JSON.parse kept the last, and a reader keeping the first would act on an object the check never saw. A
 * body whose bytes name no object is not scanned (object-refs.ts, mayNameObjects).
 */
function withoutHiddenMembers(json: unknown, raw: Buffer | null): unknown {
  if (raw === null || json === null || typeof json !== 'object' || !mayNameObjects(raw)) return json;
  const repeated = findRepeatedMember(raw.toString('utf8'));
  if (repeated) throw repeatedMemberError(repeated);
  return json;
}

/**
 * Plans a request's use of upstream objects and checks the objects it names: null when it uses none; throws 404
 * (`not_found`) for an object of another project or of none, 403 for a request Tollgate cannot confine to the
 * project. Synchronous when the owners are cached.
 */
export function checkObjects(
  g: GatewayContext,
  record: KeyRecord,
  request: GatewayRequest,
  endpoint: string,
  model: string | null,
): MaybePromise<ObjectAccess | null> {
  if (!g.objects || record.projectId === null) return null;
  const { body, params } = bodyOf(request);
  // Parameters in the query string name objects for an upstream that reads them there as well.
  const query = request.search.length > 1 ? urlencodedFields(request.search.slice(1)) : null;
  const input = { method: request.method, endpoint, search: request.search, body, query, model, format: request.format };
  const plan = planObjects(input);
  if (!plan) return null;
  if (plan.invalid) throw new TollgateError('invalid_value', plan.invalid.message, plan.invalid.param);
  if (plan.refusal) {
    countRefusal(g, 'object_query');
    throw new TollgateError('insufficient_permissions', plan.refusal);
  }
  // A restricted key needs the scope of every object the request names, on whatever path it names it.
  if (record.permissions !== 'all' && plan.named.length > 0) {
    // Of a multipart body with file parts, the objects its parameters name (planned again without the files' contents).
    const named = params === body ? plan.named : (planObjects({ ...input, body: params })?.named ?? []);
    const missing = missingObjectScope(record.permissions, namedObjectsLevel(request.method, endpoint), named);
    if (missing) refuseScope(g, missing.resource, missing.level);
  }
  const streams = body !== null && typeof body === 'object' && asksToStream(body as Record<string, unknown>);
  const access: ObjectAccess = { plan, projectId: record.projectId, apiKeyId: record.id, permissions: record.permissions, streams, credential: null };
  if (plan.named.length === 0) return access;
  const owners = g.objects.owners.owners(plan.named.map((r) => r.id));
  return andThen(owners, (o) => verifyOwners(g, access, o));
}

function verifyOwners(g: GatewayContext, access: ObjectAccess, owners: Map<string, ObjectOwner | null>): ObjectAccess {
  /** The first object named that is pinned to a credential, and that credential. */
  let pinned: { id: string; credential: string } | null = null;
  for (const ref of access.plan.named) {
    const owner = owners.get(ref.id);
    if (owner?.projectId !== access.projectId) {
      countRefusal(g, 'object_not_found');
      throw new TollgateError('not_found', notFoundMessage(ref.type, ref.id), ref.param);
    }
    if (owner.credential === null) continue;
    if (pinned === null) pinned = { id: ref.id, credential: owner.credential };
    else if (pinned.credential !== owner.credential) {
      // Held by two provider accounts (a pool of keys): no one request reaches both.
      throw new TollgateError(
        'invalid_value',
        `${ref.id} and ${pinned.id} are held by different provider accounts (they were made through different provider keys of this gateway), so no one request can use both; use objects made together.`,
        ref.param,
      );
    }
  }
  if (pinned !== null) access.credential = pinned.credential;
  return access;
}

/**
 * The upstream as seen by a request that uses objects: its answer is read for the objects it creates (recorded as
 * the project's before the answer goes on), filtered when it is a shared list, and its deletions recorded.
 */
export function ownedUpstream(g: GatewayContext, access: ObjectAccess, inner: Upstream): Upstream {
  return {
    name: inner.name,
    format: inner.format,
    models: inner.models,
    totalTimeoutMs: inner.totalTimeoutMs,
    credential: inner.credential,
    send: async (sent) => {
      // Sent with the credential whose account holds the objects it names, and no other (a pool's other keys are other
      // accounts, which answer 404 for them).
      const req = access.credential === null ? sent : { ...sent, credential: access.credential };
      // Later pages of a filtered list go out with the same headers (the upstream adds its credentials to the object).
      const headers = { ...req.headers };
      if (access.plan.batchInput) await checkBatchInput(g, access, inner, req, access.plan.batchInput);
      const up = await inner.send(req);
      try {
        return await settleAnswer(g, access, up, { inner, req: { ...req, headers } });
      } catch (err) {
        // The upstream acted on the request (made an object that could not be recorded, answered a list that could not
        // be filtered): a retry by the client's SDK would act again (three fine-tuning jobs, none usable: found by a
        // review). A failure of the upstream's own body is an UpstreamFailure, answered so by the proxy.
        throw err instanceof TollgateError ? answeredAfterSending(err) : err;
      }
    },
    // The pool belongs to the upstream this wraps.
    close: () => Promise.resolve(),
  };
}

/** Models without the fine-tuned ones (`ft:…`) of other projects: a project sees its own fine-tuned models only. */
export async function withoutForeignModels<T extends { id: string }>(g: GatewayContext, record: KeyRecord, models: T[]): Promise<T[]> {
  if (!g.objects || record.projectId === null) return models;
  const tuned = models.filter((m) => m.id.startsWith('ft:')).map((m) => m.id);
  if (tuned.length === 0) return models;
  const found = g.objects.owners.owners(tuned);
  const owners = isPending(found) ? await found : found;
  return models.filter((m) => !m.id.startsWith('ft:') || owners.get(m.id)?.projectId === record.projectId);
}
