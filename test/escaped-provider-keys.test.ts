import { createServer } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A base64-style provider key ('/' and '+' in it), quoted back by a provider whose JSON encoder escapes it: PHP's
// json_encode (and Java's) write '/' as '\/', .NET's writes '+' as '\u002B'. Tollgate parses the error and writes it
// out again, decoded, and clients decode what is passed on: a key matched only as itself in the raw text got through.
const UP_KEY = 'sk-up-Zq9/Xw8+Vt7Rs6Qp5On4Ml3Kj2Ih1Gf0EdCbA987654';
const esc = (s: string) => s.replaceAll('/', '\\/');
const dotnet = (s: string) => s.replaceAll('+', '\\u002B');

let t: TestServer;
const logs: string[] = [];
const upstream = createServer(async (req, res) => {
  let body = '';
  for await (const c of req) body += c;
  const model = body ? (JSON.parse(body).model ?? '') : '';
  const key = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
  res.setHeader('content-type', 'application/json');
  const error = (status: number, text: string) => {
    res.writeHead(status);
    res.end(text);
  };
  if (model === 'esc-400') return error(400, `{"error":{"message":"Invalid value for api key ${esc(key)}","type":"invalid_request_error","param":null,"code":null}}`);
  if (model === 'uni-400') return error(400, `{"error":{"message":"bad key \\u0073${dotnet(key.slice(1))}","type":"invalid_request_error","param":null,"code":null}}`);
  if (model === 'esc-401') return error(401, `{"error":{"message":"Incorrect API key provided: ${esc(key)}","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`);
  // The key straddles the 2,000th character, where the log line is cut.
  if (model === 'cut-401') return error(401, `{"error":{"message":"${'x'.repeat(1940)} ${key}"}}`);
  if (model === 'esc-stream') {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}\n\n');
    return res.end(`data: {"error":{"message":"key ${dotnet(esc(key))} revoked","type":"server_error"}}\n\n`);
  }
  if (req.url?.startsWith('/v1/realtime/sessions')) return error(200, `{"id":"sess_1","object":"realtime.session","instructions":"as ${esc(key)}"}`);
  error(404, '{}');
});

beforeAll(async () => {
  const url = await listenOnLoopback(upstream);
  const file = gatewayConfigFile({ providers: [{ name: 'up', base_url: `${url}/v1`, api_key_env: 'UP_KEY' }], routes: { '*': 'up' } });
  t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY }, logger: pino({ level: 'trace' }, { write: (l: string) => logs.push(l) }) });
});
afterAll(async () => {
  await t?.close();
  upstream.close();
});

const projectKey = async () => (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k' } })).body.value as string;
const chat = async (model: string, o: { stream?: boolean; anthropic?: boolean } = {}) => {
  const key = await projectKey();
  const r = await fetch(t.url + (o.anthropic ? '/v1/messages' : '/v1/chat/completions'), {
    method: 'POST',
    headers: o.anthropic ? { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' } : { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, ...(o.anthropic ? { max_tokens: 5 } : {}), ...(o.stream ? { stream: true } : {}), messages: [{ role: 'user', content: 'hi' }] }),
  });
  return { status: r.status, text: await r.text() };
};
/** What a client reads: the text, and every JSON value in it decoded. */
const decoded = (text: string) => {
  const values = text.split('\n').flatMap((line) => {
    try {
      return [JSON.stringify(JSON.parse(line.replace(/^data: /, '')))];
    } catch {
      return [];
    }
  });
  return [text, ...values].join('\n');
};
const refusedLine = () => JSON.parse(logs.findLast((l) => l.includes('UPSTREAM REFUSED')) as string).upstream as string;

describe("a provider's error quoting its key JSON-escaped", () => {
  it("is answered without the key, in OpenAI's shape, whatever the escapes", async () => {
    for (const model of ['esc-400', 'uni-400']) {
      const r = await chat(model);
      expect(r.status).toBe(400);
      expect(decoded(r.text)).not.toContain(UP_KEY.slice(7));
      expect(JSON.parse(r.text).error.message).toContain('[provider key]');
    }
  });

  it("is answered without the key in Anthropic's shape (/v1/messages)", async () => {
    const r = await chat('esc-400', { anthropic: true });
    expect(r.status).toBe(400);
    expect(decoded(r.text)).not.toContain(UP_KEY.slice(7));
    expect(JSON.parse(r.text).error.message).toContain('[provider key]');
  });

  it('is relayed without the key as a stream error event', async () => {
    const r = await chat('esc-stream', { stream: true });
    expect(r.text).toContain('[provider key]');
    expect(decoded(r.text)).not.toContain(UP_KEY.slice(7));
  });

  it('is logged without the key when the provider refuses its credentials', async () => {
    await chat('esc-401');
    expect(refusedLine()).toContain('[provider key]');
    expect(JSON.parse(refusedLine()).error.message).not.toContain(UP_KEY.slice(7));
  });

  it('is cleared before the log line is cut, so no part of a key at the cut is logged', async () => {
    await chat('cut-401');
    const line = refusedLine();
    expect(line).not.toContain(UP_KEY.slice(0, 12));
    expect(line.length).toBeLessThanOrEqual(2000);
  });

  it('is cleared from an answer other than a model call (an object naming it)', async () => {
    const r = await fetch(`${t.url}/v1/realtime/sessions`, { headers: { authorization: `Bearer ${await projectKey()}` } });
    const text = await r.text();
    expect(r.status).toBe(200);
    expect(decoded(text)).not.toContain(UP_KEY.slice(7));
  });
});
