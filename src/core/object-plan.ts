import type { ApiFormat } from './anthropic-errors.js';
import { BODILESS_METHODS } from './api-routes.js';
import { mayMakeContainer } from './anthropic-containers.js';
import { type Creation, collectionOf, type ListCursors, OPENAI_CURSORS, type ObjectType } from './object-families.js';
import { foldName } from './member-case.js';
import { chatRefs, type ObjectRef, queriesStoredObjects, requestRefs } from './object-refs.js';

/** What a gateway request does with upstream objects: which it names, creates, lists or deletes. */
export interface ObjectPlan {
  /** Objects named in the path, the query's list cursor and the body: each must be the caller's project's. */
  named: ObjectRef[];
  /** The object the answer creates (recorded as the caller's), or null. */
  creates: Creation | null;
  /** A list of a collection shared by every project: the answer is filtered to the caller's objects. */
  list: ListPlan | null;
  /** The object a successful answer deletes (its ownership row is marked deleted), or null. */
  deletes: ObjectRef | null;
  /** Whether the answer may carry ids the upstream made for the caller (adopted when nobody owns them). */
  adopts: boolean;
  /**
   * Whether the answer may name a container the upstream made for the request (Anthropic's code execution, Agent
   * Skills): adopted when nobody owns it, so the project can pass it back as `container`.
   */
  adoptsContainer: boolean;
  /** A reason to refuse the request whatever the objects (403), or null. */
  refusal: string | null;
  /** A reason to refuse the request as malformed (400 invalid_value naming `param`), or null. */
  invalid: { message: string; param: string } | null;
  /** The type of the collection the path lies in (its objects' items are adopted from answers), or null. */
  collection: ObjectType | null;
  /**
   * A batch's input file, whose every line is a request the upstream runs in the shared account: the objects those
   * requests name are checked too, before the batch is made.
   */
  batchInput: string | null;
  /** The endpoint that batch runs (its body's `endpoint`), which each input line's `url` must be; null when none. */
  batchEndpoint: string | null;
}

export interface ListPlan {
  type: ObjectType;
  /** The direction the list runs in (the `order` asked for, or the API's default). */
  order: 'asc' | 'desc';
  /** The paging direction: forward from `after`, or backward from `before`. */
  direction: 'after' | 'before';
  /** Query parameters other than the cursor, limit and order: filters the upstream applies. */
  filtered: boolean;
  /** The names of the list's paging parameters (OpenAI's `after`/`before`, Anthropic's `after_id`/`before_id`). */
  cursors: ListCursors;
}

export interface PlanInput {
  method: string;
  /** The path after `/v1`, canonical (e.g. `/files/file-abc/content`). */
  endpoint: string;
  /** The query string with its `?`, or ''. */
  search: string;
  /** The parsed body: a JSON value, multipart or form fields as an object, or null. */
  body: unknown;
  /** The query string's parameters as an object (an upstream may read parameters there), or null. */
  query?: unknown;
  /** The model the request is forwarded with, when the client named it (not an operator's alias). */
  model: string | null;
  /** The API the request is in (api-routes.ts answerFormat); OpenAI's when not given. */
  format?: ApiFormat;
}

/** Endpoints whose bodies name no objects (openapi.yaml): only a fine-tuned model needs a check. */
const NO_REFS = new Set(['/completions', '/embeddings', '/moderations', '/images/generations']);

const PAGING = new Set(['after', 'before', 'limit', 'order']);

