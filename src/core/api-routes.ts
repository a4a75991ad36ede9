import type { ApiFormat } from './anthropic-errors.js';

// The data-plane routes of OpenAI's API, as its published description lists them (openapi.yaml, paths outside the
// Admin API), and every static word those paths use. api-routes.test.ts checks both against the spec, so a route the
// spec gains is noticed. A request path is matched to its template (`/files/{file_id}/content`): metering records the
// template, never the client's id, and decisions that depend on the route read it from here.

/** Every data-plane route template, relative to `/v1`. */
export const API_ROUTES: readonly string[] = [
  '/assistants',
  '/assistants/{assistant_id}',
  '/audio/speech',
  '/audio/transcriptions',
  '/audio/translations',
  '/audio/voice_consents',
  '/audio/voice_consents/{consent_id}',
  '/audio/voices',
  '/batches',
  '/batches/{batch_id}',
  '/batches/{batch_id}/cancel',
  '/chat/completions',
  '/chat/completions/{completion_id}',
  '/chat/completions/{completion_id}/messages',
  '/chatkit/sessions',
  '/chatkit/sessions/{session_id}/cancel',
  '/chatkit/threads',
  '/chatkit/threads/{thread_id}',
  '/chatkit/threads/{thread_id}/items',
  '/completions',
  '/containers',
  '/containers/{container_id}',
  '/containers/{container_id}/files',
  '/containers/{container_id}/files/{file_id}',
  '/containers/{container_id}/files/{file_id}/content',
  '/content_provenance_checks',
  '/conversations',
  '/conversations/{conversation_id}',
  '/conversations/{conversation_id}/items',
  '/conversations/{conversation_id}/items/{item_id}',
  '/embeddings',
  '/evals',
  '/evals/{eval_id}',
  '/evals/{eval_id}/runs',
  '/evals/{eval_id}/runs/{run_id}',
  '/evals/{eval_id}/runs/{run_id}/output_items',
  '/evals/{eval_id}/runs/{run_id}/output_items/{output_item_id}',
  '/files',
  '/files/{file_id}',
  '/files/{file_id}/content',
  '/fine_tuning/alpha/graders/run',
  '/fine_tuning/alpha/graders/validate',
  '/fine_tuning/jobs',
  '/fine_tuning/jobs/{fine_tuning_job_id}',
  '/fine_tuning/jobs/{fine_tuning_job_id}/cancel',
  '/fine_tuning/jobs/{fine_tuning_job_id}/checkpoints',
  '/fine_tuning/jobs/{fine_tuning_job_id}/events',
  '/fine_tuning/jobs/{fine_tuning_job_id}/pause',
  '/fine_tuning/jobs/{fine_tuning_job_id}/resume',
  '/images/edits',
  '/images/generations',
  '/images/variations',
  '/models',
  '/models/{model}',
  '/moderations',
  '/realtime/calls',
  '/realtime/calls/{call_id}/accept',
  '/realtime/calls/{call_id}/hangup',
  '/realtime/calls/{call_id}/refer',
  '/realtime/calls/{call_id}/reject',
  '/realtime/client_secrets',
  '/realtime/sessions',
  '/realtime/transcription_sessions',
  '/realtime/translations/client_secrets',
  '/responses',
  '/responses/compact',
  '/responses/input_tokens',
  '/responses/{response_id}',
  '/responses/{response_id}/cancel',
  '/responses/{response_id}/input_items',
  '/skills',
  '/skills/{skill_id}',
  '/skills/{skill_id}/content',
  '/skills/{skill_id}/versions',
  '/skills/{skill_id}/versions/{version}',
  '/skills/{skill_id}/versions/{version}/content',
  '/threads',
  '/threads/runs',
  '/threads/{thread_id}',
  '/threads/{thread_id}/messages',
  '/threads/{thread_id}/messages/{message_id}',
  '/threads/{thread_id}/runs',
  '/threads/{thread_id}/runs/{run_id}',
  '/threads/{thread_id}/runs/{run_id}/cancel',
  '/threads/{thread_id}/runs/{run_id}/steps',
  '/threads/{thread_id}/runs/{run_id}/steps/{step_id}',
  '/threads/{thread_id}/runs/{run_id}/submit_tool_outputs',
  '/uploads',
  '/uploads/{upload_id}/cancel',
  '/uploads/{upload_id}/complete',
  '/uploads/{upload_id}/parts',
  '/vector_stores',
  '/vector_stores/{vector_store_id}',
  '/vector_stores/{vector_store_id}/file_batches',
  '/vector_stores/{vector_store_id}/file_batches/{batch_id}',
  '/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel',
  '/vector_stores/{vector_store_id}/file_batches/{batch_id}/files',
  '/vector_stores/{vector_store_id}/files',
  '/vector_stores/{vector_store_id}/files/{file_id}',
  '/vector_stores/{vector_store_id}/files/{file_id}/content',
  '/vector_stores/{vector_store_id}/search',
  '/videos',
  '/videos/characters',
  '/videos/characters/{character_id}',
  '/videos/edits',
  '/videos/extensions',
  '/videos/{video_id}',
  '/videos/{video_id}/content',
  '/videos/{video_id}/remix',
];

