import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness/server.js';

const ORG = '/v1/organization';

describe('health, readiness and metrics', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' });
  });
  afterAll(async () => t?.close());

  it('answers /healthz and /readyz', async () => {
    expect(await (await fetch(`${t.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok' } });
  });

  it('exports Prometheus metrics by route and status, cache, queue and refusals', async () => {
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: {} })).body;
    await fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${k.value}` } });
    await fetch(`${t.url}/v1/models`, { headers: { authorization: 'Bearer sk-tg-bad' } });
    const chat = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${k.value}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(chat.status).toBe(200);
    const text = await (await fetch(`${t.url}/metrics`)).text();
    expect(text).toMatch(/tollgate_http_request_duration_seconds_count\{route="\/v1\/\*",method="POST",status="200"\} 1/);
    expect(text).toMatch(/tollgate_upstream_duration_seconds_count\{provider="echo",credential="none",outcome="ok"\} 1/);
    expect(text).toMatch(/tollgate_upstream_duration_seconds_bucket\{le="\+Inf",provider="echo",credential="none",outcome="ok"\} 1/);
    expect(text).toMatch(/tollgate_http_request_duration_seconds_count\{route="\/v1\/models",method="GET",status="200"\} 1/);
    expect(text).toMatch(/tollgate_http_request_duration_seconds_count\{route="\/v1\/models",method="GET",status="401"\} 1/);
    expect(text).toMatch(/tollgate_key_cache_lookups_total\{result="miss"\} \d+/);
    expect(text).toMatch(/tollgate_refused_requests_total\{reason="malformed"\} 1/);
    expect(text).toContain('tollgate_usage_queue_depth');
    expect(text).not.toContain(k.value);
  });
});

