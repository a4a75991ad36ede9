import type { ServerResponse } from 'node:http';
import { TollgateError } from '../../core/errors.js';
import { modelNameProblem } from '../../core/model-name.js';
import { isModelAllowed } from '../../core/permissions.js';
import { authorizeGatewayRequest, checkScope } from './authorize.js';
import type { GatewayContext } from './gateway-context.js';
import { meter, NO_TOKENS } from './metering.js';
import { withoutForeignModels } from './ownership.js';
import type { GatewayRequest } from './request.js';
import { sendJson } from './respond.js';
import { isPending } from '../../core/maybe-promise.js';

interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

const CACHE_MS = 60_000;
const cache = new WeakMap<GatewayContext, { at: number; models: ModelObject[] }>();

/** Every model the configured upstreams serve (declared in config, else asked once a minute), plus aliases. */
async function allModels(g: GatewayContext): Promise<ModelObject[]> {
  const hit = cache.get(g);
  if (hit && hit.at + CACHE_MS > g.app.deps.clock()) return hit.models;
  const out = new Map<string, ModelObject>();
  for (const u of g.upstreams.values()) {
    if (u.models) {
      for (const id of u.models) out.set(id, { id, object: 'model', created: 0, owned_by: u.name === 'echo' ? 'tollgate' : u.name });
      continue;
    }
    try {
      const res = await u.send({ method: 'GET', path: '/models', search: '', headers: { accept: 'application/json' }, body: null, signal: AbortSignal.timeout(10_000) });
      const body = await res.body.readAll();
      if (res.statusCode === 200) {
        const list = JSON.parse(body.toString('utf8')) as { data?: ModelObject[] };
        // A fine-tuned model is owned by the provider's organization (`org-…`): shown as the provider instead.
        for (const m of list.data ?? []) {
          if (typeof m?.id !== 'string') continue;
          const owner = typeof m.owned_by === 'string' && !m.owned_by.startsWith('org-') ? m.owned_by : u.name;
          out.set(m.id, { id: m.id, object: 'model', created: createdOf(m), owned_by: owner });
        }
      }
    } catch {
      // An unreachable upstream contributes no models; the list still answers.
    }
  }
  for (const [alias, target] of Object.entries(g.config.aliases)) {
    const t = out.get(target);
    if (t) out.set(alias, { ...t, id: alias });
  }
  const models = [...out.values()].sort((a, b) => a.id.localeCompare(b.id));
  cache.set(g, { at: g.app.deps.clock(), models });
  return models;
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

/** GET /v1/models and /v1/models/{model}: only the models this key may use (in Anthropic's shape to its clients). */
export async function listModels(g: GatewayContext, request: GatewayRequest, res: ServerResponse, one: string | null): Promise<void> {
  const startedMs = g.app.deps.clock();
  const authorized = authorizeGatewayRequest(g, request);
  const record = isPending(authorized) ? await authorized : authorized;
  g.anomaly?.observe(record, request.ip, startedMs);
  // Checked before it is metered (stored): bounded and clean, as everywhere a model is named.
  const problem = one === null ? null : modelNameProblem(one);
  if (problem) throw new TollgateError('invalid_value', problem, 'model');
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
  try {
    checkScope(g, record, 'GET', '/v1/models');
  } catch (err) {
    meter(g, info, { status: 403, outcome: 'refused', billable: false, tokens: NO_TOKENS, upstreamMs: null, streamed: false, errorCode: 'insufficient_permissions' });
    throw err;
  }
  const allowed = (await allModels(g)).filter((m) => isModelAllowed(record.allowedModels, m.id));
  const visible = await withoutForeignModels(g, record, allowed);
  meter(g, info, { status: 200, outcome: 'ok', billable: false, tokens: NO_TOKENS, upstreamMs: null, streamed: false, errorCode: null });
  const anthropic = request.format === 'anthropic';
  const headers = anthropic ? { 'request-id': request.requestId } : undefined;
  if (one === null) {
    const list = anthropic
      ? { data: visible.map(anthropicModel), has_more: false, first_id: visible[0]?.id ?? null, last_id: visible.at(-1)?.id ?? null }
      : { object: 'list', data: visible };
    sendJson(res, request.requestId, 200, list, headers);
    return;
  }
  const found = visible.find((m) => m.id === one);
  if (!found) throw new TollgateError('model_not_found', `The model '${one}' does not exist or you do not have access to it.`, 'model');
  sendJson(res, request.requestId, 200, anthropic ? anthropicModel(found) : found, { ...headers, 'cache-control': 'no-store' });
}
