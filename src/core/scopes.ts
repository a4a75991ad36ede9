import { type AccessLevel, type PermissionsSpec, RESOURCES } from './permissions.js';

// OpenAI's API key scopes, as sent in `scopes` when creating a service account's key
// (CreateProjectServiceAccountApiKeyBody): `api.<resource>.read` or `api.<resource>.write`, e.g.
// `api.responses.write`, in Tollgate's resource words (permissions.ts); plus OpenAI's `api.model.read` (list models)
// and `api.model.request` (call models: chat, completions, embeddings, images, audio, moderations).

const MODEL_REQUEST_RESOURCES = ['chat.completions', 'completions', 'embeddings', 'images', 'audio', 'moderations'] as const;
const RANK: Record<AccessLevel, number> = { none: 0, read: 1, write: 2 };

/** One scope's grants, or null when Tollgate does not know the scope. */
function grantsOf(scope: string): Array<[string, AccessLevel]> | null {
  if (scope === 'api.model.read') return [['models', 'read']];
  if (scope === 'api.model.request') return MODEL_REQUEST_RESOURCES.map((r) => [r, 'write']);
  const m = /^api\.(.+)\.(read|write)$/.exec(scope);
  if (!m || !(RESOURCES as readonly string[]).includes(m[1])) return null;
  return [[m[1], m[2] as AccessLevel]];
}

/** The permissions a list of scopes grants (the highest level per resource), or the index of the first unknown scope. */
export function permissionsFromScopes(scopes: readonly string[]): { ok: true; permissions: PermissionsSpec } | { ok: false; index: number } {
  const restricted: Record<string, AccessLevel> = {};
  for (const [i, scope] of scopes.entries()) {
    const grants = grantsOf(scope);
    if (!grants) return { ok: false, index: i };
    for (const [resource, level] of grants) if (RANK[level] > RANK[restricted[resource] ?? 'none']) restricted[resource] = level;
  }
  return { ok: true, permissions: { restricted } };
}

/** Examples of accepted scopes, for error messages. */
export const SCOPE_EXAMPLES = ['api.model.request', 'api.model.read', 'api.responses.write', 'api.files.read'];

/**
 * A key's permissions as OpenAI's scopes (what its audit entries show in `scopes`): `api.<resource>.<level>` per
 * resource it may use; `all` and `read_only` are every resource at write or read. permissionsFromScopes reads them
 * back to the same grants.
 */
export function scopesFromPermissions(permissions: PermissionsSpec): string[] {
  if (permissions === 'all' || permissions === 'read_only') {
    const level = permissions === 'all' ? 'write' : 'read';
    return RESOURCES.map((r) => `api.${r}.${level}`);
  }
  return Object.entries(permissions.restricted)
    .filter(([resource, level]) => level !== 'none' && (RESOURCES as readonly string[]).includes(resource))
    .map(([resource, level]) => `api.${resource}.${level}`);
}