/**
 * Routes outside `/organization` and `/projects` that OpenAI's spec says need an admin API key: a fine-tuned
 * checkpoint's permissions share the model with other organizations, an action on the provider's account as the Admin
 * API's are. Never forwarded, whatever the key (PROVIDER_ADMIN_PREFIXES), as `/v1/projects/…` is not.
 */
export const PROVIDER_ADMIN_ROUTES: readonly string[] = [
  '/fine_tuning/checkpoints/{fine_tuned_model_checkpoint}/permissions',
  '/fine_tuning/checkpoints/{fine_tuned_model_checkpoint}/permissions/{permission_id}',
];

/**
 * The static start of each provider-admin route (`/fine_tuning/checkpoints`): it and every path below it are never
 * forwarded, so no other path below it (`…/permissions/x/y`) reaches an upstream either.
 */
export const PROVIDER_ADMIN_PREFIXES: readonly string[] = [...new Set(PROVIDER_ADMIN_ROUTES.map((r) => r.slice(0, r.indexOf('/{'))))];

/**
 * The routes above that the API serves by GET (openapi.yaml; api-routes.test.ts checks it). A GET or HEAD of any other
 * listed route is no read: an upstream routing without regard to the method runs it as the route's POST (a cancel, a
 * search, a model call), so a key's scope counts it as the write it stands for (core/permissions.ts levelForRequest).
 */
export const READ_ROUTES: ReadonlySet<string> = new Set([
  '/assistants',
  '/assistants/{assistant_id}',
  '/audio/voice_consents',
  '/audio/voice_consents/{consent_id}',
  '/batches',
  '/batches/{batch_id}',
  '/chat/completions',
  '/chat/completions/{completion_id}',
  '/chat/completions/{completion_id}/messages',
  '/chatkit/threads',
  '/chatkit/threads/{thread_id}',
  '/chatkit/threads/{thread_id}/items',
  '/containers',
  '/containers/{container_id}',
  '/containers/{container_id}/files',
  '/containers/{container_id}/files/{file_id}',
  '/containers/{container_id}/files/{file_id}/content',
  '/conversations/{conversation_id}',
  '/conversations/{conversation_id}/items',
  '/conversations/{conversation_id}/items/{item_id}',
  '/evals',
  '/evals/{eval_id}',
  '/evals/{eval_id}/runs',
  '/evals/{eval_id}/runs/{run_id}',
  '/evals/{eval_id}/runs/{run_id}/output_items',
  '/evals/{eval_id}/runs/{run_id}/output_items/{output_item_id}',
  '/files',
  '/files/{file_id}',
  '/files/{file_id}/content',
  '/fine_tuning/jobs',
  '/fine_tuning/jobs/{fine_tuning_job_id}',
  '/fine_tuning/jobs/{fine_tuning_job_id}/checkpoints',
  '/fine_tuning/jobs/{fine_tuning_job_id}/events',
  '/models',
  '/models/{model}',
  '/responses/{response_id}',
  '/responses/{response_id}/input_items',
  '/skills',
  '/skills/{skill_id}',
  '/skills/{skill_id}/content',
  '/skills/{skill_id}/versions',
  '/skills/{skill_id}/versions/{version}',
  '/skills/{skill_id}/versions/{version}/content',
  '/threads/{thread_id}',
  '/threads/{thread_id}/messages',
  '/threads/{thread_id}/messages/{message_id}',
  '/threads/{thread_id}/runs',
  '/threads/{thread_id}/runs/{run_id}',
  '/threads/{thread_id}/runs/{run_id}/steps',
  '/threads/{thread_id}/runs/{run_id}/steps/{step_id}',
  '/vector_stores',
  '/vector_stores/{vector_store_id}',
  '/vector_stores/{vector_store_id}/file_batches/{batch_id}',
  '/vector_stores/{vector_store_id}/file_batches/{batch_id}/files',
  '/vector_stores/{vector_store_id}/files',
  '/vector_stores/{vector_store_id}/files/{file_id}',
  '/vector_stores/{vector_store_id}/files/{file_id}/content',
  '/videos',
  '/videos/characters/{character_id}',
  '/videos/{video_id}',
  '/videos/{video_id}/content',
]);

