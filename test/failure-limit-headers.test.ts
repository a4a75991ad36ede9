import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// The limit headers go on every answer under limits (http/gateway/limit-headers.ts), Tollgate's own errors after the
// request was admitted too: an upstream's 500 carried x-ratelimit-*, but a connection the upstream reset (502), a
// provider that refused the connection (502), a timeout (504) and an open breaker (503) carried none (found by a
// review). In OpenAI's shape and names, and in Anthropic's with its names too; natively and translated.

const ORG = '/v1/organization';
const FIRST_BYTE_MS = 300;
const TOTAL_MS = 1500;

/** The upstream's behaviour, by the model the request names: `…-reset` cuts the connection, `…-slow` never answers. */
function upstreamServer(): Server {
  return createServer(async (req, res) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    const model = String((JSON.parse(text || '{}') as { model?: unknown }).model ?? '');
    if (model.endsWith('-reset')) {
      req.socket.destroy();
      return;
    }
    if (model.endsWith('-slow')) return; // closed with the server
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'boom', type: 'server_error', param: null, code: null } }));
  });
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await listenOnLoopback(s);
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("Tollgate's own errors after admission carry the limit headers", () => {
  let upstream: Server;
  let t: TestServer;
  let key: string;

  beforeAll(async () => {
    upstream = upstreamServer();
    const url = `${await listenOnLoopback(upstream)}/v1`;
    const dead = `http://127.0.0.1:${await closedPort()}/v1`;
    const timeouts = { first_byte_ms: FIRST_BYTE_MS, total_ms: TOTAL_MS };
    const file = gatewayConfigFile({
      providers: [
        { name: 'oai', base_url: url, api_key_env: 'UP_KEY', timeouts, circuit_breaker: false },
        { name: 'ant', kind: 'anthropic', base_url: url, api_key_env: 'UP_KEY', timeouts, circuit_breaker: false },
        { name: 'oai-dead', base_url: dead, api_key_env: 'UP_KEY', circuit_breaker: false },
        { name: 'ant-dead', kind: 'anthropic', base_url: dead, api_key_env: 'UP_KEY', circuit_breaker: false },
        // Opened by its first failure: the second request is answered 503 by the breaker.
        { name: 'oai-breaks', base_url: dead, api_key_env: 'UP_KEY', circuit_breaker: { failures: 1, cool_off_ms: 600_000 } },
      ],
      routes: { 'gpt-dead': 'oai-dead', 'claude-dead': 'ant-dead', 'gpt-breaks': 'oai-breaks', 'claude-*': 'ant', 'gpt-*': 'oai' },
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
    const r = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, {
      body: { name: 'limited', rate_limits: { max_requests_per_1_minute: 100, max_tokens_per_1_minute: 100_000 } },
    });
    expect(r.status, r.text).toBe(200);
    key = r.body.value;
  });
  afterAll(async () => {
    await t?.close();
    upstream?.closeAllConnections();
    await new Promise<void>((r) => upstream?.close(() => r()));
  });

  /** A chat completion (OpenAI's client) or a message (Anthropic's client) for `model`. */
  async function call(api: 'openai' | 'anthropic', model: string, stream = false): Promise<{ status: number; headers: Headers; body: { type?: string; error: { type: string } } }> {
    const r =
      api === 'openai'
        ? await fetch(`${t.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 16, stream }),
          })
        : await fetch(`${t.url}/v1/messages`, {
            method: 'POST',
            headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
            body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 16, stream }),
          });
    return { status: r.status, headers: r.headers, body: await r.json() };
  }

  function expectLimitHeaders(api: 'openai' | 'anthropic', a: { status: number; headers: Headers; body: { type?: string; error: { type: string } } }, status: number) {
    expect(a.status).toBe(status);
    expect(a.headers.get('x-ratelimit-limit-requests')).toBe('100');
    expect(a.headers.get('x-ratelimit-remaining-requests')).toMatch(/^\d+$/);
    expect(a.headers.get('x-ratelimit-limit-tokens')).toBe('100000');
    if (api === 'anthropic') {
      expect(a.body.type).toBe('error');
      expect(a.headers.get('anthropic-ratelimit-requests-limit')).toBe('100');
      expect(a.headers.get('anthropic-ratelimit-tokens-limit')).toBe('100000');
      expect(a.headers.get('anthropic-ratelimit-requests-reset')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    } else {
      expect(a.body.error.type).toBeTypeOf('string');
      expect(a.headers.get('anthropic-ratelimit-requests-limit')).toBeNull();
    }
  }

  it("the upstream's own 500 (as before)", async () => {
    expectLimitHeaders('openai', await call('openai', 'gpt-x'), 500);
    expectLimitHeaders('anthropic', await call('anthropic', 'claude-x'), 500);
  });

  it('a connection the upstream resets: 502, natively and translated', async () => {
    expectLimitHeaders('openai', await call('openai', 'gpt-reset'), 502);
    expectLimitHeaders('anthropic', await call('anthropic', 'claude-reset'), 502);
    // Translated: an OpenAI client to an Anthropic provider, and the other way round.
    expectLimitHeaders('openai', await call('openai', 'claude-reset'), 502);
    expectLimitHeaders('anthropic', await call('anthropic', 'gpt-reset'), 502);
  });

  it('a provider that refuses the connection: 502, natively and translated', async () => {
    expectLimitHeaders('openai', await call('openai', 'gpt-dead'), 502);
    expectLimitHeaders('anthropic', await call('anthropic', 'claude-dead'), 502);
    expectLimitHeaders('openai', await call('openai', 'claude-dead'), 502);
    expectLimitHeaders('anthropic', await call('anthropic', 'gpt-dead'), 502);
  });

  it('a breaker opened: 503', async () => {
    expectLimitHeaders('openai', await call('openai', 'gpt-breaks'), 502);
    expectLimitHeaders('openai', await call('openai', 'gpt-breaks'), 503);
  });

  it("a first byte later than first_byte_ms: 504, a whole answer's (late-answer.ts) and a stream's", async () => {
    expectLimitHeaders('openai', await call('openai', 'gpt-slow'), 504);
    expectLimitHeaders('anthropic', await call('anthropic', 'claude-slow'), 504);
    expectLimitHeaders('openai', await call('openai', 'claude-slow'), 504);
    expectLimitHeaders('anthropic', await call('anthropic', 'gpt-slow'), 504);
    // A stream is not waited for past its first byte's timeout: answered 504 by the failure itself.
    expectLimitHeaders('openai', await call('openai', 'gpt-slow', true), 504);
    expectLimitHeaders('anthropic', await call('anthropic', 'claude-slow', true), 504);
    expectLimitHeaders('openai', await call('openai', 'claude-slow', true), 504);
    expectLimitHeaders('anthropic', await call('anthropic', 'gpt-slow', true), 504);
  }, 30_000);
});
