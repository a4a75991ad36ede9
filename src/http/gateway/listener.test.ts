import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { GatewayContext } from './gateway-context.js';
import { gatewayListener } from './listener.js';

function exchange(url: string, method = 'POST') {
  const sent: { status?: number; headers: Record<string, unknown>; body?: string } = { headers: {} };
  const req = { url, method, headers: {}, socket: { remoteAddress: '127.0.0.1' }, resume() {} } as unknown as IncomingMessage;
  const res = {
    headersSent: false,
    setHeader(name: string, value: unknown) {
      sent.headers[name] = value;
    },
    writeHead(status: number, headers: Record<string, unknown>) {
      sent.status = status;
      Object.assign(sent.headers, headers);
    },
    end(body: string) {
      sent.body = body;
    },
  } as unknown as ServerResponse;
  return { req, res, sent };
}

const listener = (closing: boolean) =>
  gatewayListener({ config: { passThroughPaths: ['/v1/fim/completions'] } } as unknown as GatewayContext, { bodyLimit: 1024, bodyIdleTimeoutMs: 60_000, trustProxy: null, logger: pino({ level: 'silent' }), isClosing: () => closing, newRequestId: () => 'req_test' });

describe('gateway listener', () => {
  it('leaves Tollgate’s own /v1 routes and everything else to Fastify', () => {
    const serve = listener(false);
    for (const url of ['/healthz', '/v1/organization/projects', '/v1/organization', '/v1/secret-scanning/reports', '/v2/x', '/']) {
      const { req, res, sent } = exchange(url);
      expect(serve(req, res), url).toBe(false);
      expect(sent.status).toBeUndefined();
    }
  });

  it('answers 503 in OpenAI’s shape and closes the connection while the server shuts down', () => {
    const { req, res, sent } = exchange('/v1/chat/completions');
    expect(listener(true)(req, res)).toBe(true);
    expect(sent.status).toBe(503);
    expect(sent.headers.connection).toBe('close');
    expect(JSON.parse(sent.body ?? '{}').error.code).toBe('service_unavailable');
  });

  it('decides a target it has seen before as it did the first time, for each method', () => {
    // Shutting down, a forwardable target is answered 503 and a refused one 404: which one shows what was decided.
    const serve = listener(true);
    const statusOf = (url: string, method: string) => {
      const { req, res, sent } = exchange(url, method);
      return serve(req, res) ? sent.status : 'fastify';
    };
    for (let round = 0; round < 2; round++) {
      // An encoded slash is read as part of a model's name on GET /v1/models/{model} only.
      expect(statusOf('/v1/models/org%2Fmodel', 'GET')).toBe(503);
      expect(statusOf('/v1/models/org%2Fmodel', 'POST')).toBe(404);
      expect(statusOf('/v1/chat/completions', 'POST')).toBe(503);
      expect(statusOf('/v1/chat//completions', 'POST')).toBe(404);
      expect(statusOf('/v1/projects/proj_1/roles', 'GET')).toBe(404);
      expect(statusOf('/v1/organization/projects', 'GET')).toBe('fastify');
      // Outside the APIs' resource families and the pass-through paths: the provider's account, never forwarded.
      expect(statusOf('/v1/me', 'GET')).toBe(404);
      expect(statusOf('/v1/organizations/org-1/api_keys', 'GET')).toBe(404);
      expect(statusOf('/v1/fim/completions', 'POST')).toBe(503);
      expect(statusOf('/v1/fim/other', 'POST')).toBe(404);
      // A method the gateway does not forward, on a target seen (and cached) before for another.
      expect(statusOf('/v1/chat/completions', 'TRACE')).toBe(405);
    }
  });
});
