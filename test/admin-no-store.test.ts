import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness/server.js';

// docs/admin-api.md: every answer under /v1/organization, reads and refusals alike, carries cache-control: no-store.
// Found by a review: the refusals made before a route was found (an unknown path or method, a path parameter too
// long, a method Fastify reads a body for without a Content-Type) came without it.

const ORG = '/v1/organization';

function send(t: TestServer, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; cacheControl: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(`${t.url}${path}`, { method, headers: { authorization: `Bearer ${t.adminKey}`, ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cacheControl: res.headers['cache-control'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('cache-control: no-store on every answer under /v1/organization', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    ['a read', 'GET', `${ORG}/projects`, 200],
    ['a method the route does not take', 'PUT', `${ORG}/projects`, 404],
    ['an unknown path', 'GET', `${ORG}/nope`, 404],
    ['a path parameter too long', 'GET', `${ORG}/projects/${'p'.repeat(300)}`, 414],
    ['TRACE', 'TRACE', `${ORG}/projects`, 404],
    ['QUERY without a Content-Type', 'QUERY', `${ORG}/projects`, 0],
  ])('%s', async (_what, method, path, status) => {
    const r = await send(t, method, path);
    if (status) expect(r.status).toBe(status);
    else expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.cacheControl).toBe('no-store');
  });

  it('answers elsewhere keep their own caching (the dashboard shell is not the admin API)', async () => {
    const r = await send(t, 'GET', '/healthz');
    expect(r.cacheControl).not.toBe('no-store');
  });
});
