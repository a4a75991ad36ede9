import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstBodyOf, rawExchange, statusesOf } from './harness/raw-http.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// Found by an outside review: TRACE (and every other method Node's parser takes) was forwarded with the provider's key
// added, and an upstream answering TRACE as Apache httpd does by default (200 `message/http`, the request echoed, its
// headers included) handed the provider's key to the client, relayed as a non-JSON answer without a look.

const ORG = '/v1/organization';
const PROVIDER_KEY = 'sk-provider-SECRET-0123456789';

/** Every method Node's HTTP parser takes but CONNECT (answered before any route), less the seven the gateway serves. */
const REFUSED = ['TRACE', 'PROPFIND', 'PROPPATCH', 'SEARCH', 'QUERY', 'LOCK', 'UNLOCK', 'PURGE', 'LINK', 'UNLINK', 'REPORT', 'MKCOL', 'MKCALENDAR', 'MKACTIVITY', 'COPY', 'MOVE', 'ACL', 'BIND', 'REBIND', 'UNBIND', 'CHECKOUT', 'MERGE', 'M-SEARCH', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'SOURCE'];

/** A request by any method (fetch refuses TRACE and the like), its answer's status, `allow` header and body. */
function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; allow: string | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('methods the gateway forwards', () => {
  let t: TestServer;
  let port: number;
  const seen: Array<{ method: string; url: string }> = [];
  /** The request as the upstream saw it, headers and all, as an echoing server writes it. */
  const echo = (req: IncomingMessage) => `${req.method} ${req.url} HTTP/1.1\r\n${Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  // Apache httpd with TraceEnable On (its default) for TRACE; a diagnostic server echoing the request for the rest.
  const up = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '' });
      if (req.method === 'TRACE') {
        res.writeHead(200, { 'content-type': 'message/http' });
        return res.end(echo(req));
      }
      if (req.method === 'OPTIONS') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end(`You sent:\n${echo(req)}`);
      }
      if (req.url === '/v1/chat/completions') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(
          JSON.stringify({
            id: 'chatcmpl-1',
            object: 'chat.completion',
            created: 1,
            model: 'gpt-4o-mini',
            choices: [{ index: 0, message: { role: 'assistant', content: `Your request: ${echo(req)}` }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
          }),
        );
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  const newKey = async (body: object = {}): Promise<string> => {
    const res = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k', ...body } });
    expect(res.status, res.text).toBe(200);
    return res.body.value;
  };

  beforeAll(async () => {
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    const file = gatewayConfigFile({
      providers: [{ name: 'fake', base_url: `http://127.0.0.1:${(up.address() as AddressInfo).port}/v1`, api_key_env: 'FAKE_KEY' }],
      pricing: { 'gpt-4o-mini': { input: 0.15, output: 0.6 } },
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, FAKE_KEY: PROVIDER_KEY } });
    port = Number(new URL(t.url).port);
  });
  afterAll(async () => {
    await t?.close();
    up.close();
  });

  it('TRACE is refused 405 in OpenAI shape, never forwarded: the provider key is not echoed back', async () => {
    const key = await newKey({ permissions: { restricted: { 'chat.completions': 'write' } } });
    const before = seen.length;
    const r = await rawExchange(port, `TRACE /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n\r\n`, 500);
    expect(statusesOf(r.text)).toEqual([405]);
    expect(r.text).not.toContain(PROVIDER_KEY);
    expect(r.text.toLowerCase()).toContain('\r\nallow: get, head, post, put, patch, delete, options\r\n');
    expect(JSON.parse(firstBodyOf(r.text)).error).toMatchObject({ type: 'invalid_request_error', code: 'method_not_allowed' });
    expect(seen.length).toBe(before);
  });

  it.each(REFUSED)('%s is refused 405 on every /v1 path, with or without a key, before anything is forwarded', async (method) => {
    const key = await newKey();
    const before = seen.length;
    for (const path of ['/v1/chat/completions', '/v1/files/file-abc', '/v1/responses']) {
      for (const auth of [{ authorization: `Bearer ${key}` }, {}] as Array<Record<string, string>>) {
        const r = await send(port, method, path, { ...auth, 'content-type': 'application/json' }, '{}');
        expect(r.status, `${method} ${path}`).toBe(405);
        expect(r.allow).toBe('GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
        expect(JSON.parse(r.text).error.code).toBe('method_not_allowed');
      }
    }
    expect(seen.length).toBe(before);
  });

  it("on Anthropic's Messages API the 405 is in Anthropic's shape", async () => {
    const key = await newKey();
    const r = await send(port, 'PROPFIND', '/v1/messages', { 'x-api-key': key });
    expect(r.status).toBe(405);
    const answer = JSON.parse(r.text);
    expect(answer.type).toBe('error');
    expect(answer.error.type).toBe('invalid_request_error');
  });

  it('a target already served by POST is refused for TRACE all the same (the target cache knows no method)', async () => {
    const key = await newKey();
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    for (let i = 0; i < 2; i++) {
      const ok = await fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
      expect(ok.status).toBe(200);
      await ok.text();
    }
    const before = seen.length;
    const r = await send(port, 'TRACE', '/v1/chat/completions', { authorization: `Bearer ${key}` });
    expect(r.status).toBe(405);
    expect(seen.length).toBe(before);
  });

  it('the methods served still are: OPTIONS is forwarded', async () => {
    const key = await newKey();
    const res = await fetch(`${t.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    expect(seen.at(-1)?.method).toBe('OPTIONS');
    await res.text();
  });

  it('a small text answer passed through is cleared of the provider key', async () => {
    const key = await newKey();
    const res = await fetch(`${t.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { authorization: `Bearer ${key}` } });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toContain('You sent:');
    expect(text).not.toContain(PROVIDER_KEY);
    expect(text).toContain('[provider key]');
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(text));
  });

  it("a model's answer read whole is cleared of the provider key", async () => {
    const key = await newKey();
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toContain(PROVIDER_KEY);
    expect(JSON.parse(text).choices[0].message.content).toContain('Bearer [provider key]');
  });
});
