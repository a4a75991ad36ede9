import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Issue 15 §1-§2: access and money are decided on exactly what is forwarded. The upstream here is as lax as real
// frameworks are (it resolves dot segments, decodes, merges slashes, drops `;params`, trailing dots and slashes,
// treats `\` as `/` and matches case-insensitively), so any spelling that slipped through would be served.

const ORG = '/v1/organization';

interface Lax {
  url: string;
  seen: Array<{ method: string; raw: string; served: string }>;
  close(): Promise<void>;
}

/** What a lenient router makes of a raw target. */
function laxPath(raw: string): string {
  let p = raw.split('#')[0].split('?')[0].replace(/\\/g, '/');
  try {
    p = decodeURIComponent(p);
  } catch {
    // left as is
  }
  p = p.replace(/\\/g, '/').replace(/;[^/]*/g, '');
  const out: string[] = [];
  for (const s of p.split('/')) {
    const seg = s.replace(/\.+$/, (m) => (s === m ? m : ''));
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg.toLowerCase());
  }
  return `/${out.join('/')}`;
}

async function startLaxUpstream(): Promise<Lax> {
  const seen: Lax['seen'] = [];
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    for await (const _ of req);
    const served = laxPath(req.url ?? '');
    seen.push({ method: req.method ?? '', raw: req.url ?? '', served });
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (served === '/v1/chat/completions') {
      return json(200, {
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-4o-mini',
        choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1000, completion_tokens: 1000, total_tokens: 2000 },
      });
    }
    if (served === '/v1/fim/completions') {
      return json(200, { id: 'fim-1', object: 'chat.completion', model: 'gpt-4o-mini', choices: [], usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 } });
    }
    return json(200, { object: 'list', data: [{ id: 'file-secret', object: 'file' }], served });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Sends a raw request target (no URL normalisation on the way), returning status and parsed body. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
