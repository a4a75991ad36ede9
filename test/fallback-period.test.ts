import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A route's fallback is admitted in the period the request arrived in, as its first model was and as its usage event
// is stamped. Found by an outside review: a fallback decided after midnight was charged to the new day (a quota counted
// the request on both days, refusing the new day's first request; a day's hard cap never saw the fallback's cost).

const ORG = '/v1/organization';

describe("a fallback decided after its period's end is counted in the period its request arrived in", () => {
  let t: TestServer;
  let up: Server;
  let now = Date.parse('2026-05-31T23:59:59.900Z');
  /** Where the clock is when the first model refuses (the fallback is decided after it). */
  let refusedAt = 0;

  beforeAll(async () => {
    up = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const { model } = JSON.parse(Buffer.concat(chunks).toString()) as { model: string };
      if (model === 'gpt-4.1-nano') {
        now = refusedAt;
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '30' });
        res.end(JSON.stringify({ error: { message: 'busy', type: 'requests', code: 'rate_limit_exceeded' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      const usage = { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 };
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model, choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage }));
    });
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    const file = gatewayConfigFile({
      providers: [{ name: 'main', base_url: `http://127.0.0.1:${(up.address() as AddressInfo).port}/v1`, api_key_env: 'MAIN_KEY' }],
      routes: { 'gpt-4.1-nano': { provider: 'main', fallbacks: [{ model: 'gpt-4o' }] } },
      default_provider: 'main',
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, MAIN_KEY: 'sk-main-0000' }, clock: () => now });
  });
  afterAll(async () => {
    await t?.close();
    up?.close();
  });

  const chat = (key: string, model: string) =>
    fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 50 }),
    });

  it("counts a day's quota once, on the day it arrived: the next day's first request is not refused", async () => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'q', request_quota: { max_requests: 1, interval: 'day' } } })).body as { value: string };
    now = Date.parse('2026-05-31T23:59:59.900Z');
    refusedAt = Date.parse('2026-06-01T00:00:00.100Z');
    const first = await chat(key.value, 'gpt-4.1-nano');
    expect(first.status).toBe(200);
    expect(((await first.json()) as { model: string }).model).toBe('gpt-4o');
    now = Date.parse('2026-06-01T00:00:05.000Z');
    const next = await chat(key.value, 'gpt-4o');
    expect(next.status).toBe(200);
    expect(next.headers.get('x-tollgate-remaining-requests-quota')).toBe('0');
  });
});
