import type { ServerResponse } from 'node:http';
import type { Upstream } from '../../core/upstream.js';
import { TollgateError } from '../../core/errors.js';
import { modelListQuery, modelPage } from '../../core/model-list-query.js';
import { modelNameProblem } from '../../core/model-name.js';
import { isModelAllowed } from '../../core/permissions.js';
import { routeModel } from '../../core/routing.js';
import type { KeyRecord } from '../../core/verify.js';
import type { GatewayContext } from './gateway-context.js';
import { meter, NO_TOKENS } from './metering.js';
import { isModelListingStale, takeModelListingStale } from './model-listing-stale.js';
import { withoutForeignModels } from './ownership.js';
import { type GatewayRequest, refuseBodyOfBodilessMethod } from './request.js';
import { sendJson } from './respond.js';

interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/** How long a listing is kept; one with a provider's list missing, RETRY_MS (its provider is asked again soon). */
const CACHE_MS = 60_000;
const RETRY_MS = 5_000;
/**
 * The least time between two reads of one provider's list for a model retrieved that the listing lacks (refreshedFor):
 * a model made since (a fine-tuned model) is found at once, and a flood of unknown names reaches the provider at most
 * once in this time.
 */
const MISS_READ_MS = 5_000;

interface Listing {
  at: number;
  models: ModelObject[];
  /**
   * Providers whose list could not be read, and none read before stands in for it: `models` holds only what the
   * config declares for them (their routes' exact models, fallbacks naming them), so the listing is partial.
   */
  failed: string[];
}

/** The answer's header naming the providers whose models a partial list may lack (comma-separated). */
export const MODELS_PARTIAL_HEADER = 'x-tollgate-models-partial';

const cache = new WeakMap<GatewayContext, Listing>();
const inFlight = new WeakMap<GatewayContext, Promise<Listing>>();
/** Each asked provider's last list read: it stands in while a later ask fails. */
const lastRead = new WeakMap<GatewayContext, Map<string, ModelObject[]>>();
/** By provider: when its list was last read for a missing model, and that read while it lasts (refreshedFor). */
const missReads = new WeakMap<GatewayContext, Map<string, { at: number; pending: Promise<Listing> | null }>>();

/**
 * Every model the configured upstreams serve (declared in config, else asked once a minute), plus aliases. A provider
 * whose list cannot be read (an error answer, unreachable, not JSON) is never taken for one serving no models: its last
 * list read stands in, or else it is named in `failed` and the models its routes declare stand in (one failed ask had
 * hidden every model for a minute: 200 with an empty list, and 404 model_not_found for models that answered; then one
 * provider's failure refused the whole list). Concurrent asks share one listing.
 */
function allModels(g: GatewayContext): Promise<Listing> {
  const hit = cache.get(g);
  // Read again before its time when a model was made through this instance (model-listing-stale.ts).
  if (hit && !isModelListingStale(g) && hit.at + (hit.failed.length > 0 ? RETRY_MS : CACHE_MS) > g.app.deps.clock()) return Promise.resolve(hit);
  let pending = inFlight.get(g);
  if (!pending) {
    takeModelListingStale(g);
    pending = readListing(g).finally(() => inFlight.delete(g));
    inFlight.set(g, pending);
  }
  return pending;
}

/**
 * The listing, with the list of the provider that serves `id` read again when it lacks `id` (a model made since it was
 * read: a fine-tuned model whose job has just succeeded, which another instance recorded). One such read at a time per
 * provider, and none within MISS_READ_MS of the last: requests waiting on one share it, later ones within the floor
 * get the listing as it is. A provider whose models the config declares is never asked.
 */
async function refreshedFor(g: GatewayContext, listing: Listing, id: string): Promise<Listing> {
  const provider = routeModel(g.routing ?? g.config, id).provider;
  const upstream = provider === null ? undefined : g.upstreams.get(provider);
  if (!upstream || upstream.models) return listing;
  const byProvider = missReads.get(g) ?? new Map<string, { at: number; pending: Promise<Listing> | null }>();
  missReads.set(g, byProvider);
  const last = byProvider.get(upstream.name);
  if (last?.pending) return last.pending;
  const now = g.app.deps.clock();
  if (last && now - last.at < MISS_READ_MS) return listing;
  const read = { at: now, pending: null as Promise<Listing> | null };
  byProvider.set(upstream.name, read);
  read.pending = readListing(g, upstream.name).finally(() => {
    read.pending = null;
  });
  return read.pending;
}

