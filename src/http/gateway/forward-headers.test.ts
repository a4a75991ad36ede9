import { describe, expect, it } from 'vitest';
import { clientResponseHeaders, upstreamRequestHeaders } from './forward-headers.js';

describe('clientResponseHeaders', () => {
  it('drops the headers each answer\'s own Connection header names, whatever the answer before it named', () => {
    const answer = (connection: string) => ({ connection, 'x-hop': '1', 'x-other': '2', 'content-type': 'application/json' });
    const names = (connection: string) => Object.keys(clientResponseHeaders(answer(connection), 'req_1', 'openai', [])).sort();
    expect(names('keep-alive')).toEqual(['content-type', 'x-hop', 'x-other', 'x-request-id']);
    expect(names('keep-alive, X-Hop')).toEqual(['content-type', 'x-other', 'x-request-id']);
    expect(names('keep-alive, X-Hop')).toEqual(['content-type', 'x-other', 'x-request-id']);
    expect(names('x-other')).toEqual(['content-type', 'x-hop', 'x-request-id']);
    expect(names('keep-alive')).toEqual(['content-type', 'x-hop', 'x-other', 'x-request-id']);
    // Without a Connection header nothing more is dropped.
    expect(Object.keys(clientResponseHeaders({ 'x-hop': '1' }, 'req_2', 'openai', [])).sort()).toEqual(['x-hop', 'x-request-id']);
  });
});

describe('upstreamRequestHeaders', () => {
  it("forwards the allowlist only, and makes an Idempotency-Key the project's own", () => {
    const h = { 'content-type': 'application/json', authorization: 'Bearer sk-tg-x', 'x-api-key': 'k', 'idempotency-key': 'retry-1', 'x-stainless-os': 'Linux', cookie: 'c' };
    const a = upstreamRequestHeaders(h, 'proj_A');
    expect(Object.keys(a).sort()).toEqual(['content-type', 'idempotency-key', 'x-stainless-os']);
    // Two projects sending one key do not name one request at the provider; one project's retry does.
    expect(a['idempotency-key']).not.toBe('retry-1');
    expect(upstreamRequestHeaders(h, 'proj_B')['idempotency-key']).not.toBe(a['idempotency-key']);
    expect(upstreamRequestHeaders(h, 'proj_A')['idempotency-key']).toBe(a['idempotency-key']);
    expect(a['idempotency-key']).toMatch(/^tg-[0-9a-f]{48}$/);
  });
});

describe("the upstream's infrastructure headers", () => {
  it('are not passed on: Server, Via, X-Powered-By, Envoy and Azure deployment details', () => {
    const out = clientResponseHeaders(
      {
        'content-type': 'application/json',
        server: 'envoy',
        via: '1.1 google',
        'x-powered-by': 'Express',
        'x-envoy-upstream-service-time': '412',
        'x-envoy-decorator-operation': 'inference.internal:8080/*',
        'x-ms-region': 'East US',
        'openai-processing-ms': '400',
      },
      'req_1',
      'openai',
      [],
    );
    expect(out).toEqual({ 'content-type': 'application/json', 'openai-processing-ms': '400', 'x-request-id': 'req_1' });
  });
});

describe("the providers' keys in the upstream's answer headers", () => {
  // Found by review: an upstream echoing the request's Authorization (x-api-key, api-key) in an answer header had the
  // provider's key relayed to the client. A header holding a key, whole or its longest run of letters and digits, goes.
  const openai = 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFGH';
  const anthropic = 'sk-ant-api03-ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210-QQ';
  const azure = 'b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6';
  it('drops a header whose value holds one, whatever its name, and keeps the rest', () => {
    const out = clientResponseHeaders(
      {
        'content-type': 'application/json',
        'x-forwarded-authorization': `Bearer ${openai}`,
        'x-echo-api-key': anthropic,
        'x-echo': ['a', `key=${azure.toUpperCase()}`, azure],
        'x-debug': 'key=ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210',
        'x-request-id': `req-${openai}`,
        'openai-processing-ms': '400',
      },
      'req_1',
      'anthropic',
      [openai, anthropic, azure],
    );
    expect(out).toEqual({ 'content-type': 'application/json', 'openai-processing-ms': '400', 'x-request-id': 'req_1', 'request-id': 'req_1' });
  });
});