/** A path segment as the upstream reads it; a malformed escape stays as sent (and matches no object). */
function decodeSegment(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * The segments of a path as an upstream that decodes escapes, takes `\` for `/` and resolves dot and empty segments
 * would read them. The gateway forwards canonical paths only; reading any other spelling this way here as well means
 * no spelling can name an object without it being checked.
 */
function resolvedSegments(endpoint: string): string[] {
  const out: string[] = [];
  for (const raw of endpoint.split('/')) {
    for (const segment of decodeSegment(raw).split(/[\\/]/)) {
      if (segment === '' || segment === '.') continue;
      if (segment === '..') out.pop();
      else out.push(segment);
    }
  }
  return out;
}

const isFineTuned = (model: string | null): model is string => model?.startsWith('ft:') === true;

/**
 * Classifies a request by what it does with upstream objects; null when it touches none (a chat completion that
 * stores nothing and names no file costs a few type checks). Pure: the gateway checks and records what this returns.
 */
export function planObjects(input: PlanInput): ObjectPlan | null {
  const { method, endpoint, body, model } = input;
  // The hot path: model calls that store nothing.
  if (method === 'POST' && endpoint === '/chat/completions' && !input.query) {
    const b = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
    const refs = b ? chatRefs(b) : null;
    const stores = b?.store === true;
    if (!refs && !stores && !isFineTuned(model)) return null;
    const plan = emptyPlan(refs ?? []);
    plan.collection = 'chat_completion';
    if (isFineTuned(model)) plan.named.push({ type: 'model', id: model, param: 'model' });
    if (stores) plan.creates = { type: 'chat_completion', from: 'id' };
    return plan;
  }
  if (NO_REFS.has(endpoint) && !input.query) return isFineTuned(model) ? emptyPlan([{ type: 'model', id: model, param: 'model' }]) : null;

  const plan = emptyPlan([]);
  const at = collectionOf(resolvedSegments(endpoint));
  const stored = (body as { store?: unknown } | null)?.store;
  const query = input.search ? new URLSearchParams(input.search) : null;
  if (at) {
    const { collection: c, rest } = at;
    if (rest.length === 0) {
      if (method === 'POST' && c.create && (c.stores === 'when_true' ? stored === true : c.stores !== 'unless_false' || stored !== false)) {
        plan.creates = c.create;
      }
      if (method === 'GET' && c.list && input.format === 'anthropic' && !c.list.cursors) {
        // Anthropic's list of a collection both APIs have (its Files API, its skills): paged not by the cursors this
        // collection's filter reads further pages with (OpenAI's), but by an opaque `page` token, so it cannot be
        // filtered to the project's objects. Refused, never shown whole (Anthropic's own message batches are filtered).
        plan.refusal = `Listing /v1/${at.key} of Anthropic's API is not available through Tollgate: the provider account's list holds every project's objects and cannot be filtered to this project's. Retrieve each by its id (GET /v1/${at.key}/{id}).`;
      } else if (method === 'GET' && c.list) {
        const cursors = c.list.cursors ?? OPENAI_CURSORS;
        const order = query?.get('order');
        const direction = query?.has(cursors.before) ? 'before' : 'after';
        let filtered = false;
        for (const name of query?.keys() ?? []) if (!PAGING.has(name) && name !== cursors.after && name !== cursors.before) filtered = true;
        plan.list = { type: c.type, order: order === 'asc' || order === 'desc' ? order : c.list.order, direction, filtered, cursors };
        for (const cursor of [cursors.after, cursors.before]) {
          for (const id of query?.getAll(cursor) ?? []) if (id !== '') plan.named.push({ type: c.type, id, param: cursor });
        }
      }
    } else {
      const id = rest[0];
      plan.named.push({ type: c.type, id, param: null });
      if (rest.length >= 3 && c.nested?.[rest[1]]) {
        // `/vector_stores/{id}/files/{file_id}` is the store's record of the file (its status, its attributes), a part
        // of the store; what lies below it (`…/content`) reads the file itself.
        const nested: ObjectRef = { type: c.nested[rest[1]], id: rest[2], param: null };
        if (rest.length === 3) nested.part = true;
        plan.named.push(nested);
      }
      if (method === 'DELETE' && rest.length === 1 && c.deletable) plan.deletes = { type: c.type, id, param: null };
      if (method === 'POST' && rest.length === 2 && c.actions?.[rest[1]]) plan.creates = c.actions[rest[1]];
    }
    plan.adopts = c.adopts === true;
    plan.collection = c.type;
  }
  if (input.query) requestRefs(input.query, plan.named);
  // A batch is made by a POST; by any other method that may carry a body too, for an upstream routing without regard to
  // the method (its lines were not read for a PUT).
  if (plan.creates?.type === 'batch' || (at?.collection.type === 'batch' && at.rest.length === 0 && !BODILESS_METHODS.has(method))) {
    // The one input file whose lines are read for the objects they name: named once, in the body or the query string,
    // in any case; named twice (a repeated form field, the query beside the body), an upstream keeping the other one
    // ran lines nobody checked (found by an outside review).
    const named = [...inputFilesOf(body), ...inputFilesOf(input.query)];
    if (named.some((v) => typeof v !== 'string') || new Set(named).size > 1) {
      plan.invalid = { message: 'A batch names its input file once, as input_file_id in the body: this request names it more than once or not as a string.', param: 'input_file_id' };
    } else if (named.length > 0) plan.batchInput = named[0] as string;
    const runs = body !== null && typeof body === 'object' ? (body as { endpoint?: unknown }).endpoint : undefined;
    plan.batchEndpoint = typeof runs === 'string' ? runs : null;
  }
  if (body !== null && body !== undefined) {
    requestRefs(body, plan.named);
    if (at?.key === 'evals' && queriesStoredObjects(body)) {
      plan.refusal =
        'Eval data sources that select stored responses or completions by query read the objects of every project sharing the upstream account; Tollgate refuses them. Use a file or inline data source.';
    }
  }
  if (isFineTuned(model) && !plan.named.some((r) => r.type === 'model' && r.id === model)) plan.named.push({ type: 'model', id: model, param: 'model' });
  // The container Anthropic's Messages API runs Claude's code in (`container_01…`) is a part of its messages, not one of
  // OpenAI's `/v1/containers`, wherever a request of that API names it (a message, a message batch's requests).
  if (endpoint === '/messages' || endpoint.startsWith('/messages/')) for (const ref of plan.named) if (ref.type === 'container') ref.part = true;
  // Only a Messages request that asks for a container or offers a tool running code has its answer read for one.
  if (method === 'POST' && endpoint === '/messages' && body !== null && typeof body === 'object' && !Array.isArray(body)) {
    plan.adoptsContainer = mayMakeContainer(body as Record<string, unknown>);
  }
  if (plan.named.length === 0 && !plan.creates && !plan.list && !plan.deletes && !plan.refusal && !plan.invalid && !plan.adoptsContainer) return null;
  return plan;
}

function emptyPlan(named: ObjectRef[]): ObjectPlan {
  return { named, creates: null, list: null, deletes: null, adopts: false, adoptsContainer: false, refusal: null, invalid: null, collection: null, batchInput: null, batchEndpoint: null };
}

/** Every value a request's body or query names as `input_file_id`, in any case, a repeated field's each. */
function inputFilesOf(fields: unknown): unknown[] {
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) return [];
  const out: unknown[] = [];
  for (const key in fields as Record<string, unknown>) {
    if (foldName(key) !== 'input_file_id') continue;
    const v = (fields as Record<string, unknown>)[key];
    if (Array.isArray(v)) out.push(...v);
    else out.push(v);
  }
  return out;
}
