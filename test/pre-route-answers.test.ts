import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from './harness/fake-upstream.js';
import { firstBodyOf, rawExchange, statusesOf } from './harness/raw-http.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// Answers Node gives before any route sees a request were not Tollgate's: found by an outside review, `Expect: foo` got
// Node's 417 with an empty body, an HTTP/1.1 request without Host Node's empty 400, CONNECT a closed socket with no
// answer, and `Expect: 100-continue` with a refused key `100 Continue` (inviting the body) before its 401.

const ORG = '/v1/organization';

describe('answers before any route sees the request', () => {
  let t: TestServer;
  let up: FakeUpstream;
  let port: number;
  let key: string;

  beforeAll(async () => {
    up = await startFakeUpstream();
    const file = gatewayConfigFile({ providers: [{ name: 'fake', base_url: up.url, api_key_env: 'FAKE_UPSTREAM_KEY' }], pricing: { 'gpt-4o-mini': { input: 0.15, output: 0.6 } } });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, FAKE_UPSTREAM_KEY: 'sk-up-0000' } });
    port = Number(new URL(t.url).port);
    key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k' } })).body.value;
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  const expectOpenAiError = (text: string, status: number) => {
    expect(statusesOf(text)).toEqual([status]);
    expect(text.toLowerCase()).toMatch(/\r\nx-request-id: req_/);
    expect(text.toLowerCase()).toContain('\r\nconnection: close\r\n');
    expect(JSON.parse(firstBodyOf(text)).error.type).toBe('invalid_request_error');
  };

  it.each([
    ['on the gateway', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer KEY\r\nContent-Type: application/json\r\nExpect: foo\r\nContent-Length: ${body.length}\r\n\r\n${body}`],
    ['on the admin API', `GET ${ORG}/projects HTTP/1.1\r\nHost: x\r\nExpect: foo\r\n\r\n`],
  ])('an expectation other than 100-continue %s: 417 in OpenAI shape, nothing forwarded', async (_where, request) => {
    const before = up.seen.length;
    const r = await rawExchange(port, request.replace('KEY', key), 1200);
    expectOpenAiError(r.text, 417);
    expect(JSON.parse(firstBodyOf(r.text)).error.code).toBe('expectation_failed');
    expect(up.seen.length - before).toBe(0);
  });

  it("an expectation other than 100-continue on Anthropic's Messages API: 417 in Anthropic's shape", async () => {
    const r = await rawExchange(port, `POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: ${key}\r\nContent-Type: application/json\r\nExpect: foo\r\nContent-Length: 2\r\n\r\n{}`, 1200);
    expect(statusesOf(r.text)).toEqual([417]);
    expect(r.text.toLowerCase()).toMatch(/\r\nrequest-id: req_/);
    const answer = JSON.parse(firstBodyOf(r.text));
    expect(answer.type).toBe('error');
    expect(answer.error.type).toBe('invalid_request_error');
  });

  it('an HTTP/1.1 request without Host: 400 in OpenAI shape', async () => {
    const r = await rawExchange(port, `GET /v1/models HTTP/1.1\r\nAuthorization: Bearer ${key}\r\n\r\n`, 1200);
    expectOpenAiError(r.text, 400);
    expect(JSON.parse(firstBodyOf(r.text)).error.code).toBe('malformed_request');
  });

  it('an HTTP/1.0 request without Host is still served (Host is HTTP/1.1’s)', async () => {
    const r = await rawExchange(port, `GET /v1/models HTTP/1.0\r\nAuthorization: Bearer ${key}\r\n\r\n`, 1200);
    expect(statusesOf(r.text)).toEqual([200]);
  });

  it('CONNECT: 405 in OpenAI shape, the connection closed', async () => {
    const r = await rawExchange(port, `CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\nAuthorization: Bearer ${key}\r\n\r\n`, 1200);
    expectOpenAiError(r.text, 405);
    expect(JSON.parse(firstBodyOf(r.text)).error.code).toBe('method_not_allowed');
    expect(r.closed).toBe(true);
  });

  const expectContinue = (auth: string, length: number) =>
    `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n${auth}\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${length}\r\n\r\n`;

  it('Expect: 100-continue with a refused key: the 401 without a 100 Continue first', async () => {
    const r = await rawExchange(port, expectContinue('Authorization: Bearer sk-bad', 5_000_000), 1200);
    expect(statusesOf(r.text)).toEqual([401]);
  });

  it('Expect: 100-continue with a valid key: 100 Continue, then the answer once the body came', async () => {
    const before = up.seen.length;
    const r = await rawExchange(port, [expectContinue(`Authorization: Bearer ${key}`, body.length), 300, body], 1500);
    expect(statusesOf(r.text)).toEqual([100, 200]);
    expect(up.seen.length - before).toBe(1);
  });

  it('Expect: 100-continue on the admin API is answered as before', async () => {
    const create = JSON.stringify({ name: 'expect-continue' });
    const head = `POST ${ORG}/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminKey}\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${create.length}\r\n\r\n`;
    const r = await rawExchange(port, [head, 300, create], 1500);
    expect(statusesOf(r.text)).toEqual([100, 200]);
  });
});