/**
 * Reads every provider's list (those the config does not declare), or only `only`'s, the others' last lists standing
 * in (the listing keeps its time then: the others are read again when it is due).
 */
async function readListing(g: GatewayContext, only: string | null = null): Promise<Listing> {
  const out = new Map<string, ModelObject>();
  const failed: string[] = [];
  const seen = lastRead.get(g) ?? new Map<string, ModelObject[]>();
  lastRead.set(g, seen);
  const previous = cache.get(g);
  for (const u of g.upstreams.values()) {
    if (u.models) {
      for (const id of u.models) out.set(id, { id, object: 'model', created: 0, owned_by: u.name === 'echo' ? 'tollgate' : u.name });
      continue;
    }
    const listed = only === null || only === u.name ? await askModels(u) : null;
    if (listed) seen.set(u.name, listed);
    const models = listed ?? seen.get(u.name);
    if (models) {
      for (const m of models) out.set(m.id, m);
      continue;
    }
    failed.push(u.name);
    // What the config declares for it stands in, below what the providers that answered list.
    for (const m of declaredModels(g, u.name)) if (!out.has(m.id)) out.set(m.id, m);
  }
  if (failed.length > 0) g.log?.warn({ providers: failed }, `GET /v1/models: the list of models of ${failed.map((n) => `'${n}'`).join(', ')} could not be read; answering the models known without it`);
  for (const [alias, target] of Object.entries(g.config.aliases)) {
    const t = out.get(target);
    if (t) out.set(alias, { ...t, id: alias });
  }
  const at = only !== null && previous ? previous.at : g.app.deps.clock();
  const listing = { at, models: [...out.values()].sort((a, b) => a.id.localeCompare(b.id)), failed };
  cache.set(g, listing);
  return listing;
}

/** The models the config names for a provider: its routes' exact patterns, and the fallbacks that name it with a model. */
function declaredModels(g: GatewayContext, provider: string): ModelObject[] {
  const ids = new Set<string>();
  for (const r of (g.routing ?? g.config).routes) {
    if (r.provider === provider && !r.pattern.includes('*')) ids.add(r.pattern);
    for (const f of r.fallbacks ?? []) if (f.provider === provider && f.model !== null) ids.add(f.model);
  }
  return [...ids].map((id) => ({ id, object: 'model', created: 0, owned_by: provider }));
}

/** A provider's own list of models, or null when it could not be read. */
async function askModels(u: Upstream): Promise<ModelObject[] | null> {
  try {
    const res = await u.send({ method: 'GET', path: '/models', search: '', headers: { accept: 'application/json' }, body: null, signal: AbortSignal.timeout(10_000) });
    const body = await res.body.readAll();
    if (res.statusCode !== 200) return null;
    const list = JSON.parse(body.toString('utf8')) as { data?: unknown };
    if (!Array.isArray(list?.data)) return null;
    const models: ModelObject[] = [];
    // A fine-tuned model is owned by the provider's organization (`org-…`): shown as the provider instead.
    for (const m of list.data as ModelObject[]) {
      if (typeof m?.id !== 'string') continue;
      const owner = typeof m.owned_by === 'string' && !m.owned_by.startsWith('org-') ? m.owned_by : u.name;
      models.push({ id: m.id, object: 'model', created: createdOf(m), owned_by: owner });
    }
    return models;
  } catch {
    return null;
  }
}

/** A listed model's creation time in seconds: OpenAI's `created`, or Anthropic's `created_at` (RFC 3339). */
function createdOf(m: ModelObject & { created_at?: unknown }): number {
  if (typeof m.created === 'number') return m.created;
  const at = typeof m.created_at === 'string' ? Date.parse(m.created_at) : Number.NaN;
  return Number.isFinite(at) ? Math.floor(at / 1000) : 0;
}

