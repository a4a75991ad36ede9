import { request } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness/server.js';

// "Nothing asked is ignored" (docs/admin-api.md), for every admin route the server registers: a query parameter the
// route does not take is a 400 unknown_parameter naming it, before anything is read or written. The route list is read
// from the running server, so a route added later is held to it at once (an outside review found four that took
// `?foo=1` without a word: webhook creation and deletion, key look-up and exposure reports).

const ORG = '/v1/organization';
let t: TestServer;
let routes: Array<{ method: string; url: string }>;

beforeAll(async () => {
  t = await startTestServer({ name: 'sqlite' });
  routes = [...t.server.app.routeTable].filter((r) => r.url.startsWith(`${ORG}/`) && r.method !== 'HEAD');
});
afterAll(async () => t?.close());

/** A concrete path for a route pattern: the default project for :project_id, an id nobody has for the rest. */
const pathOf = (url: string) =>
  url.replace(':project_id', t.defaultProjectId).replace(/:([a-z_]+)/g, (_m, name: string) => `${name.replace(/_id$/, '')}_doesnotexist`);

const auditCount = async () =>
  Number(
    (
      await t.server.runtime.database.db
        .selectFrom('audit_logs')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('type', '!=', 'admin_api_key.used')
        .executeTakeFirstOrThrow()
    ).n,
  );

it('refuses a query parameter no admin route takes, naming it, on every admin route, and changes nothing', async () => {
  expect(routes.length).toBeGreaterThan(30);
  const before = await auditCount();
  const answers: string[] = [];
  for (const r of routes) {
    const body = r.method === 'GET' || r.method === 'DELETE' ? undefined : {};
    const res = await t.api(r.method, `${pathOf(r.url)}?tollgate_probe=1`, { body });
    // biome-ignore lint/suspicious/noExplicitAny: OpenAI-shaped error
    const error = (res.body as any)?.error;
    if (res.status !== 400 || error?.code !== 'unknown_parameter' || error?.param !== 'tollgate_probe') answers.push(`${r.method} ${r.url} → ${res.status} ${res.text.slice(0, 120)}`);
  }
  expect(answers).toEqual([]);
  expect(await auditCount()).toBe(before);
});

it('takes `limit` only as plain decimal digits on every admin list that has one (0x2, 2e0, " 2", 02 are not 2)', async () => {
  // Number() read 0x2, 0b10, 0o2, 2e0, " 2" and 02 as 2. The usage and costs routes need a start_time.
  const query = (url: string, limit: string) => `${pathOf(url)}?${url.includes('/usage/') || url.endsWith('/costs') ? 'start_time=0&' : ''}limit=${encodeURIComponent(limit)}`;
  const lists: string[] = [];
  for (const r of routes.filter((x) => x.method === 'GET')) {
    const res = await t.api('GET', query(r.url, '2'));
    if (res.status === 200) lists.push(r.url);
  }
  expect(lists).toEqual(expect.arrayContaining([`${ORG}/projects`, `${ORG}/users`, `${ORG}/audit_logs`, `${ORG}/spend_alerts`, `${ORG}/usage/completions`, `${ORG}/costs`]));
  const answers: string[] = [];
  for (const url of lists) {
    for (const limit of ['0x2', '0b10', '0o2', '2e0', ' 2', '2 ', '+2', '2.0', '02', '-0', '１']) {
      const res = await t.api('GET', query(url, limit));
      // biome-ignore lint/suspicious/noExplicitAny: OpenAI-shaped error
      const error = (res.body as any)?.error;
      if (res.status !== 400 || error?.code !== 'invalid_value' || error?.param !== 'limit') answers.push(`${url} limit=${JSON.stringify(limit)} → ${res.status} ${res.text.slice(0, 120)}`);
    }
  }
  expect(answers).toEqual([]);
});

/** A request with a body whatever its method (fetch sends none with GET or HEAD). */
function withBody(method: string, path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  // Node's client sends a GET's body without a length unless told: the server would read it as the next request.
  const length = headers['transfer-encoding'] ? {} : { 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = request(`${t.url}${path}`, { method, headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json', ...length, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

it('refuses a GET or HEAD with a body on every admin route that reads (never ignored: a filter in it was dropped)', async () => {
  const answers: string[] = [];
  for (const r of routes.filter((x) => x.method === 'GET')) {
    const path = `${pathOf(r.url)}${r.url.includes('/usage/') || r.url.endsWith('/costs') ? '?start_time=0' : ''}`;
    for (const body of ['{"limit":1}', '{not json']) {
      const res = await withBody('GET', path, body);
      const error = res.status === 400 ? JSON.parse(res.text).error : null;
      if (error?.code !== 'invalid_value' || !/GET requests take no body/.test(error.message)) answers.push(`GET ${r.url} ${body} → ${res.status} ${res.text.slice(0, 120)}`);
    }
    const head = await withBody('HEAD', path, '{"limit":1}');
    if (head.status !== 400) answers.push(`HEAD ${r.url} → ${head.status}`);
  }
  expect(answers).toEqual([]);
  // Chunked, without a length: a body all the same.
  expect((await withBody('GET', `${ORG}/projects`, '{"limit":1}', { 'transfer-encoding': 'chunked' })).status).toBe(400);
  // No body, or an empty one: the list.
  expect((await withBody('GET', `${ORG}/projects`, '', { 'content-length': '0' })).status).toBe(200);
});

it("answers a method or path no route serves with OpenAI's 404 Invalid URL (METHOD /path), as the gateway does", async () => {
  const cases: Array<[string, string, string]> = [
    ['PUT', `${ORG}/projects?limit=1`, `Invalid URL (PUT ${ORG}/projects)`],
    ['GET', `${ORG}/nothing_here`, `Invalid URL (GET ${ORG}/nothing_here)`],
    ['PATCH', `${ORG}/projects/${t.defaultProjectId}`, `Invalid URL (PATCH ${ORG}/projects/${t.defaultProjectId})`],
  ];
  for (const [method, path, message] of cases) {
    const res = await t.api(method, path);
    expect(res.status, `${method} ${path}`).toBe(404);
    expect(res.body.error).toEqual({ message, type: 'invalid_request_error', param: null, code: 'unknown_url' });
  }
  const long = `${ORG}/${'x'.repeat(300)}`;
  expect((await t.api('GET', long)).body.error.message).toBe(`Invalid URL (GET ${long.slice(0, 256)}…)`);
});