describe('metrics token', () => {
  it('requires the bearer token when TOLLGATE_METRICS_TOKEN is set', async () => {
    const t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_METRICS_TOKEN: 'scrape-me-0123456789' } });
    try {
      expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer scrape-me-0123456789' } })).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe('abuse and bad input', () => {
  let t: TestServer;
  let key: string;
  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_BODY_LIMIT: '65536' } });
    key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: {} })).body.value;
  });
  afterAll(async () => t?.close());

  const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${t.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : new Uint8Array(body) });

  it('answers 413 for a body over the limit', async () => {
    const res = await post('/v1/chat/completions', JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'x'.repeat(100_000) }] }));
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('payload_too_large');
  });

  it('answers 413 for a chunked body (no Content-Length) once it passes the limit', async () => {
    const u = new URL(`${t.url}/v1/chat/completions`);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.write(`{"model":"tollgate-echo","messages":[{"role":"user","content":"`);
      req.write('x'.repeat(70_000));
      req.end('"}]}');
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error.code).toBe('payload_too_large');
  });

  it('answers clean 4xx for broken, deep, huge, polluting and non-UTF-8 JSON, and keeps serving', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const deepMessages = `{"model":"tollgate-echo","messages":[{"role":"user","content":${'['.repeat(5000)}"x"${']'.repeat(5000)}}]}`;
    const cases: Array<[string | Buffer, number[]]> = [
      ['{"model": "tollgate-echo", "messages": [', [400]],
      [deep, [400]],
      [deepMessages, [200, 400]],
      ['{"model":"tollgate-echo","messages":[],"max_tokens":1e400}', [200, 400]],
      ['{"model":"tollgate-echo","__proto__":{"polluted":true}}', [400]],
      ['{"model":"tollgate-echo","constructor":{"prototype":{"polluted":true}}}', [400]],
      [Buffer.from([0x7b, 0x22, 0x6d, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), [400]],
    ];
    for (const [body, statuses] of cases) {
      const res = await post('/v1/chat/completions', body);
      expect(statuses, String(body).slice(0, 60)).toContain(res.status);
      const json = await res.json();
      if (res.status >= 400) expect(Object.keys(json.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const admin = await t.api('POST', `${ORG}/projects`, { raw: '{"name":"x","__proto__":{"admin":true}}' });
    expect(admin.status).toBe(400);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });

  it('refuses oversized headers without harm', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${t.url}/v1/models`);
      const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, headers: { authorization: `Bearer ${key}`, 'x-big': 'a'.repeat(64 * 1024) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(431);
    expect((await fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
  });

  it('throttles key guessing from one address', async () => {
    const s = await startTestServer({ name: 'sqlite' });
    try {
      const good = (await s.api('POST', `${ORG}/projects/${s.defaultProjectId}/api_keys`, { body: {} })).body.value;
      const statuses: number[] = [];
      for (let i = 0; i < 35; i++) statuses.push((await fetch(`${s.url}/v1/models`, { headers: { authorization: `Bearer sk-tg-guess${i}` } })).status);
      expect(statuses.slice(0, 30).every((x) => x === 401)).toBe(true);
      expect(statuses.slice(30).every((x) => x === 429)).toBe(true);
      const blocked = await fetch(`${s.url}/v1/models`, { headers: { authorization: `Bearer ${good}` } });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await blocked.json()).error.code).toBe('too_many_attempts');
    } finally {
      await s.close();
    }
  });

  it('throttles key guessing from one IPv6 /64 walked address by address, on the gateway and the admin API alike', async () => {
    // Addresses set through X-Forwarded-For from the trusted proxy (127.0.0.1), as a reverse proxy would.
    const s = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_TRUST_PROXY: '127.0.0.1' } });
    try {
      const good = (await s.api('POST', `${ORG}/projects/${s.defaultProjectId}/api_keys`, { body: {} })).body.value;
      const as = (address: string, key: string, path = '/v1/models') =>
        fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': address } });
      const guesses: number[] = [];
      for (let i = 0; i < 30; i++) guesses.push((await as(`2001:db8:aa:bb:${(i + 1).toString(16)}::1`, `sk-tg-guess${i}`)).status);
      expect(guesses.every((x) => x === 401)).toBe(true);
      // Every further address of that /64 is refused before its key is looked at, valid key or not.
      const next = await as('2001:db8:aa:bb:ffff:ffff:ffff:ffff', good);
      expect(next.status).toBe(429);
      expect((await next.json()).error.code).toBe('too_many_attempts');
      expect((await as('2001:DB8:AA:BB::99', s.adminKey, `${ORG}/projects`)).status).toBe(429);
      // Its neighbour /64 and IPv4 clients keep their own budgets.
      expect((await as('2001:db8:aa:bc::1', good)).status).toBe(200);
      expect((await as('198.51.100.1', good)).status).toBe(200);

      // An IPv4 address spelled as IPv4-mapped IPv6 is the same address.
      for (let i = 0; i < 30; i++) {
        const address = i % 2 ? '203.0.113.7' : '::ffff:203.0.113.7';
        expect((await as(address, `sk-tg-mapped${i}`)).status).toBe(401);
      }
      expect((await as('203.0.113.7', good)).status).toBe(429);
      expect((await as('::ffff:203.0.113.7', good)).status).toBe(429);
      expect((await as('203.0.113.8', good)).status).toBe(200);

      // A guesser walking through the /64s of its /48, staying under each /64's budget, is throttled by its /48.
      const statuses = new Set<number>();
      for (let p = 0; p < 17; p++) {
        for (let i = 0; i < 29; i++) statuses.add((await as(`2001:db8:cc:${p.toString(16)}::${(i + 1).toString(16)}`, `sk-tg-wide${p}x${i}`)).status);
      }
      expect([...statuses]).toEqual([401, 429]); // refused as unknown keys, then as a throttled /48
      expect((await as('2001:db8:cc:ffff::1', good)).status).toBe(429);
      expect((await as('2001:db8:cd::1', good)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('survives fuzzed admin and gateway requests (bounded run)', async () => {
    const jsonish = fc.oneof(fc.json(), fc.string(), fc.constant('{"__proto__":{}}'), fc.constant('[]'), fc.constant('null'));
    const paths = fc.constantFrom(
      '/v1/chat/completions',
      '/v1/embeddings',
      '/v1/responses',
      '/v1/files',
      `${ORG}/projects`,
      `${ORG}/projects/${t.defaultProjectId}/api_keys`,
      `${ORG}/projects/${t.defaultProjectId}/rate_limits`,
      `${ORG}/admin_api_keys`,
      `${ORG}/webhooks`,
    );
    await fc.assert(
      fc.asyncProperty(paths, jsonish, fc.boolean(), async (path, body, asAdmin) => {
        const res = await fetch(`${t.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${asAdmin ? t.adminKey : key}`, 'content-type': 'application/json' },
          body,
        });
        expect(res.status).toBeLessThan(500);
        const text = await res.text();
        if (res.status >= 400) expect(JSON.parse(text).error.message).toBeTypeOf('string');
      }),
      { numRuns: 150, interruptAfterTimeLimit: 20_000 },
    );
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  }, 60_000);
});
