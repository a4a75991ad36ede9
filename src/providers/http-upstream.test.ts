import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback, testProviderConfig } from '../../test/harness/provider-config.js';
import type { ProviderConfig } from '../config/gateway-config.js';
import { AbortHandle } from '../core/abort-handle.js';
import { TollgateError } from '../core/errors.js';
import { UpstreamFailure } from '../core/upstream.js';
import { HttpUpstream } from './http-upstream.js';

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
  const h = req.headers;
  const kinds = h['x-api-key'] || h['api-key'] || h['anthropic-version'] ? { xApiKey: h['x-api-key'], apiKey: h['api-key'], version: h['anthropic-version'] } : {};
  res.end(JSON.stringify({ method: req.method, url: req.url, auth: h.authorization, ...(project ? { project } : {}), ...kinds }));
});
let base = '';

beforeAll(async () => {
  base = `${await listenOnLoopback(server)}/v1`;
});
afterAll(() => server.close());

const upstream = (retries: number, extra: Partial<ProviderConfig> = {}) =>
  new HttpUpstream(testProviderConfig('test', base, [['TEST_KEY', 'sk-provider']], { timeouts: { connectMs: 5000, firstByteMs: 5000, totalMs: 10_000 }, retries, ...extra }), { clock: () => 0 });

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

  it('runs the configured api-version: a client may send that one, in any spelling, and no other', async () => {
    const u = upstream(1, { apiVersion: '2024-10-21' });
    const get = async (search: string) => {
      seen = 1; // the next request is answered
      const res = await u.send({ method: 'GET', path: '/models', search, headers: {}, body: null, signal: new AbortHandle() });
      return (JSON.parse((await res.body.readAll()).toString()) as { url: string }).url;
    };
    expect(await get('')).toBe('/v1/models?api-version=2024-10-21');
    expect(await get('?x=1')).toBe('/v1/models?x=1&api-version=2024-10-21');
    expect(await get('?api-version=2024-10-21')).toBe('/v1/models?api-version=2024-10-21');
    for (const search of ['?api-version=2025-04-01-preview', '?api-version=', '?API-VERSION=preview', '?api%2Dversion=preview', '?api-version=2024-10-21&api-version=preview', '?%41PI-VERSION=preview', '?x=1;api-version=preview']) {
      const err = await get(search).catch((e: unknown) => e);
      expect(err, search).toBeInstanceOf(TollgateError);
      expect((err as TollgateError).param).toBe('api-version');
    }
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

  it('speaks each kind of provider: Anthropic (x-api-key, anthropic-version unless the client sent one) and Azure (deployments, api-key, api-version)', async () => {
    const call = async (u: HttpUpstream, req: { method?: string; path: string; search?: string; model?: string | null; headers?: Record<string, string> }) => {
      // The server cuts every other request: this one is its second.
      seen = 1;
      const res = await u.send({ method: req.method ?? 'POST', path: req.path, search: req.search ?? '', headers: { ...req.headers }, body: Buffer.from('{}'), model: req.model, signal: new AbortHandle() });
      return JSON.parse((await res.body.readAll()).toString());
    };
    const anthropic = upstream(0, { kind: 'anthropic', auth: 'x-api-key', apiVersion: '2023-06-01' });
    expect(anthropic.format).toBe('anthropic');
    expect(await call(anthropic, { path: '/messages' })).toEqual({ method: 'POST', url: '/v1/messages', xApiKey: 'sk-provider', version: '2023-06-01' });
    expect((await call(anthropic, { path: '/messages', headers: { 'anthropic-version': '2024-01-01' } })).version).toBe('2024-01-01');
    expect((await call(anthropic, { method: 'GET', path: '/models' })).url).toBe('/v1/models?limit=1000');
    await anthropic.close();
    const azure = upstream(0, { kind: 'azure-openai', auth: 'api-key', apiVersion: '2024-10-21', deployments: { 'gpt-4o': 'prod-4o' }, baseUrl: base.replace(/\/v1$/, '') });
    expect(azure.format).toBe('openai');
    expect(azure.models).toEqual(['gpt-4o']);
    expect(await call(azure, { path: '/chat/completions', model: 'gpt-4o' })).toEqual({ method: 'POST', url: '/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21', apiKey: 'sk-provider' });
    expect((await call(azure, { path: '/embeddings', model: 'text-embedding-3-small' })).url).toBe('/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21');
    expect((await call(azure, { method: 'GET', path: '/files', search: '?limit=2' })).url).toBe('/openai/files?limit=2&api-version=2024-10-21');
    // A model that would be a dot segment of the deployment path is refused as unknown, and nothing is sent.
    for (const model of ['..', '.', 'x/../../files', 'gpt 4o', `${'a'.repeat(65)}`]) {
      seen = 1;
      const err = await azure.send({ method: 'POST', path: '/chat/completions', search: '', headers: {}, body: Buffer.from('{}'), model, signal: new AbortHandle() }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TollgateError);
      expect((err as TollgateError).status).toBe(404);
      expect((err as TollgateError).code).toBe('model_not_found');
      expect(seen).toBe(1);
    }
    // A deployment named like one by the config is refused alike.
    const mapped = upstream(0, { kind: 'azure-openai', auth: 'api-key', apiVersion: '2024-10-21', deployments: { 'gpt-4o': '..' }, baseUrl: base.replace(/\/v1$/, '') });
    expect(await mapped.send({ method: 'POST', path: '/chat/completions', search: '', headers: {}, body: null, model: 'gpt-4o', signal: new AbortHandle() }).catch((e: unknown) => (e as TollgateError).code)).toBe('model_not_found');
    await mapped.close();
    await azure.close();
  });
});
