import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// A pool's next key is not tried once nobody waits for the answer. Found by an outside review: a non-streamed call whose
// client hung up (or was answered 504 at the first byte's timeout) went on to another key after the first answered 503,
// a generation nobody read, billed to the key; a client told 504 retries, and paid twice.

const ORG = '/v1/organization';

describe("a pool does not try another key for a request whose client is gone", () => {
  let t: TestServer;
  let up: Server;
  const seen: string[] = [];

  beforeAll(async () => {
    up = createServer(async (req, res) => {
      for await (const _ of req);
      const key = String(req.headers.authorization).replace('Bearer ', '');
      seen.push(key);
      // The heavy key fails late (nothing ran); the other would answer at once, with usage.
      if (key === 'sk-first') return setTimeout(() => res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"message":"overloaded","type":"server_error"}}'), 600);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1000, completion_tokens: 8000, total_tokens: 9000 } }));
    });
    const url = `${await listenOnLoopback(up)}/v1`;
    const file = gatewayConfigFile({ providers: [{ name: 'pooled', base_url: url, credentials: [{ api_key_env: 'FIRST', weight: 1_000_000 }, { api_key_env: 'SECOND', weight: 1 }] }], routes: { 'gpt-*': 'pooled' } });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, FIRST: 'sk-first', SECOND: 'sk-second' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.close();
  });

  const chat = (key: string, signal?: AbortSignal) =>
    fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }), signal });

  it('hung up while the first key is failing: the second is never sent the request, nothing is billed', async () => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'gone' } })).body as { id: string; value: string };
    seen.length = 0;
    const abort = new AbortController();
    const call = chat(key.value, abort.signal).catch(() => null);
    setTimeout(() => abort.abort(), 150);
    await call;
    const [event] = await usageEventsOf(t, key.id);
    expect(event).toMatchObject({ billable: 0, status: 503 });
    // Well past the first key's answer: the second was never asked.
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual(['sk-first']);
  });

  it('while its client waits, the request moves on to the second key as before', async () => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'waits' } })).body as { id: string; value: string };
    seen.length = 0;
    expect((await chat(key.value)).status).toBe(200);
    expect(seen).toEqual(['sk-first', 'sk-second']);
  });
});
