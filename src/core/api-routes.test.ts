import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_FAMILIES, API_PATH_WORDS, API_ROUTES, matchApiRoute, PROVIDER_ADMIN_PREFIXES, PROVIDER_ADMIN_ROUTES, READ_ROUTES } from './api-routes.js';

const SPEC = join(import.meta.dirname, '..', '..', '..', 'shared', 'openai-openapi', 'openapi.yaml');
const hasSpec = (() => {
  try {
    readFileSync(SPEC, { flag: 'r' });
    return true;
  } catch {
    return false;
  }
})();

describe('API routes', () => {
  // The spec lives beside the repository (../shared); under CI=true its absence is a failure, not a skip.
  it.runIf(hasSpec || process.env.CI === 'true')("lists exactly the spec's data-plane paths and every static word of its paths", () => {
    // The keys of the top-level `paths:` map, read line by line (a YAML parse of the 3 MB file takes ~2 s).
    const lines = readFileSync(SPEC, 'utf8').split('\n');
    const start = lines.indexOf('paths:');
    const end = lines.findIndex((l, i) => i > start && /^\S/.test(l));
    const paths = lines
      .slice(start + 1, end)
      .map((l) => /^ {2}['"]?(\/[^'":]*(?:\?[^'":]*)?)['"]?:\s*$/.exec(l)?.[1])
      .filter((p): p is string => p !== undefined)
      .map((p) => p.split('?')[0]);
    expect(paths.length).toBeGreaterThan(150);
    const dataPlane = [...new Set(paths.filter((p) => !p.startsWith('/organization') && !p.startsWith('/projects/')))].sort();
    expect([...API_ROUTES, ...PROVIDER_ADMIN_ROUTES].sort()).toEqual(dataPlane);
    // The routes served by GET (a path's methods are the keys indented by four spaces below it), and those its text
    // says need an admin API key.
    const reads = new Set<string>();
    const admin = new Set<string>();
    let current: string | null = null;
    for (const l of lines.slice(start + 1, end)) {
      const path = /^ {2}['"]?(\/[^'":]*(?:\?[^'":]*)?)['"]?:\s*$/.exec(l)?.[1];
      if (path !== undefined) current = path.split('?')[0];
      else if (current === null || current.startsWith('/organization') || current.startsWith('/projects/')) continue;
      else if (/^ {4}get:\s*$/.test(l)) reads.add(current);
      else if (/admin-api-keys|admin API key/i.test(l)) admin.add(current);
    }
    expect(reads.size).toBeGreaterThan(50);
    expect([...READ_ROUTES].sort()).toEqual([...reads].filter((r) => !admin.has(r)).sort());
    expect([...PROVIDER_ADMIN_ROUTES].sort()).toEqual([...admin].sort());
    // Never forwarded below their static start: no route a key calls lies there.
    for (const route of API_ROUTES) for (const prefix of PROVIDER_ADMIN_PREFIXES) expect(route === prefix || route.startsWith(`${prefix}/`), route).toBe(false);
    const words = new Set(paths.flatMap((p) => p.split('/').filter((s) => s && !s.startsWith('{'))));
    expect([...API_PATH_WORDS].sort()).toEqual([...words].sort());
  });

  it("forwards the APIs' resource families only: never the account's paths (OpenAI's /me, Anthropic's /organizations)", () => {
    for (const family of ['chat', 'completions', 'embeddings', 'responses', 'files', 'models', 'batches', 'messages', 'skills', 'vector_stores', 'realtime']) expect(API_FAMILIES.has(family), family).toBe(true);
    for (const other of ['organization', 'organizations', 'projects', 'me', 'dashboard', 'usage', 'users', 'invites', 'keys', 'secret-scanning', 'constructor', '']) expect(API_FAMILIES.has(other), other).toBe(false);
  });

  it('matches a path to its most specific template, with its parameters', () => {
    expect(matchApiRoute('/chat/completions')).toEqual({ template: '/chat/completions', params: [] });
    expect(matchApiRoute('/files/file-abc/content')).toEqual({ template: '/files/{file_id}/content', params: ['file-abc'] });
    expect(matchApiRoute('/threads/runs')?.template).toBe('/threads/runs');
    expect(matchApiRoute('/threads/thread_1')?.template).toBe('/threads/{thread_id}');
    expect(matchApiRoute('/responses/input_tokens')?.template).toBe('/responses/input_tokens');
    expect(matchApiRoute('/responses/resp_1')?.template).toBe('/responses/{response_id}');
    expect(matchApiRoute('/fim/completions')).toBeNull();
    // Anthropic's Messages API, and not its batches.
    expect(matchApiRoute('/messages')?.template).toBe('/messages');
    expect(matchApiRoute('/messages/count_tokens')?.template).toBe('/messages/count_tokens');
    expect(matchApiRoute('/messages/batches')).toBeNull();
    expect(matchApiRoute('/chat/completions/x/y/z')).toBeNull();
  });
});
