import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderConfig } from '../config/gateway-config.js';
import { AbortHandle } from '../core/abort-handle.js';
import { HttpUpstream } from './http-upstream.js';
import { UpstreamFailure } from '../core/upstream.js';

// Every other request has its connection cut before any answer; the rest get 200 with what they carried.
let seen = 0;
const server = createServer((req, res) => {
  seen++;
  if (seen % 2 === 1) {
    req.socket.destroy();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  const project = req.headers['openai-project'];
  res.end(JSON.stringify({ method: req.method, url: req.url, auth: req.headers.authorization, ...(project ? { project } : {}) }));
});
let base = '';

beforeAll(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => server.close());

const upstream = (retries: number, extra: Partial<ProviderConfig> = {}) =>
  new HttpUpstream({
    name: 'test',
    baseUrl: base,
    apiKey: 'sk-provider',
    auth: 'bearer',
    apiVersion: null,
    headers: {},
    models: null,
    timeouts: { connectMs: 5000, firstByteMs: 5000, totalMs: 10_000 },
    retries,
    connections: 4,
    projects: {},
    ...extra,
  } satisfies ProviderConfig);

const send = (u: HttpUpstream, method: string) =>
  u.send({ method, path: '/models', search: '?x=1', headers: { accept: 'application/json' }, body: method === 'POST' ? Buffer.from('{}') : null, signal: new AbortHandle() });

describe('HttpUpstream', () => {
  it('retries an idempotent request when configured, with the provider credentials and the base path', async () => {
    seen = 0;
    const u = upstream(1);
    const res = await send(u, 'GET');
    expect(seen).toBe(2);
    expect(JSON.parse((await res.body.readAll()).toString())).toEqual({ method: 'GET', url: '/v1/models?x=1', auth: 'Bearer sk-provider' });
    await u.close();
  });

  it('never retries a POST, and reports the failure as unreachable', async () => {
    seen = 0;
    const u = upstream(3);
    const err = await send(u, 'POST').catch((e: unknown) => e);
    expect(seen).toBe(1);
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect((err as UpstreamFailure).kind).toBe('unreachable');
    await u.close();
  });

  it('sends the provider project mapped to the Tollgate project, in place of a configured one, and none for others', async () => {
    const u = upstream(1, { headers: { 'OpenAI-Project': 'proj_upstream_default' }, projects: { proj_mapped: 'proj_upstream_a' } });
    const project = async (tollgateProject: string | null) => {
      seen = 0;
      const res = await u.send({ method: 'GET', path: '/models', search: '', headers: {}, body: null, project: tollgateProject, signal: new AbortHandle() });
      return JSON.parse((await res.body.readAll()).toString()).project;
    };
    expect(await project('proj_mapped')).toBe('proj_upstream_a');
    expect(await project('proj_other')).toBe('proj_upstream_default');
    expect(await project(null)).toBe('proj_upstream_default');
    await u.close();
  });
});