/** Every static path word of the API (the Admin API's included), in its one canonical spelling. */
export const API_PATH_WORDS: ReadonlySet<string> = new Set([
  'accept',
  'activate',
  'admin_api_keys',
  'alpha',
  'api_keys',
  'archive',
  'assistants',
  'audio',
  'audio_speeches',
  'audio_transcriptions',
  'audit_logs',
  'batches',
  'calls',
  'cancel',
  'certificates',
  'characters',
  'chat',
  'chatkit',
  'checkpoints',
  'client_secrets',
  'code_interpreter_sessions',
  'compact',
  'complete',
  'completions',
  'containers',
  'content',
  'content_provenance_checks',
  'conversations',
  'costs',
  'data_retention',
  'deactivate',
  'edits',
  'embeddings',
  'evals',
  'events',
  'extensions',
  'file_batches',
  'file_search_calls',
  'files',
  'fine_tuning',
  'generations',
  'graders',
  'groups',
  'hangup',
  'hosted_tool_permissions',
  'images',
  'input_items',
  'input_tokens',
  'invites',
  'items',
  'jobs',
  'messages',
  'model_permissions',
  'models',
  'moderations',
  'organization',
  'output_items',
  'parts',
  'pause',
  'permissions',
  'projects',
  'rate_limits',
  'realtime',
  'refer',
  'reject',
  'remix',
  'responses',
  'resume',
  'roles',
  'run',
  'runs',
  'search',
  'service_accounts',
  'sessions',
  'skills',
  'speech',
  'spend_alerts',
  'spend_limit',
  'steps',
  'submit_tool_outputs',
  'threads',
  'transcription_sessions',
  'transcriptions',
  'translations',
  'uploads',
  'usage',
  'users',
  'validate',
  'variations',
  'vector_stores',
  'versions',
  'videos',
  'voice_consents',
  'voices',
  'web_search_calls',
]);

/**
 * Anthropic's Messages API, served on the same `/v1` (docs/providers.md): relative to `/v1` as the routes above. Its
 * message batches (`/messages/batches…`) are not listed: they pass through to an Anthropic provider, unmetered.
 */
export const ANTHROPIC_ROUTES: readonly string[] = ['/messages', '/messages/count_tokens'];

/** The static words of Anthropic's paths that OpenAI's do not have. */
export const ANTHROPIC_PATH_WORDS: ReadonlySet<string> = new Set(['count_tokens']);

/**
 * The first path segments of the APIs' routes (OpenAI's data plane and Anthropic's Messages API, whose Files API, skills
 * and message batches live under the same words): the resource families the gateway forwards. Any other first segment
 * is the provider's account rather than an API a key is for (OpenAI's `/v1/me`, `/v1/dashboard/…`, Anthropic's Admin
 * API `/v1/organizations/…`), refused 404 unless the operator lists it (`pass_through_paths`, docs/gateway-paths.md).
 */
export const API_FAMILIES: ReadonlySet<string> = new Set([...API_ROUTES, ...ANTHROPIC_ROUTES].map((r) => r.split('/')[1]));

/**
 * Whether a GET or HEAD of a canonical path relative to `/v1` reads: its route is one the API serves by GET
 * (READ_ROUTES), or one no API lists (an upstream's own path, Anthropic's message batches), but for the cancel of an
 * Anthropic message batch, which Anthropic serves by POST alone. Anthropic's Messages API routes serve POST alone.
 */
export function readsByGet(path: string): boolean {
  const matched = matchApiRoute(path);
  if (matched !== null) return READ_ROUTES.has(matched.template);
  return !(path.startsWith('/messages/batches/') && path.endsWith('/cancel') && path.split('/').length === 5);
}

/** Whether a canonical `/v1` path is Anthropic's Messages API (`/v1/messages` and below): answered in Anthropic's shapes. */
export function isAnthropicPath(path: string): boolean {
  return path === '/v1/messages' || path.startsWith('/v1/messages/');
}

