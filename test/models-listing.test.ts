import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A provider's list of models that cannot be read is never taken for a provider that serves no models (found by a
// review: one failed GET /models upstream was cached for a minute as an empty list, so models.list() answered [] and
// models.retrieve() raised NotFoundError for models that answered chat all along).

const ORG = '/v1/organization';
let t: TestServer;
let up: Server;
/** What the upstream's GET /models answers next: its list, or a 503. */
let listing: 'ok' | 'down' = 'down';
let asked = 0;
let now = Date.UTC(2026, 5, 1);

beforeAll(async () => {
  up = createServer((req, res) => {
    if (req.url?.endsWith('/models')) {
      asked++;
      if (listing === 'down') {
        res.writeHead(503, { 'content-type': 'application/json' });
        return res.end('{"error":{"message":"overloaded"}}');
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-4o', object: 'model', created: 1, owned_by: 'openai' }] }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(up.address() as AddressInfo).port}/v1`;
  const file = gatewayConfigFile({ providers: [{ name: 'oai', base_url: url, api_key_env: 'UP_KEY' }], default_provider: 'oai' });
  t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' }, clock: () => now });
});
afterAll(async () => {
  await t?.close();
  up?.close();
});

it("answers 502 while a provider's list cannot be read and none was read before, then lists it; a later failure keeps the last list", async () => {
  const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'm' } })).body.value;
  const client = new OpenAI({ apiKey: key, baseURL: `${t.url}/v1`, maxRetries: 0 });
  const list = () => client.models.list().then((p) => p.data.map((m) => m.id), (e) => e);
  const one = () => client.models.retrieve('gpt-4o').then((m) => m.id, (e) => e);

  const failed = await list();
  expect(failed).toBeInstanceOf(OpenAI.InternalServerError);
  expect(failed.status).toBe(502);
  expect(failed.error.message).toContain("'oai'");
  expect((await one()).status).toBe(502);

  // Healthy again: asked again within seconds, not a minute later.
  listing = 'ok';
  now += 6_000;
  expect(await list()).toEqual(['gpt-4o']);
  expect(await one()).toBe('gpt-4o');
  // Unknown models are still 404 once every list was read.
  expect(await client.models.retrieve('gpt-nope').catch((e) => e)).toBeInstanceOf(OpenAI.NotFoundError);

  // Down again past the cache: the last list read stands in.
  listing = 'down';
  now += 61_000;
  const before = asked;
  expect(await list()).toEqual(['gpt-4o']);
  expect(asked).toBe(before + 1);
  expect(await one()).toBe('gpt-4o');
});

it("lists what is known when one provider's list cannot be read: the others' lists and the models the config declares for it, said to be partial", async () => {
  // Two providers; `down` never answers its list. A new user's walkthrough had every model list refused 502 for it.
  const lines: string[] = [];
  const logger = { write: (s: string) => lines.push(s) };
  const healthy = createServer((req, res) => {
    if (req.url?.endsWith('/models')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-4o', object: 'model', created: 1, owned_by: 'openai' }] }));
    }
    res.writeHead(404).end();
  });
  const broken = createServer((_req, res) => {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"boom"}}');
  });
  await Promise.all([healthy, broken].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
  const urlOf = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/v1`;
  const file = gatewayConfigFile({
    providers: [
      { name: 'oai', base_url: urlOf(healthy), api_key_env: 'UP_KEY' },
      { name: 'down', base_url: urlOf(broken), api_key_env: 'UP_KEY' },
    ],
    default_provider: 'oai',
    routes: {
      'claude-sonnet-4-5': 'down',
      'claude-*': 'down',
      'gpt-4o-mini': { provider: 'oai', fallbacks: [{ provider: 'down', model: 'claude-haiku-4-5' }] },
    },
    aliases: { smart: 'claude-sonnet-4-5' },
  });
  const pino = (await import('pino')).default;
  const s = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' }, logger: pino({ level: 'warn' }, logger) });
  try {
    const newKey = async (body: Record<string, unknown>) => (await s.api('POST', `${ORG}/projects/${s.defaultProjectId}/api_keys`, { body: { name: 'm', ...body } })).body.value as string;
    const key = await newKey({});
    const r = await s.api('GET', '/v1/models', { key });
    expect(r.status, r.text).toBe(200);
    expect(r.body.data.map((m: { id: string }) => m.id)).toEqual(['claude-haiku-4-5', 'claude-sonnet-4-5', 'gpt-4o', 'smart']);
    expect(r.body.data.find((m: { id: string }) => m.id === 'claude-sonnet-4-5')).toEqual({ id: 'claude-sonnet-4-5', object: 'model', created: 0, owned_by: 'down' });
    expect(r.headers.get('x-tollgate-models-partial')).toBe('down');
    expect(lines.join('')).toContain('down');
    // A declared model is found; one the failed provider may serve (a claude-* not declared) cannot be told: 502.
    expect((await s.api('GET', '/v1/models/claude-sonnet-4-5', { key })).status).toBe(200);
    expect((await s.api('GET', '/v1/models/claude-opus-4-1', { key })).status).toBe(502);
    // Anthropic's clients are told alike.
    const a = await s.api('GET', '/v1/models', { key, headers: { 'anthropic-version': '2023-06-01' } });
    expect([a.status, a.headers.get('x-tollgate-models-partial')]).toEqual([200, 'down']);
    // The key's allowed_models still filter; a key that may see none of what is known is told the list could not be read.
    const narrow = await newKey({ allowed_models: ['gpt-4o'] });
    expect((await s.api('GET', '/v1/models', { key: narrow })).body.data.map((m: { id: string }) => m.id)).toEqual(['gpt-4o']);
    const claudeOnly = await newKey({ allowed_models: ['claude-opus-4-1'] });
    const none = await s.api('GET', '/v1/models', { key: claudeOnly });
    expect(none.status).toBe(502);
    expect(none.body.error.message).toContain("'down'");
  } finally {
    await s.close();
    healthy.close();
    broken.close();
  }
});
