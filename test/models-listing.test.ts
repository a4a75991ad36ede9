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
