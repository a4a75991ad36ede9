import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A request that names no model (a list, an object by id, a file upload, Anthropic's message batches) went to the
// default provider whatever API it was in: with an Anthropic default, an OpenAI client's file list reached Anthropic
// (a 404 from the wrong provider); with an OpenAI-compatible default, an Anthropic client's batches reached OpenAI. It
// now goes to the default when the default speaks the request's API, else to the first provider that does.

describeEachDatabase('requests without a model go to a provider that speaks their API', (backend) => {
  const seen: Array<{ provider: string; url: string }> = [];
  const servers: Server[] = [];
  let t: TestServer;

  const start = async (provider: string) => {
    const server = createServer((req, res) => {
      seen.push({ provider, url: req.url ?? '' });
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(provider === 'ant' ? JSON.stringify({ data: [], has_more: false, first_id: null, last_id: null }) : JSON.stringify({ object: 'list', data: [], has_more: false }));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  };

  beforeAll(async () => {
    const ant = await start('ant');
    const oai = await start('oai');
    // Anthropic's provider is the default; the OpenAI-compatible one serves gpt-* by route.
    const file = gatewayConfigFile({
      providers: [
        { name: 'ant', kind: 'anthropic', base_url: ant, api_key_env: 'P_KEY' },
        { name: 'oai', base_url: oai, api_key_env: 'P_KEY' },
      ],
      default_provider: 'ant',
      routes: { 'gpt-*': 'oai' },
    });
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, P_KEY: 'sk-provider-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    for (const s of servers) s.close();
  });

  it("an OpenAI client's file list reaches the OpenAI-compatible provider; an Anthropic client's batches reach Anthropic", async () => {
    const key = (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'no-model' } })).body as { value: string };
    const client = new OpenAI({ apiKey: key.value, baseURL: `${t.url}/v1`, maxRetries: 0 });
    const files = await client.files.list();
    expect(files.data).toEqual([]);
    expect(seen.at(-1)).toMatchObject({ provider: 'oai', url: expect.stringMatching(/^\/v1\/files/) });
    const batches = await fetch(`${t.url}/v1/messages/batches`, { headers: { 'x-api-key': key.value, 'anthropic-version': '2023-06-01' } });
    expect(batches.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ provider: 'ant', url: expect.stringMatching(/^\/v1\/messages\/batches/) });
  });
});
