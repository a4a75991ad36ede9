import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// A key's scope is checked right after its key, organization, project and address (README "Order of checks"), before
// anything of its body is read: a key outside its scope gets the 403 naming the scope, whatever it sent. A read needs
// a route the API reads (GET); a GET or HEAD of a route served by POST alone is the write an upstream routing without
// regard to the method would run. The provider-admin paths of fine-tuned checkpoints are never forwarded.
// Scopes do not depend on the database: one SQLite server.

const ORG = '/v1/organization';

interface Seen {
  method: string;
  url: string;
}

describe('key scopes', () => {
  let t: TestServer;
  let server: Server;
  const seen: Seen[] = [];

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      for await (const _ of req) {
        // drained
      }
      seen.push({ method: req.method ?? '', url: req.url ?? '' });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id":"x","object":"thing"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const file = gatewayConfigFile({
      providers: [
        { name: 'oai', base_url: `${base}/v1`, api_key_env: 'OAI_KEY' },
        { name: 'ant', kind: 'anthropic', base_url: `${base}/v1`, api_key_env: 'ANT_KEY' },
      ],
      default_provider: 'oai',
      routes: { 'claude-*': 'ant' },
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, OAI_KEY: 'sk-provider-oai', ANT_KEY: 'sk-ant-provider' } });
    for (const id of ['resp_abc', 'batch_abc', 'ftjob-abc', 'rtc_abc', 'upload_abc', 'vs_abc', 'cksess_abc', 'thread_abc', 'msgbatch_abc', 'ft:gpt-4o-mini:org::abc']) {
      const r = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/upstream_objects`, { body: { id } });
      expect(r.status, r.text).toBe(200);
    }
  });
  afterAll(async () => {
    await t?.close();
    server?.closeAllConnections();
    server?.close();
  });

  const newKey = async (permissions?: unknown): Promise<{ id: string; value: string }> => {
    const r = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k', ...(permissions ? { permissions } : {}) } });
    expect(r.status, r.text).toBe(200);
    return { id: r.body.id, value: r.body.value };
  };
  const send = async (key: string, method: string, path: string, o: { contentType?: string; body?: string; anthropic?: boolean } = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (o.contentType) headers['content-type'] = o.contentType;
    // Declared: node:http frames no body of a GET by itself.
    if (o.body !== undefined) headers['content-length'] = String(Buffer.byteLength(o.body));
    if (o.anthropic || path.startsWith('/v1/messages')) headers['anthropic-version'] = '2023-06-01';
    const before = seen.length;
    // node:http, not fetch: fetch sends no GET with a body.
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${t.url}${path}`, { method, headers }, async (r) => {
        let text = '';
        for await (const c of r) text += c;
        resolve({ status: r.statusCode ?? 0, text });
      });
      req.on('error', reject);
      req.end(o.body);
    });
    const text = res.text;
    let json: { error?: { code?: string; type?: string; message?: string; details?: { error_code?: string } }; type?: string } | null = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: res.status, json, text, forwarded: seen.slice(before) };
  };

  describe('the scope before the body', () => {
    // Bodies each refused 400/415 on their own: a key outside its scope is told about its scope first.
    const BAD: Array<[method: string, path: string, contentType: string | undefined, body: string | undefined, scope: string]> = [
      ['POST', '/v1/chat/completions', 'application/json', '{}', 'chat.completions (write)'],
      ['POST', '/v1/chat/completions', 'application/json', '{"model":', 'chat.completions (write)'],
      ['POST', '/v1/chat/completions', 'application/json', '{"model":"a","model":"b"}', 'chat.completions (write)'],
      ['POST', '/v1/chat/completions', 'text/plain', 'hello', 'chat.completions (write)'],
      ['POST', '/v1/chat/completions', 'application/json', '[1]', 'chat.completions (write)'],
      ['POST', '/v1/embeddings', 'application/json', '{"model":123}', 'embeddings (write)'],
      ['POST', '/v1/files', 'application/x-unknown', 'x', 'files (write)'],
      ['PUT', '/v1/chat/completions', undefined, undefined, 'chat.completions (write)'],
      ['POST', '/v1/batches', 'application/json', '{"endpoint":"/v1/nothing"}', 'batches (write)'],
      ['GET', '/v1/models', 'application/json', '{"model":"x"}', 'models (read)'],
      ['GET', '/v1/models?limit=nope', undefined, undefined, 'models (read)'],
      ['GET', '/v1/files/file-abc', 'application/json', '{}', 'files (read)'],
    ];

    it('refuses a key outside its scope 403 naming the scope, whatever its body, and records the refusal so', async () => {
      for (const permissions of ['read_only', { restricted: { models: 'read' } }, { restricted: { audio: 'write' } }]) {
        const key = await newKey(permissions);
        let refused = 0;
        for (const [method, path, contentType, body, scope] of BAD) {
          // A read_only key may read the models and files; the key with models read alone may read the models.
          if (scope.endsWith('(read)') && (permissions === 'read_only' || (scope.startsWith('models') && JSON.stringify(permissions).includes('models')))) continue;
          const r = await send(key.value, method, path, { contentType, body });
          expect([r.status, r.json?.error?.code], `${JSON.stringify(permissions)} ${method} ${path} ${body}: ${r.text}`).toEqual([403, 'insufficient_permissions']);
          expect(r.json?.error?.message).toContain(`Missing scope: ${scope}`);
          expect(r.forwarded).toEqual([]);
          refused++;
        }
        const events = await usageEventsOf(t, key.id, refused);
        expect(events.map((e) => [e.status, e.outcome, e.error_code])).toEqual(Array(refused).fill([403, 'refused', 'insufficient_permissions']));
      }
    });

    it("refuses an Anthropic client's bad body for its scope first, in Anthropic's shape", async () => {
      for (const permissions of ['read_only', { restricted: { models: 'read' } }]) {
        const key = await newKey(permissions);
        for (const body of ['{}', '{"model":', '{"model":"claude-x","model":"claude-y"}', '{"model":1}']) {
          for (const path of ['/v1/messages', '/v1/messages/count_tokens']) {
            const r = await send(key.value, 'POST', path, { contentType: 'application/json', body });
            expect([r.status, r.json?.type, r.json?.error?.type, r.json?.error?.details?.error_code], `${path} ${body}: ${r.text}`).toEqual([403, 'error', 'permission_error', 'insufficient_permissions']);
            expect(r.json?.error?.message).toContain('Missing scope: messages (write)');
            expect(r.forwarded).toEqual([]);
          }
        }
        const r = await send(key.value, 'POST', '/v1/messages/batches', { contentType: 'application/json', body: '{"requests":' });
        expect([r.status, r.json?.error?.type], r.text).toEqual([403, 'permission_error']);
      }
    });

    it('checks the scope again when the key changed while its body arrived, before the body is read', async () => {
      const key = await newKey({ restricted: { 'chat.completions': 'write' } });
      const body = '{"model":';
      const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json', 'content-length': String(body.length) } }, async (r) => {
          let text = '';
          for await (const c of r) text += c;
          resolve({ status: r.statusCode ?? 0, text });
        });
        req.on('error', reject);
        req.write(body.slice(0, 2));
        // The rest once the key is read_only.
        const done = t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys/${key.id}`, { body: { permissions: 'read_only' } });
        done.then((r) => {
          expect(r.status, r.text).toBe(200);
          req.end(body.slice(2));
        }, reject);
      });
      const r = await answer;
      expect([r.status, JSON.parse(r.text).error?.code], r.text).toEqual([403, 'insufficient_permissions']);
    });

    it('still reads the body for what a request makes the provider do beyond its path, after the scope of its path', async () => {
      const batches = await newKey({ restricted: { batches: 'write' } });
      // The batch's own scope passes; what it runs needs its own, read from the body.
      const r = await send(batches.value, 'POST', '/v1/batches', { contentType: 'application/json', body: JSON.stringify({ input_file_id: 'file-abc', endpoint: '/v1/chat/completions', completion_window: '24h' }) });
      expect([r.status, r.json?.error?.message], r.text).toEqual([403, expect.stringContaining('Missing scope: chat.completions (write)')]);
      // A key with the scope of its path is told about its body, as before.
      const chat = await newKey({ restricted: { 'chat.completions': 'write' } });
      for (const [body, code] of [
        ['{}', 'missing_required_parameter'],
        ['{"model":', 'invalid_json'],
      ]) {
        const bad = await send(chat.value, 'POST', '/v1/chat/completions', { contentType: 'application/json', body });
        expect([bad.status, bad.json?.error?.code], bad.text).toEqual([400, code]);
      }
    });
  });

  describe('reads of routes the API serves by POST alone', () => {
    const ACTIONS = [
      '/v1/responses/resp_abc/cancel',
      '/v1/batches/batch_abc/cancel',
      '/v1/fine_tuning/jobs/ftjob-abc/cancel',
      '/v1/fine_tuning/jobs/ftjob-abc/pause',
      '/v1/fine_tuning/jobs/ftjob-abc/resume',
      '/v1/realtime/calls/rtc_abc/hangup',
      '/v1/uploads/upload_abc/cancel',
      '/v1/chatkit/sessions/cksess_abc/cancel',
      '/v1/vector_stores/vs_abc/search',
      '/v1/threads/thread_abc/runs/run_abc/cancel',
      '/v1/embeddings',
      '/v1/responses',
    ];

    it('counts a HEAD or GET of them as the write it stands for: refused to read_only keys, never forwarded', async () => {
      const readOnly = await newKey('read_only');
      const readAll = await newKey({ restricted: { responses: 'read', batches: 'read', fine_tuning: 'read', realtime: 'read', uploads: 'read', chatkit: 'read', vector_stores: 'read', threads: 'read', embeddings: 'read' } });
      for (const key of [readOnly, readAll]) {
        for (const path of ACTIONS) {
          for (const method of ['HEAD', 'GET']) {
            const r = await send(key.value, method, path);
            expect(r.status, `${method} ${path}: ${r.text}`).toBe(403);
            if (method === 'GET') expect(r.json?.error?.message).toMatch(/Missing scope: [a-z_.]+ \(write\)/);
            expect(r.forwarded, `${method} ${path}`).toEqual([]);
          }
        }
      }
    });

    it("does so on Anthropic's Messages API and the cancel of its message batches too", async () => {
      const readOnly = await newKey('read_only');
      for (const path of ['/v1/messages', '/v1/messages/count_tokens', '/v1/messages/batches/msgbatch_abc/cancel']) {
        for (const method of ['HEAD', 'GET']) {
          const r = await send(readOnly.value, method, path);
          expect(r.status, `${method} ${path}: ${r.text}`).toBe(403);
          if (method === 'GET') expect([r.json?.type, r.json?.error?.type], r.text).toEqual(['error', 'permission_error']);
          expect(r.forwarded).toEqual([]);
        }
      }
    });

    it('still forwards reads of routes the API reads, and the write to a key allowed it', async () => {
      const readOnly = await newKey('read_only');
      for (const path of ['/v1/responses/resp_abc', '/v1/batches/batch_abc', '/v1/fine_tuning/jobs/ftjob-abc', '/v1/threads/thread_abc', '/v1/messages/batches/msgbatch_abc']) {
        for (const method of ['HEAD', 'GET']) {
          const r = await send(readOnly.value, method, path);
          expect(r.status, `${method} ${path}: ${r.text}`).toBe(200);
          expect(r.forwarded.map((s) => `${s.method} ${s.url}`)).toEqual([`${method} ${path}`]);
        }
      }
      const writer = await newKey({ restricted: { responses: 'write' } });
      const r = await send(writer.value, 'HEAD', '/v1/responses/resp_abc/cancel');
      expect(r.status).toBe(200);
      expect(r.forwarded.map((s) => s.method)).toEqual(['HEAD']);
    });

    it('refuses OPTIONS to a read_only key on every route, as any method but GET and HEAD', async () => {
      const readOnly = await newKey('read_only');
      for (const path of ['/v1/responses/resp_abc/cancel', '/v1/responses/resp_abc', '/v1/chat/completions']) {
        const r = await send(readOnly.value, 'OPTIONS', path);
        expect([r.status, r.json?.error?.code], r.text).toEqual([403, 'insufficient_permissions']);
        expect(r.forwarded).toEqual([]);
      }
    });
  });

  describe("fine-tuned checkpoints' permissions", () => {
    const CKPT = '/v1/fine_tuning/checkpoints/ft:gpt-4o-mini:org::abc/permissions';

    it('are never forwarded: they share a model with other organizations, an admin action on the provider account', async () => {
      const all = await newKey();
      const fineTuning = await newKey({ restricted: { fine_tuning: 'write' } });
      const cases: Array<[string, string, string | undefined]> = [
        ['GET', CKPT, undefined],
        ['POST', CKPT, JSON.stringify({ project_ids: ['proj_other'] })],
        ['DELETE', `${CKPT}/cp_abc`, undefined],
        ['GET', '/v1/fine_tuning/checkpoints/ft:gpt-4o-mini:org::abc', undefined],
        ['GET', '/v1/fine_tuning/checkpoints', undefined],
      ];
      // Whoever asks, the checkpoint the project's own: as /v1/projects/… is, before the key is looked at.
      for (const key of [all, fineTuning, { value: 'sk-tg-not-a-key' }]) {
        for (const [method, path, body] of cases) {
          const r = await send(key.value, method, path, { contentType: body ? 'application/json' : undefined, body });
          expect([r.status, r.json?.error?.code, r.json?.error?.message], `${method} ${path}: ${r.text}`).toEqual([404, 'unknown_url', `Invalid URL (${method} ${path})`]);
          expect(r.forwarded).toEqual([]);
        }
      }
    });
  });
});
