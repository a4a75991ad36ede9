import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Issue 15 §8: pass-through hygiene. Headers cross by allowlist, large answers stream, the provider's credentials
// and account never reach a client, a stalled body is cut, and every error Tollgate answers itself is OpenAI-shaped.

const ORG = '/v1/organization';
const PROVIDER_KEY = 'sk-provider-secret-abcdefghijklmnop';
const BIG = 4 * 1024 * 1024;

interface Upstream {
  url: string;
  headers: IncomingHttpHeaders[];
  /** Resolves the big download's second half. */
  releaseBig(): void;
  close(): Promise<void>;
}

async function startUpstream(): Promise<Upstream> {
  const headers: IncomingHttpHeaders[] = [];
  let release: () => void = () => {};
  let gate = new Promise<void>((r) => (release = r));
  const server: Server = createServer(async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    headers.push(req.headers);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '').split('?')[0];
    if (path === '/v1/files/file-big/content') {
      // Half now, half once the test has seen the first bytes arrive: only a streaming gateway passes them on.
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BIG) });
      res.write(Buffer.alloc(BIG / 2, 0x61));
      await gate;
      gate = new Promise<void>((r) => (release = r));
      return res.end(Buffer.alloc(BIG / 2, 0x62));
    }
    if (path === '/v1/files/file-cut/content') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(1000) });
      res.write(Buffer.alloc(100, 0x61));
      setTimeout(() => req.socket.destroy(), 50);
      return;
    }
    if (path === '/v1/vector_stores/vs_hop' || path === '/v1/files/file-hop/content') {
      // Hop-by-hop headers (RFC 9110 §7.6.1), one of them named in Connection: for this connection only, never relayed.
      res.writeHead(200, {
        'content-type': path.endsWith('/content') ? 'application/octet-stream' : 'application/json',
        connection: 'keep-alive, x-hop-secret',
        'x-hop-secret': 'upstream-only',
        upgrade: 'h2c',
        trailer: 'x-checksum',
        'proxy-authenticate': 'Basic realm="provider"',
        te: 'trailers',
        'x-kept': 'yes',
      });
      return res.end(path.endsWith('/content') ? 'bytes' : JSON.stringify({ id: 'vs_hop', object: 'vector_store' }));
    }
    if (path === '/v1/fine_tuning/jobs/ftjob-1') {
      return json(200, { id: 'ftjob-1', object: 'fine_tuning.job', organization_id: 'org-AbCdEf0123456789xyzUVW', status: 'succeeded' });
    }
    if (path === '/v1/chat/completions') {
      const model = (JSON.parse(text) as { model: string }).model;
      if (model === '401') return json(401, { error: { message: 'Incorrect API key provided: sk-proj-****mnop. You can find your API key at https://platform.openai.com/account/api-keys.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
      if (model === '403') return json(403, { error: { message: 'You are not allowed to sample from this model in organization org-AbCdEf0123456789xyzUVW', type: 'invalid_request_error', param: null, code: null } });
      if (model === '429') return json(429, { error: { message: 'Rate limit reached for gpt-4o-mini in organization org-AbCdEf0123456789xyzUVW on tokens per min (TPM): Limit 30000, Used 30000.', type: 'tokens', param: null, code: 'rate_limit_exceeded' } });
      if (model === 'gemini') return json(400, { error: { code: 400, message: 'Invalid JSON payload received.', status: 'INVALID_ARGUMENT', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', metadata: { consumer: 'projects/123456' } }] } });
      if (model === 'gemini-list') return json(429, [{ error: { code: 429, message: 'Resource has been exhausted.', status: 'RESOURCE_EXHAUSTED' } }]);
      if (model === 'leak') return json(400, { error: { message: `bad key ${PROVIDER_KEY}`, type: 'invalid_request_error', param: null, code: null } });
      return json(200, { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
    }
    return json(200, { object: 'list', data: [] });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    headers,
    releaseBig: () => release(),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Writes raw bytes to the server and returns what it answers before closing (or after `waitMs`). */
function rawExchange(base: string, bytes: string, waitMs = 10_000): Promise<{ text: string; closed: boolean }> {
  const u = new URL(base);
  return new Promise((resolve) => {
    const s = connect(Number(u.port), u.hostname, () => s.write(bytes));
    let text = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text, closed: false });
    }, waitMs);
    s.on('data', (d) => (text += d.toString('latin1')));
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    s.on('error', () => {});
  });
}

const bodyOf = (text: string) => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));

describeEachDatabase('gateway pass-through hygiene', (backend) => {
  let up: Upstream;
  let t: TestServer;
  let key: string;
  const chat = (headers: Record<string, string> = {}, model = 'gpt-4o-mini') =>
    fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });

  beforeAll(async () => {
    up = await startUpstream();
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-hygiene-'));
    const file = join(dir, 'tollgate.config.json');
    writeFileSync(file, JSON.stringify({ providers: [{ name: 'up', base_url: up.url, api_key_env: 'UP_KEY' }] }));
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, UP_KEY: PROVIDER_KEY, TOLLGATE_BODY_IDLE_TIMEOUT_MS: '1500' } });
    key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'hygiene' } })).body.value;
    // The upstream's objects were made outside Tollgate: the project sees them once an operator assigns them.
    for (const id of ['file-big', 'file-cut', 'ftjob-1']) {
      expect((await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/upstream_objects`, { body: { id } })).status).toBe(200);
    }
  });
  afterAll(async () => {
    up?.releaseBig();
    await t?.close();
    await up?.close();
  });

  it('forwards an allowlist of client headers: what the SDKs send, nothing a client invents', async () => {
    up.headers.length = 0;
    const res = await chat({
      'x-real-ip': '1.2.3.4',
      'true-client-ip': '1.2.3.4',
      'x-forwarded-for': '1.2.3.4',
      forwarded: 'for=1.2.3.4',
      'x-http-method-override': 'DELETE',
      'x-api-key': key,
      'api-key': key,
      cookie: 'session=abc',
      'openai-organization': t.orgId,
      'openai-project': t.defaultProjectId,
      'x-custom-anything': 'y',
      'openai-beta': 'assistants=v2',
      'idempotency-key': 'idem-1',
      'x-stainless-lang': 'js',
      'x-stainless-retry-count': '0',
      'x-client-request-id': 'client-1',
      'user-agent': 'OpenAI/JS 6.0.0',
      accept: 'application/json',
    });
    expect(res.status).toBe(200);
    const seen = up.headers.at(-1)!;
    for (const name of ['x-real-ip', 'true-client-ip', 'x-forwarded-for', 'forwarded', 'x-http-method-override', 'x-api-key', 'api-key', 'cookie', 'openai-organization', 'openai-project', 'x-custom-anything']) {
      expect(seen[name], name).toBeUndefined();
    }
    expect(JSON.stringify(seen)).not.toContain(key);
    expect(seen).toMatchObject({
      authorization: `Bearer ${PROVIDER_KEY}`,
      'openai-beta': 'assistants=v2',
      'x-stainless-lang': 'js',
      'x-stainless-retry-count': '0',
      'x-client-request-id': 'client-1',
      'user-agent': 'OpenAI/JS 6.0.0',
      'content-type': 'application/json',
    });
    // The idempotency key made the project's own: another project's same key names another request.
    expect(seen['idempotency-key']).toMatch(/^tg-[0-9a-f]{48}$/);
  });

  it('streams a large file download through: the first bytes arrive before the upstream has sent the rest', async () => {
    const res = await fetch(`${t.url}/v1/files/file-big/content`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(BIG));
    const reader = res.body!.getReader();
    let got = 0;
    // Half the file is readable while the upstream still holds the other half back.
    while (got < BIG / 2) {
      const { value, done } = await reader.read();
      if (done) break;
      got += value.length;
    }
    expect(got).toBeGreaterThanOrEqual(BIG / 2);
    up.releaseBig();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      got += value.length;
    }
    expect(got).toBe(BIG);
  });

  it('cuts the client connection when the upstream breaks off a streamed download, and records it', async () => {
    const err = await fetch(`${t.url}/v1/files/file-cut/content`, { headers: { authorization: `Bearer ${key}` } })
      .then((r) => r.arrayBuffer())
      .catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    await t.server.gateway.usage.flush();
    const ev = await t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('endpoint', '=', '/files/{file_id}/content').where('outcome', '=', 'upstream_error').execute();
    expect(ev.length).toBeGreaterThan(0);
  });

  it("never relays the upstream's hop-by-hop headers, nor those its Connection header names", async () => {
    await t.server.runtime.database.db
      .insertInto('upstream_objects')
      .values(['vs_hop', 'file-hop'].map((id) => ({ object_id: id, type: id.startsWith('vs') ? 'vector_store' : 'file', project_id: t.defaultProjectId, api_key_id: null, source: 'assigned', created_at: null, recorded_at: 0, deleted_at: null })))
      .execute();
    for (const path of ['/v1/vector_stores/vs_hop', '/v1/files/file-hop/content']) {
      const res = await fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('x-kept'), path).toBe('yes');
      for (const name of ['x-hop-secret', 'upgrade', 'trailer', 'proxy-authenticate', 'te']) expect(res.headers.get(name), `${path} ${name}`).toBeNull();
    }
  });

  it("turns the provider refusing its credentials into 502 upstream_auth_failed, without the provider's words", async () => {
    for (const status of ['401', '403']) {
      const res = await chat({}, status);
      expect(res.status, status).toBe(502);
      const text = await res.text();
      expect(JSON.parse(text).error).toMatchObject({ type: 'api_error', code: 'upstream_auth_failed' });
      expect(text).not.toMatch(/sk-proj|\*\*\*\*|org-AbCd|platform\.openai/);
      // Not retried by the SDKs: each retry would send the refused credential again, for an answer only the operator changes.
      expect(res.headers.get('x-should-retry'), status).toBe('false');
    }
  });

  it("passes other provider errors on without the provider's organization ids or keys", async () => {
    const res = await chat({}, '429');
    expect(res.status).toBe(429);
    const body = await res.json();
    expect(body.error.message).toContain('Rate limit reached for gpt-4o-mini in organization [provider organization]');
    expect(JSON.stringify(body)).not.toContain('org-AbCd');
    const leak = await chat({}, 'leak');
    expect(await leak.text()).not.toContain(PROVIDER_KEY);
    const job = await fetch(`${t.url}/v1/fine_tuning/jobs/ftjob-1`, { headers: { authorization: `Bearer ${key}` } });
    const jobText = await job.text();
    expect(job.status).toBe(200);
    expect(jobText).not.toContain('org-AbCd');
    expect(JSON.parse(jobText)).toMatchObject({ id: 'ftjob-1', status: 'succeeded' });
  });

  it("gives OpenAI's clients a provider's error in OpenAI's shape: type and code strings, param, its message kept", async () => {
    const res = await chat({}, 'gemini');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { message: 'Invalid JSON payload received.', type: 'invalid_request_error', param: null, code: 'invalid_argument' } });
    const listed = await chat({}, 'gemini-list');
    expect(listed.status).toBe(429);
    expect(await listed.json()).toEqual({ error: { message: 'Resource has been exhausted.', type: 'rate_limit_error', param: null, code: 'resource_exhausted' } });
  });

  it('cuts a request body that stalls, with 408 in OpenAI shape, on the gateway and the admin API', async () => {
    for (const [path, auth] of [
      ['/v1/chat/completions', key],
      [`${ORG}/projects`, t.adminKey],
    ] as const) {
      const started = performance.now();
      const r = await rawExchange(t.url, `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${auth}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model":`);
      expect(r.text, path).toMatch(/^HTTP\/1\.1 408/);
      expect(bodyOf(r.text).error, path).toMatchObject({ type: 'invalid_request_error', code: 'request_timeout' });
      expect(r.closed, path).toBe(true);
      // Not before the idle time (1.5 s here), nor waiting for Node's 5-minute request timeout.
      expect(performance.now() - started, path).toBeGreaterThan(1400);
    }
  });

  it("answers Node's and Fastify's own errors in OpenAI's shape", async () => {
    const garbage = await rawExchange(t.url, 'NOT HTTP AT ALL\r\n\r\n');
    expect(garbage.text).toMatch(/^HTTP\/1\.1 400/);
    expect(bodyOf(garbage.text).error).toMatchObject({ type: 'invalid_request_error', code: 'malformed_request' });
    const huge = await rawExchange(t.url, `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge.text).toMatch(/^HTTP\/1\.1 431/);
    expect(bodyOf(huge.text).error.code).toBe('headers_too_large');
    const longParam = await fetch(`${t.url}${ORG}/projects/${'p'.repeat(300)}`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    expect(longParam.status).toBe(414);
    expect((await longParam.json()).error).toMatchObject({ type: 'invalid_request_error', code: 'uri_too_long' });
    const badEncoding = await rawExchange(t.url, 'GET /auth/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(badEncoding.text).toMatch(/^HTTP\/1\.1 400/);
    expect(bodyOf(badEncoding.text).error.type).toBe('invalid_request_error');
    const badV1 = await rawExchange(t.url, 'GET /v1/files/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(badV1.text).toMatch(/^HTTP\/1\.1 404/);
    expect(bodyOf(badV1.text).error.message).toBe('Invalid URL (GET /v1/files/%zz)');
  });
});

describe('allowlisted headers', () => {
  it('the test upstream sees what it is sent (a sanity check of the fixture)', async () => {
    const u = await startUpstream();
    await fetch(`${u.url}/x`, { headers: { 'x-real-ip': '9.9.9.9' } });
    expect(u.headers.at(-1)!['x-real-ip']).toBe('9.9.9.9');
    await u.close();
  });
});
