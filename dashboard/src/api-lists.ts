import { api, withQuery } from './api.js';
import type { ListPage } from './types.js';

const MAX_PAGES = 20;

/** Reads every page of an OpenAI-style list (up to 2,000 items; the dashboard shows them all in one table). */
export async function listAll<T extends { id: string }>(path: string, query: Record<string, string> = {}): Promise<T[]> {
  const out: T[] = [];
  let after: string | null = null;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page: ListPage<T> = await api<ListPage<T>>('GET', withQuery(path, { ...query, limit: 100, after }));
    out.push(...page.data);
    if (!page.has_more || !page.last_id) break;
    after = page.last_id;
  }
  return out;
}

/**
 * The query that keeps deleted (revoked) keys in a key list: the API leaves them out, as OpenAI's does, but the
 * dashboard shows them, greyed, for the record (and names them in usage).
 */
export const WITH_REVOKED = { include_revoked: 'true' };

/** `/v1/organization/projects/{id}/…` */
export function projectPath(projectId: string, rest = ''): string {
  return `/v1/organization/projects/${encodeURIComponent(projectId)}${rest}`;
}
