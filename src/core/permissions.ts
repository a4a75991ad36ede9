import { readsByGet } from './api-routes.js';

// Key scopes, after OpenAI's restricted keys: "all", "read_only", or per-resource none/read/write.
// GET and HEAD of a route the API reads need read; every other request needs write. Write implies read.

export type AccessLevel = 'none' | 'read' | 'write';
export type PermissionsSpec = 'all' | 'read_only' | { restricted: Record<string, AccessLevel> };

/** Resource groups a restricted key can name, in OpenAI's words. */
export const RESOURCES = [
  'models',
  'chat.completions',
  'completions',
  'embeddings',
  'responses',
  'images',
  'audio',
  'moderations',
  'files',
  'uploads',
  'fine_tuning',
  'batches',
  'assistants',
  'threads',
  'vector_stores',
  'evals',
  'realtime',
  'conversations',
  'videos',
  'containers',
  'skills',
  'chatkit',
  'content_provenance_checks',
  // Anthropic's Messages API (`/v1/messages`, `/v1/messages/count_tokens`).
  'messages',
] as const;
export type Resource = (typeof RESOURCES)[number];

/** The resource of each first path segment: every resource but chat.completions is its own segment. */
const RESOURCE_BY_SEGMENT: Readonly<Record<string, string>> = Object.freeze(
  Object.assign(Object.create(null), Object.fromEntries(RESOURCES.filter((r) => r !== 'chat.completions').map((r) => [r, r]))),
);

/** The resource group of a `/v1/...` path; unknown paths map to their first segment, which no restricted key grants. */
export function resourceForPath(path: string): string {
  const clean = path.split('?')[0].replace(/^\/v1\/?/, '');
  const segments = clean.split('/').filter(Boolean);
  if (segments[0] === 'chat' && segments[1] === 'completions') return 'chat.completions';
  const first = segments[0] ?? '';
  return RESOURCE_BY_SEGMENT[first] ?? first;
}

/**
 * The access level a request needs (`path` canonical, relative to `/v1`): read for a GET or HEAD of a route the API
 * reads, write for any other. A HEAD of `/responses/{id}/cancel`, served by POST alone, is the cancel to an upstream
 * routing without regard to the method, as a PUT or PATCH is the POST: a read_only key's was forwarded (found by a
 * review).
 */
export function levelForRequest(method: string, path: string): AccessLevel {
  return (method === 'GET' || method === 'HEAD') && readsByGet(path) ? 'read' : 'write';
}

const RANK: Record<AccessLevel, number> = { none: 0, read: 1, write: 2 };

/** Whether a key with these permissions may perform `level` on `resource`. */
export function isAllowed(perms: PermissionsSpec, resource: string, level: AccessLevel): boolean {
  if (perms === 'all') return true;
  if (perms === 'read_only') return level === 'read' || level === 'none';
  const granted = Object.hasOwn(perms.restricted, resource) ? perms.restricted[resource] : 'none';
  return RANK[granted] >= RANK[level];
}

/** Whether a model is usable under an optional allowlist (null or empty means every model). */
export function isModelAllowed(allowedModels: readonly string[] | null, model: string): boolean {
  return !allowedModels || allowedModels.length === 0 || allowedModels.includes(model);
}
