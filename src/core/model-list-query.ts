import type { ApiFormat } from './anthropic-errors.js';
import { TollgateError } from './errors.js';

// The query string of GET /v1/models and /v1/models/{model}, which Tollgate answers itself. Anthropic's list pages
// (its API reference, "List Models": `limit` 1 to 1000, default 20; `after_id` / `before_id` cursors; `first_id`,
// `last_id`, `has_more`); OpenAI's list and both retrievals take no parameter (openapi.yaml, listModels and
// retrieveModel). A parameter is applied or refused, never ignored: `?limit=1` answered with every model had a client
// believe it had the whole list in one page.

/** Anthropic's default and largest page of models. */
export const ANTHROPIC_MODELS_DEFAULT_LIMIT = 20;
export const ANTHROPIC_MODELS_MAX_LIMIT = 1000;

/** What a listing asks for: a page of `limit` models after or before a cursor (a model id), or from the start. */
export interface ModelPageQuery {
  limit: number;
  afterId: string | null;
  beforeId: string | null;
}

/**
 * The page a GET /v1/models query asks for, in the client's API (`format`); null for OpenAI's list, which is whole.
 * Throws 400 (`unknown_parameter`, `invalid_value`) naming the parameter for anything else.
 */
export function modelListQuery(search: string, format: ApiFormat, retrieval: boolean): ModelPageQuery | null {
  const params = new URLSearchParams(search);
  const pages = format === 'anthropic' && !retrieval;
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (seen.has(name)) throw new TollgateError('invalid_value', `The query parameter '${name}' is given more than once.`, name);
    seen.add(name);
    if (pages && (name === 'lifecycle' || name.startsWith('lifecycle['))) {
      // Anthropic's filter by lifecycle stage: the providers' lists Tollgate merges do not all say a model's stage.
      throw new TollgateError('invalid_value', "Tollgate does not filter models by lifecycle stage: list them without 'lifecycle'.", name);
    }
    if (!pages || (name !== 'limit' && name !== 'after_id' && name !== 'before_id')) {
      throw new TollgateError('unknown_parameter', `Unrecognized request argument supplied: ${name}`, name);
    }
  }
  if (!pages) return null;
  const limitText = params.get('limit');
  let limit = ANTHROPIC_MODELS_DEFAULT_LIMIT;
  if (limitText !== null) {
    limit = /^[0-9]{1,7}$/.test(limitText) ? Number(limitText) : Number.NaN;
    if (!(limit >= 1 && limit <= ANTHROPIC_MODELS_MAX_LIMIT)) {
      throw new TollgateError('invalid_value', `limit: must be a whole number from 1 to ${ANTHROPIC_MODELS_MAX_LIMIT}, not '${limitText.slice(0, 40)}'.`, 'limit');
    }
  }
  const afterId = params.get('after_id');
  const beforeId = params.get('before_id');
  if (afterId !== null && beforeId !== null) throw new TollgateError('invalid_value', 'after_id and before_id cannot be given together.', 'before_id');
  for (const [name, value] of [
    ['after_id', afterId],
    ['before_id', beforeId],
  ] as const) {
    if (value === '') throw new TollgateError('invalid_value', `${name}: must name a model of the list, not be empty.`, name);
  }
  return { limit, afterId, beforeId };
}

/**
 * The page of `items` (in list order) a query asks for: the `limit` items right after `afterId`, right before
 * `beforeId`, or first; `hasMore` when the list goes on in that direction. A cursor that is not in the list (a model
 * this key does not see, or none at all: the two read alike) is a 400 naming it.
 */
export function modelPage<T extends { id: string }>(items: readonly T[], q: ModelPageQuery): { data: T[]; hasMore: boolean } {
  const cursor = q.afterId ?? q.beforeId;
  const at = cursor === null ? -1 : items.findIndex((m) => m.id === cursor);
  if (cursor !== null && at < 0) {
    const name = q.afterId !== null ? 'after_id' : 'before_id';
    throw new TollgateError('invalid_value', `${name}: '${cursor.slice(0, 256)}' is not a model of this list.`, name);
  }
  if (q.beforeId !== null) {
    const start = Math.max(0, at - q.limit);
    return { data: items.slice(start, at), hasMore: start > 0 };
  }
  const start = at + 1;
  return { data: items.slice(start, start + q.limit), hasMore: start + q.limit < items.length };
}