/**
 * Collections of both APIs under the same `/v1` path (Anthropic's Files API, its Agent Skills): an Anthropic client's
 * request there is Anthropic's, sent to an Anthropic provider and answered in its shapes (it had gone to the OpenAI
 * default: an Anthropic SDK listed the OpenAI account's files).
 */
const SHARED_COLLECTIONS: readonly string[] = ['/v1/files', '/v1/skills'];

/**
 * Whether the client says it speaks Anthropic's API: its SDKs send `anthropic-version` on every request, and
 * `anthropic-beta` for its beta APIs (the Files API); OpenAI's send neither.
 */
export function isAnthropicClient(headers: Readonly<Record<string, unknown>>): boolean {
  return headers['anthropic-version'] !== undefined || headers['anthropic-beta'] !== undefined;
}

/**
 * The shape a `/v1` request is answered in: Anthropic's on its Messages API paths, and, when the client speaks
 * Anthropic's API, on the model list and on the collections both APIs have (SHARED_COLLECTIONS).
 */
export function answerFormat(method: string, path: string, headers: Readonly<Record<string, unknown>>): ApiFormat {
  if (isAnthropicPath(path)) return 'anthropic';
  if (!isAnthropicClient(headers)) return 'openai';
  if (path === '/v1/models' || path.startsWith('/v1/models/')) return method === 'GET' ? 'anthropic' : 'openai';
  return SHARED_COLLECTIONS.some((c) => path === c || path.startsWith(`${c}/`)) ? 'anthropic' : 'openai';
}

/**
 * Methods that carry no body on the APIs served (OpenAI's and Anthropic's): one sent with a body is refused, and they
 * are metered as reads. Any other method (PUT, PATCH, …) may carry one, and an upstream routing without regard to the
 * method may run it as a POST.
 */
export const BODILESS_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);

/**
 * The methods the gateway forwards: those OpenAI's and Anthropic's APIs use, and OPTIONS. Any other (TRACE, PROPFIND,
 * QUERY, …: every method Node's parser takes) is refused 405 before its key is checked: forwarded, it went upstream with
 * the provider's key added, and an upstream answering TRACE as Apache httpd does by default (the request echoed back,
 * headers and all) handed that key to the client (found by an outside review).
 */
export const SERVED_METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const SERVED = new Set(SERVED_METHODS);

/** Whether the gateway forwards requests of this method (SERVED_METHODS). */
export function isServedMethod(method: string): boolean {
  return SERVED.has(method);
}

/** A request path matched to an API route. */
export interface ApiRoute {
  /** The route's template, e.g. `/files/{file_id}/content`. */
  template: string;
  /** The path's values for the template's `{…}` segments, in order (still percent-encoded). */
  params: string[];
}

interface Compiled {
  template: string;
  segments: Array<string | null>;
  statics: number;
}

const EXACT = new Set<string>();
const BY_LENGTH = new Map<number, Compiled[]>();
for (const template of [...API_ROUTES, ...ANTHROPIC_ROUTES]) {
  const segments = template
    .slice(1)
    .split('/')
    .map((s) => (s.startsWith('{') ? null : s));
  if (segments.every((s) => s !== null)) {
    EXACT.add(template);
    continue;
  }
  const list = BY_LENGTH.get(segments.length) ?? [];
  list.push({ template, segments, statics: segments.filter((s) => s !== null).length });
  BY_LENGTH.set(segments.length, list);
}
// The most specific template first: `/threads/runs` is not `/threads/{thread_id}`.
for (const list of BY_LENGTH.values()) list.sort((a, b) => b.statics - a.statics);

const NO_PARAMS: string[] = [];

/** The API route of a canonical path relative to `/v1` (e.g. `/files/file-abc/content`), or null for none. */
export function matchApiRoute(path: string): ApiRoute | null {
  if (EXACT.has(path)) return { template: path, params: NO_PARAMS };
  const segments = path.slice(1).split('/');
  const candidates = BY_LENGTH.get(segments.length);
  if (!candidates) return null;
  for (const c of candidates) {
    const params: string[] = [];
    let ok = true;
    for (let i = 0; i < segments.length; i++) {
      const s = c.segments[i];
      if (s === null) params.push(segments[i]);
      else if (s !== segments[i]) {
        ok = false;
        break;
      }
    }
    if (ok) return { template: c.template, params };
  }
  return null;
}