/** A model in Anthropic's shape (its SDKs' `models.list()` and `models.retrieve()`). */
function anthropicModel(m: ModelObject): Record<string, unknown> {
  return { type: 'model', id: m.id, display_name: m.id, created_at: new Date(m.created * 1000).toISOString() };
}

/**
 * GET /v1/models and /v1/models/{model}: only the models this key may use (in Anthropic's shape to its clients). Its
 * key's scope (models: read) was checked by the listener, before anything of the request was read.
 */
export async function listModels(g: GatewayContext, request: GatewayRequest, res: ServerResponse, one: string | null, record: KeyRecord): Promise<void> {
  const startedMs = g.app.deps.clock();
  // Checked before it is metered (stored): bounded and clean, as everywhere a model is named.
  const problem = one === null ? null : modelNameProblem(one);
  if (problem) throw new TollgateError('invalid_value', problem, 'model');
  // Anthropic's list pages; OpenAI's and a retrieval take no parameter: anything else is refused, never ignored.
  const page = modelListQuery(request.search, request.format, one !== null);
  refuseBodyOfBodilessMethod(request);
  const info = {
    record,
    model: one,
    provider: null,
    route: one ? '/models/{model}' : '/models',
    method: 'GET',
    startedMs,
    requestId: request.requestId,
    upstreamRequestId: null,
  };
  // A model this key may not see is not found, whatever the provider lists (nor is the provider asked for it): one
  // its allowlist leaves out, a fine-tuned model of another project (or of none).
  const notFound = () => {
    meter(g, info, { status: 404, outcome: 'refused', billable: false, tokens: NO_TOKENS, upstreamMs: null, streamed: false, errorCode: 'model_not_found' });
    return new TollgateError('model_not_found', `The model '${one}' does not exist or you do not have access to it.`, 'model');
  };
  if (one !== null && (!isModelAllowed(record.allowedModels, one) || (await withoutForeignModels(g, record, [{ id: one }])).length === 0)) throw notFound();
  let listing = await allModels(g);
  // One the listing lacks may have been made since it was read (a fine-tuned model whose job has just succeeded).
  if (one !== null && !listing.models.some((m) => m.id === one)) listing = await refreshedFor(g, listing, one);
  const allowed = listing.models.filter((m) => isModelAllowed(record.allowedModels, m.id));
  const visible = await withoutForeignModels(g, record, allowed);
  // A provider's list missing: the list is what is known (said partial in a header), but a model not found in it
  // cannot be told (a 404 would say the model does not exist), nor can a list of which this key sees nothing known;
  // the client is told to try again instead.
  if (listing.failed.length > 0 && (one === null ? visible.length === 0 : !visible.some((m) => m.id === one))) {
    meter(g, info, { status: 502, outcome: 'upstream_error', billable: false, tokens: NO_TOKENS, upstreamMs: null, streamed: false, errorCode: 'upstream_error' });
    throw new TollgateError('upstream_error', `The list of models of provider ${listing.failed.map((n) => `'${n}'`).join(', ')} could not be read; try again shortly.`);
  }
  // A cursor this key does not see is refused (400) before the listing is counted, as a bad parameter is.
  const paged = page ? modelPage(visible, page) : { data: visible, hasMore: false };
  if (one !== null && !visible.some((m) => m.id === one)) throw notFound();
  meter(g, info, { status: 200, outcome: 'ok', billable: false, tokens: NO_TOKENS, upstreamMs: null, streamed: false, errorCode: null });
  const anthropic = request.format === 'anthropic';
  const headers: Record<string, string> = anthropic ? { 'request-id': request.requestId } : {};
  if (one === null) {
    if (listing.failed.length > 0) headers[MODELS_PARTIAL_HEADER] = listing.failed.join(',');
    const list = anthropic
      ? { data: paged.data.map(anthropicModel), has_more: paged.hasMore, first_id: paged.data[0]?.id ?? null, last_id: paged.data.at(-1)?.id ?? null }
      : { object: 'list', data: paged.data };
    sendJson(res, request.requestId, 200, list, headers);
    return;
  }
  const found = visible.find((m) => m.id === one) as ModelObject;
  sendJson(res, request.requestId, 200, anthropic ? anthropicModel(found) : found, { ...headers, 'cache-control': 'no-store' });
}
