import net from 'node:net';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// A request's method decides how it is metered: GET, HEAD, OPTIONS and DELETE as free reads. Found by an outside
// review: one sent with a model-call body was forwarded with it, and an upstream routing without regard to the method
// ran it, unbilled and past a spend limit; PUT or PATCH naming a model was billed nothing though its answer said usage.

const ORG = '/v1/organization';
const USAGE = { prompt_tokens: 100_000, completion_tokens: 100_000, total_tokens: 200_000 };

describe('methods and bodies', () => {
  let t: TestServer;
  let up: Server;
  const seen: string[] = [];

  beforeAll(async () => {
    up = createServer(async (req, res) => {
      let body = '';
      for await (const c of req) body += c;
      seen.push(`${req.method} ${body.length}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: USAGE }));
    });
    const url = `${await listenOnLoopback(up)}/v1`;
    const file = gatewayConfigFile({ providers: [{ name: 'oai', base_url: url, api_key_env: 'UP_KEY' }], routes: { 'gpt-*': 'oai' }, pricing: { 'gpt-4o-mini': { input: 1, output: 2 } } });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.close();
  });

  const newKey = async (extra: Record<string, unknown> = {}) => (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'm', ...extra } })).body as { id: string; value: string };
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  const send = (key: string, method: string, withBody = true) =>
    fetch(`${t.url}/v1/chat/completions`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: withBody ? body : undefined });

  it('GET, OPTIONS and DELETE with a body are refused (400), not forwarded; without one they are as before', async () => {
    const key = await newKey({ spend_limit: { threshold_amount: 100_000, interval: 'month' } });
    seen.length = 0;
    for (const method of ['OPTIONS', 'DELETE']) {
      const res = await send(key.value, method);
      expect(res.status, method).toBe(400);
      expect((await res.json()).error.code).toBe('invalid_value');
    }
    // fetch will not send a GET with a body: a raw request does.
    const get = await new Promise<number>((resolve) => {
      const s = net.connect(Number(new URL(t.url).port), '127.0.0.1');
      let text = '';
      s.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('\r\n\r\n')) {
          resolve(Number(text.split(' ')[1]));
          s.destroy();
        }
      });
      s.write(`GET /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key.value}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    });
    expect(get).toBe(400);
    expect(seen).toEqual([]);
    expect((await send(key.value, 'DELETE', false)).status).toBe(200);
    expect(seen).toEqual(['DELETE 0']);
  });

  it('GET /v1/models and /v1/models/{model} with a body are refused (400) as every other GET with one, not answered ignoring it', async () => {
    const key = await newKey();
    for (const path of ['/v1/models', '/v1/models/gpt-4o-mini']) {
      const answer = await new Promise<string>((resolve) => {
        const s = net.connect(Number(new URL(t.url).port), '127.0.0.1');
        let text = '';
        s.on('data', (c: Buffer) => {
          text += c.toString();
          const at = text.indexOf('\r\n\r\n');
          const length = /content-length: (\d+)/i.exec(text);
          if (at >= 0 && length && text.length >= at + 4 + Number(length[1])) {
            resolve(text);
            s.destroy();
          }
        });
        s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key.value}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      });
      expect(Number(answer.split(' ')[1]), path).toBe(400);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error.code, path).toBe('invalid_value');
    }
  });

  it('PUT or PATCH naming a model is billed the usage its answer reports (refused under a spend limit)', async () => {
    const key = await newKey();
    for (const method of ['PUT', 'PATCH']) expect((await send(key.value, method)).status, method).toBe(200);
    const rows = await usageEventsOf(t, key.id, 2);
    expect(rows.map((r) => [r.method, r.billable, r.input_tokens, r.output_tokens])).toEqual([
      ['PUT', 1, USAGE.prompt_tokens, USAGE.completion_tokens],
      ['PATCH', 1, USAGE.prompt_tokens, USAGE.completion_tokens],
    ]);
    const limited = await newKey({ spend_limit: { threshold_amount: 100_000, interval: 'month' } });
    expect((await send(limited.value, 'PUT')).status).toBe(403);
  });
});
