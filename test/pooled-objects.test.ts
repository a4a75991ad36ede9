import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { listenOnLoopback } from './harness/provider-config.js';
import { defaultProjectKeys, gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A provider with a pool of keys (each its own provider account) keeps every object on the account that made it: the
// credential that answered is recorded with the object, and every later request naming it (by path, or in its body)
// is sent with that credential only. Found by an outside review: each request picked its key by weight, so reads of a
// file went to a random account (the provider's 404), and a creating request that failed over after a 429 left its
// object on the second key's account while later reads picked the first.

interface Accounts {
  server: Server;
  /** Objects by the key that holds them. */
  held: Map<string, Set<string>>;
  /** Keys whose next request is answered 429 (the key's limit), with this retry-after in seconds. */
  limitOnce: Map<string, number>;
  /** Requests as received: the key and `METHOD path`. */
  seen: Array<{ key: string; call: string }>;
}

/** An OpenAI-like provider where each key is an account of its own, holding files and vector stores. */
async function startAccounts(): Promise<{ a: Accounts; url: string }> {
  let next = 0;
  const a: Accounts = { server: createServer(), held: new Map(), limitOnce: new Map(), seen: [] };
  a.server.on('request', async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    const key = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    const path = (req.url ?? '').split('?')[0];
    a.seen.push({ key, call: `${req.method} ${path}` });
    const mine = a.held.get(key) ?? new Set<string>();
    a.held.set(key, mine);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const missing = (id: string) => json(404, { error: { message: `No such object: '${id}'`, type: 'invalid_request_error', param: 'id', code: null } });
    const created_at = Math.floor(Date.now() / 1000);
    const retryAfter = a.limitOnce.get(key);
    if (retryAfter !== undefined) {
      a.limitOnce.delete(key);
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(retryAfter) });
      res.end(JSON.stringify({ error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } }));
      return;
    }
    if (req.method === 'POST' && path === '/v1/files') {
      const id = `file-${++next}`;
      mine.add(id);
      return json(200, { id, object: 'file', bytes: 2, created_at, filename: 'a.txt', purpose: 'assistants' });
    }
    if (req.method === 'POST' && path === '/v1/vector_stores') {
      const body = JSON.parse(text) as { file_ids?: string[] };
      for (const f of body.file_ids ?? []) if (!mine.has(f)) return missing(f);
      const id = `vs_${++next}`;
      mine.add(id);
      return json(200, { id, object: 'vector_store', created_at, name: null, usage_bytes: 0, file_counts: { in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 }, status: 'completed' });
    }
    const m = /^\/v1\/(files|vector_stores)\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && m) {
      if (!mine.has(m[2])) return missing(m[2]);
      return json(200, m[1] === 'files' ? { id: m[2], object: 'file', bytes: 2, created_at, filename: 'a.txt', purpose: 'assistants' } : { id: m[2], object: 'vector_store', created_at, status: 'completed' });
    }
    json(404, { error: { message: 'unknown', type: 'invalid_request_error', param: null, code: null } });
  });
  return { a, url: `${await listenOnLoopback(a.server)}/v1` };
}

describeEachDatabase('objects made through a pool of provider keys', (backend) => {
  let accounts: Accounts;
  let t: TestServer;
  let key: string;

  beforeAll(async () => {
    const started = await startAccounts();
    accounts = started.a;
    const file = gatewayConfigFile({
      // Key A is picked first whenever it is usable.
      providers: [{ name: 'pool', base_url: started.url, credentials: [{ api_key_env: 'KEY_A', weight: 1_000_000 }, { api_key_env: 'KEY_B', weight: 1 }] }],
      default_provider: 'pool',
    });
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, KEY_A: 'sk-a-0000', KEY_B: 'sk-b-0000' } });
    key = (await defaultProjectKeys(t).newKey('pooled')).value;
  });
  afterAll(async () => {
    await t?.close();
    accounts?.server.close();
  });
  beforeEach(() => {
    accounts.seen.length = 0;
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${key}` } };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    const res = await fetch(`${t.url}${path}`, init);
    // biome-ignore lint/suspicious/noExplicitAny: answers are arbitrary JSON
    return { status: res.status, body: (await res.json()) as any };
  };
  const upload = async () => {
    const form = new FormData();
    form.append('purpose', 'assistants');
    form.append('file', new Blob(['hi']), 'a.txt');
    const res = await call('POST', '/v1/files', form);
    expect(res.status).toBe(200);
    return res.body.id as string;
  };
  const holder = (id: string) => [...accounts.held].find(([, ids]) => ids.has(id))?.[0];

  it('reads a file back every time, from the account it failed over to', async () => {
    accounts.limitOnce.set('sk-a-0000', 0);
    const id = await upload();
    expect(holder(id)).toBe('sk-b-0000');
    accounts.seen.length = 0;
    for (let i = 0; i < 10; i++) expect((await call('GET', `/v1/files/${id}`)).status).toBe(200);
    expect(accounts.seen.every((s) => s.key === 'sk-b-0000')).toBe(true);
    const row = await t.server.runtime.database.db.selectFrom('upstream_objects').select('credential').where('object_id', '=', id).executeTakeFirstOrThrow();
    expect(row.credential).toBe('KEY_B');
  });

  it('sends a request naming objects in its body to their account, and records what it makes there', async () => {
    accounts.limitOnce.set('sk-a-0000', 0);
    const onB = await upload();
    accounts.seen.length = 0;
    const made = await call('POST', '/v1/vector_stores', { file_ids: [onB] });
    expect(made.status).toBe(200);
    expect(holder(made.body.id)).toBe('sk-b-0000');
    for (let i = 0; i < 5; i++) expect((await call('GET', `/v1/vector_stores/${made.body.id}`)).status).toBe(200);
    expect(accounts.seen.every((s) => s.key === 'sk-b-0000')).toBe(true);
  });

  it('refuses a request naming objects of two accounts (400), sending nothing', async () => {
    const onA = await upload();
    accounts.limitOnce.set('sk-a-0000', 0);
    const onB = await upload();
    expect([holder(onA), holder(onB)]).toEqual(['sk-a-0000', 'sk-b-0000']);
    accounts.seen.length = 0;
    const refused = await call('POST', '/v1/vector_stores', { file_ids: [onA, onB] });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_value' });
    expect(refused.body.error.message).toMatch(/different provider accounts/);
    expect(refused.body.error.message).not.toMatch(/KEY_/);
    expect(accounts.seen).toEqual([]);
  });

  it("answers a pinned request's 429 as it is (no other account tried), and sends the next to the key cooling down", async () => {
    const onA = await upload();
    accounts.limitOnce.set('sk-a-0000', 20);
    accounts.seen.length = 0;
    const limited = await call('GET', `/v1/files/${onA}`);
    expect(limited.status).toBe(429);
    expect((await call('GET', `/v1/files/${onA}`)).status).toBe(200);
    expect(accounts.seen).toEqual([
      { key: 'sk-a-0000', call: `GET /v1/files/${onA}` },
      { key: 'sk-a-0000', call: `GET /v1/files/${onA}` },
    ]);
  });
});