function raw(base: string, method: string, target: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: any; text: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method, path: target, headers: { ...headers, ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let parsed: unknown = null;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = null;
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Spellings of GET /v1/files that are not canonical. */
const FILES_SPELLINGS = [
  '/v1/chat/completions/../../files',
  '/v1/chat/completions/%2e%2e/%2e%2e/files',
  '/v1/chat/completions/%2E%2E/%2E%2E/files',
  '/v1/chat/completions/..%2F..%2Ffiles',
  '/v1/chat/completions/..%2f..%2ffiles',
  '/v1/chat/completions/..\\..\\files',
  '/v1/chat/completions/%5C..%5C..%5Cfiles',
  '/v1//files',
  '/v1/files/',
  '/v1/./files',
  '/v1/files/.',
  '/v1/files.',
  '/v1/files;x=1',
  '/v1/files#frag',
  '/v1/Files',
  '/v1/FILES',
  '/V1/files',
  '/%76%31/files',
  '/v1/%66iles',
  '//v1/files',
  '/v1/chat/completions/../../../files',
  '/v1/chat/completions/../../../../etc/passwd',
];

/** Spellings of POST /v1/chat/completions that are not canonical. */
const CHAT_SPELLINGS = [
  '/v1/chat/completions/',
  '/v1//chat/completions',
  '/v1/./chat/completions',
  '/v1/chat/./completions',
  '/v1/chat/%63ompletions',
  '/v1/chat%2Fcompletions',
  '/v1/Chat/Completions',
  '/V1/chat/completions',
  '/v1/chat/completions.',
  '/v1/chat/completions;a=b',
  '/v1/chat/completions#x',
  '/v1/files/../chat/completions',
  '/v1/chat\\completions',
  '//v1/chat/completions',
];

describeEachDatabase('gateway paths: decided on exactly what is forwarded', (backend) => {
  let up: Lax;
  let t: TestServer;
  const newKey = async (body: Record<string, unknown>) =>
    (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'paths', ...body } })).body as { id: string; value: string };
  const events = async (keyId: string) => {
    await t.server.gateway.usage.flush();
    return t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', keyId).execute();
  };

  beforeAll(async () => {
    up = await startLaxUpstream();
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-paths-'));
    const file = join(dir, 'tollgate.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        providers: [{ name: 'lax', base_url: up.url, api_key_env: 'LAX_KEY' }],
        pricing: { 'gpt-4o-mini': { input: 0.15, cached_input: 0.075, output: 0.6 } },
        // An OpenAI-compatible server's own endpoint, and a long first segment to bound in metering (docs/gateway-paths.md).
        pass_through_paths: ['/v1/fim/completions', `/v1/${'y'.repeat(500)}`],
      }),
    );
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, LAX_KEY: 'sk-upstream-provider-secret' } });
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  it('a key restricted to chat completions reaches no other resource through any spelling', async () => {
    const k = await newKey({ permissions: { restricted: { 'chat.completions': 'write' } } });
    const auth = { authorization: `Bearer ${k.value}` };
    const canonical = await raw(t.url, 'GET', '/v1/files', auth);
    expect(canonical.status).toBe(403);
    up.seen.length = 0;
    for (const target of FILES_SPELLINGS) {
      const r = await raw(t.url, 'GET', target, auth);
      expect(r.status, target).toBe(404);
      expect(r.body?.error, target).toMatchObject({ type: 'invalid_request_error', code: 'unknown_url', param: null });
      expect(r.body.error.message, target).toMatch(/^Invalid URL \(GET /);
    }
    expect(up.seen).toEqual([]);
  });

  it('absolute-form targets are refused in OpenAI shape, never forwarded', async () => {
    const k = await newKey({ permissions: 'all' });
    up.seen.length = 0;
    for (const target of [`http://127.0.0.1/v1/files`, `${t.url}/v1/files`, 'http://evil.example/v1/chat/completions']) {
      const r = await raw(t.url, 'GET', target, { authorization: `Bearer ${k.value}` });
      expect(r.status, target).toBe(404);
      expect(r.body?.error?.type, target).toBe('invalid_request_error');
    }
    expect(up.seen).toEqual([]);
  });

  it("Tollgate's own routes and OpenAI's Admin API are never forwarded, whatever the spelling", async () => {
    const k = await newKey({ permissions: 'all' });
    up.seen.length = 0;
    for (const target of [
      '/v1/../v1/organization/projects',
      '/v1//organization/projects',
      '/v1/./organization/projects',
      '/v1/%6Frganization/projects',
      '/v1/Organization/projects',
      '/v1/organization/projects/',
      '/v1/files/../organization/projects',
      '/v1/projects/proj_abc/roles',
      '/v1/projects',
      '/v1/secret-scanning/../files',
      '/v1',
      '/v1/',
    ]) {
      for (const key of [k.value, t.adminKey]) {
        const r = await raw(t.url, 'GET', target, { authorization: `Bearer ${key}` });
        expect(r.status, target).toBe(404);
        expect(r.body?.error?.type, target).toBe('invalid_request_error');
      }
    }
    // A rate limit's id may carry an encoded slash (it names a model): the admin API's, never forwarded either.
    const slashed = `/v1/organization/projects/${t.defaultProjectId}/rate_limits/rl-meta%2Fllama..%2F..%2Ffiles`;
    expect((await raw(t.url, 'POST', slashed, { authorization: `Bearer ${k.value}` })).status).toBe(403);
    const asAdmin = await raw(t.url, 'POST', slashed, { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' }, '{}');
    expect([asAdmin.status, asAdmin.body?.error?.code]).toEqual([404, 'not_found']);
    expect((await raw(t.url, 'POST', `/v1/organization/projects/${t.defaultProjectId}/rate_limits%2Frl-x`, { authorization: `Bearer ${t.adminKey}` })).status).toBe(404);
    expect(up.seen).toEqual([]);
    // The canonical control-plane route still answers the admin key, and refuses the project key.
    expect((await raw(t.url, 'GET', '/v1/organization/projects', { authorization: `Bearer ${t.adminKey}` })).status).toBe(200);
    expect((await raw(t.url, 'GET', '/v1/organization/projects', { authorization: `Bearer ${k.value}` })).status).toBe(403);
  });

  it('a request quota and a budget hold against every spelling of a model endpoint; the upstream gets the canonical path', async () => {
    // Each call costs 1000 * 150 + 1000 * 600 nano-dollars = $0.00075; a budget of 1 cent fits 13, the quota 3.
    const k = await newKey({ request_quota: { max_requests: 3, interval: 'total' }, spend_limit: { threshold_amount: 1, interval: 'total' } });
    const headers = { authorization: `Bearer ${k.value}`, 'content-type': 'application/json' };
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1000 });
    up.seen.length = 0;
    for (const target of CHAT_SPELLINGS) {
      const r = await raw(t.url, 'POST', target, headers, body);
      expect(r.status, target).toBe(404);
    }
    expect(up.seen).toEqual([]);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await raw(t.url, 'POST', '/v1/chat/completions', headers, body)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(up.seen.map((s) => s.raw)).toEqual(['/v1/chat/completions', '/v1/chat/completions', '/v1/chat/completions']);
    const billed = (await events(k.id)).filter((e) => Number(e.billable) === 1);
    expect(billed).toHaveLength(3);
    expect(billed.every((e) => e.endpoint === '/chat/completions' && Number(e.cost_nanousd) === 750_000)).toBe(true);
  });

  it('metering records the route template, never the client-chosen ids of the path', async () => {
    const k = await newKey({ permissions: 'all' });
    // An object made outside Tollgate, assigned to the project (docs/object-isolation.md).
    await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/upstream_objects`, { body: { id: `file-${'x'.repeat(300)}` } });
    const r = await raw(t.url, 'GET', `/v1/files/file-${'x'.repeat(300)}/content`, { authorization: `Bearer ${k.value}` });
    expect(r.status).toBe(200);
    expect((await events(k.id)).map((e) => e.endpoint)).toEqual(['/files/{file_id}/content']);
    await raw(t.url, 'GET', `/v1/${'y'.repeat(500)}/more/segments`, { authorization: `Bearer ${k.value}` });
    expect((await events(k.id)).map((e) => e.endpoint).sort()).toEqual(['/files/{file_id}/content', `/${'y'.repeat(64)}/*`]);
  });

  it('a model call on a route the API does not list is billed from the usage its answer reports', async () => {
    const k = await newKey({ permissions: 'all' });
    const r = await raw(t.url, 'POST', '/v1/fim/completions', { authorization: `Bearer ${k.value}`, 'content-type': 'application/json' }, JSON.stringify({ model: 'gpt-4o-mini', prompt: 'def' }));
    expect(r.status).toBe(200);
    const ev = (await events(k.id)).at(-1)!;
    expect(ev).toMatchObject({ endpoint: '/fim/*', model: 'gpt-4o-mini', input_tokens: 100, output_tokens: 50 });
    expect(Number(ev.billable)).toBe(1);
    expect(Number(ev.cost_nanousd)).toBe(100 * 150 + 50 * 600);
  });
});

describe('gateway paths: the lax upstream of these tests is lax', () => {
  it('serves the spellings the gateway refuses as the routes they spell', () => {
    for (const s of FILES_SPELLINGS.slice(0, 20)) expect(laxPath(s), s).toBe('/v1/files');
    for (const s of CHAT_SPELLINGS) expect(laxPath(s), s).toBe('/v1/chat/completions');
  });
});
