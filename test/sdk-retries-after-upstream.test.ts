import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeObjectsUpstream, startFakeObjectsUpstream } from './harness/fake-objects-upstream.js';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';
import { chatCompletionJson } from './harness/fake-upstream.js';

// OpenAI's and Anthropic's SDKs retry a 408, 409, 429 and any 5xx twice by default, unless the answer carries
// `x-should-retry: false`. An error Tollgate answers itself after the request was sent upstream (the provider may have
// acted on it, may still be generating it, and bills it) was retried: a non-streamed generation later than the
// provider's first_byte_ms ran three times, billed three times, and its client got the 504 (found by a review); a
// fine-tuning job whose ownership could not be recorded was created three times, none of them usable. Each such error
// now says not to retry; one answered before anything reached the provider keeps the SDKs' default.

const ORG = '/v1/organization';
const FIRST_BYTE_MS = 200;
const ANSWER_MS = 800;

interface Upstream {
  server: Server;
  calls: Map<string, number>;
}

/** By model: `gpt-slow` answers after ANSWER_MS, `gpt-reset` drops the connection, `gpt-garbled` answers no JSON. */
async function startUpstream(): Promise<Upstream> {
  const u: Upstream = { server: createServer(), calls: new Map() };
  u.server.on('request', async (req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    for await (const c of req) text += c;
    const body = JSON.parse(text) as { model: string };
    u.calls.set(body.model, (u.calls.get(body.model) ?? 0) + 1);
    if (body.model === 'gpt-reset') {
      req.socket.destroy();
      return;
    }
    if (body.model === 'gpt-garbled') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id": "chatcmpl-1", "choices": [');
      return;
    }
    await new Promise((r) => setTimeout(r, ANSWER_MS));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(chatCompletionJson(body.model, 'done', { prompt_tokens: 1000, completion_tokens: 20000, total_tokens: 21000 }));
  });
  return u;
}

describe('errors answered after the request reached the provider are not retried by the SDKs', () => {
  let t: TestServer;
  let up: Upstream;
  let closed: Server;

  beforeAll(async () => {
    up = await startUpstream();
    const url = `${await listenOnLoopback(up.server)}/v1`;
    // A port that was listened on and closed again: nothing there accepts a connection.
    closed = createServer();
    const closedUrl = `${await listenOnLoopback(closed)}/v1`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const timeouts = { first_byte_ms: FIRST_BYTE_MS, total_ms: 10_000 };
    const file = gatewayConfigFile({
      providers: [
        { name: 'oai', base_url: url, api_key_env: 'UP_KEY', timeouts, circuit_breaker: false },
        { name: 'gone', base_url: closedUrl, api_key_env: 'UP_KEY', circuit_breaker: false },
      ],
      routes: { 'gpt-*': 'oai', 'nowhere-*': 'gone' },
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });

  const newKey = async () => (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'retry' } })).body as { id: string; value: string };
  const ask = { messages: [{ role: 'user' as const, content: 'think hard' }] };

  it('a non-streamed generation later than first_byte_ms runs once: 504 with x-should-retry false, naming stream and first_byte_ms', async () => {
    const key = await newKey();
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: key.value });
    const err = await client.chat.completions.create({ model: 'gpt-slow', ...ask }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const e = err as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(504);
    expect(e.code).toBe('upstream_timeout');
    expect(e.headers?.get('x-should-retry')).toBe('false');
    expect(e.message).toMatch(/stream/);
    expect(e.message).toMatch(/first_byte_ms/);
    // The one generation finishes upstream (and is billed); nothing asked it again.
    await new Promise((r) => setTimeout(r, ANSWER_MS));
    expect(up.calls.get('gpt-slow')).toBe(1);
  });

  it("an Anthropic client's translated call later than first_byte_ms runs once", async () => {
    const key = await newKey();
    const client = new Anthropic({ baseURL: t.url, apiKey: key.value });
    const err = await client.messages.create({ model: 'gpt-slow-translated', max_tokens: 100, ...ask }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    const e = err as InstanceType<typeof Anthropic.APIError>;
    expect(e.status).toBe(504);
    expect(e.headers?.get('x-should-retry')).toBe('false');
    await new Promise((r) => setTimeout(r, ANSWER_MS));
    expect(up.calls.get('gpt-slow-translated')).toBe(1);
  });

  it.each([
    ['the provider dropped the connection after taking the request', 'gpt-reset'],
    ['the provider answered malformed JSON', 'gpt-garbled'],
  ])('%s: 502 with x-should-retry false, sent once', async (_name, model) => {
    const key = await newKey();
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: key.value });
    const err = await client.chat.completions.create({ model, ...ask }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const e = err as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(502);
    expect(e.headers?.get('x-should-retry')).toBe('false');
    expect(up.calls.get(model)).toBe(1);
  });

  it('a provider nothing could be sent to (connection refused) keeps the SDK default: retried', async () => {
    const key = await newKey();
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: key.value, maxRetries: 0 });
    const err = await client.chat.completions.create({ model: 'nowhere-1', ...ask }).catch((e: unknown) => e);
    const e = err as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(502);
    expect(e.headers?.get('x-should-retry')).toBeNull();
  });
});

describe('objects made upstream that cannot be recorded are not made again by SDK retries', () => {
  let t: TestServer;
  let up: FakeObjectsUpstream;
  let key: string;

  beforeAll(async () => {
    up = await startFakeObjectsUpstream();
    const file = gatewayConfigFile({ providers: [{ name: 'fake', base_url: up.url, api_key_env: 'FAKE_KEY' }] });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, FAKE_KEY: 'sk-provider' } });
    key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'objects' } })).body.value;
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  const sqlite = () => t.server.runtime.database.sqlite as NonNullable<typeof t.server.runtime.database.sqlite>;
  const posts = (path: string) => up.seen.filter((s) => s.method === 'POST' && s.url === path).length;

  it('a fine-tuning job whose ownership cannot be recorded: 503 with x-should-retry false, created once', async () => {
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: key });
    const training = await client.files.create({ file: await toFile(Buffer.from('{"messages":[]}\n'), 'train.jsonl'), purpose: 'fine-tune' });
    sqlite().exec("CREATE TRIGGER rv_fail BEFORE INSERT ON upstream_objects BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END");
    try {
      const err = await client.fineTuning.jobs.create({ model: 'gpt-4o-mini', training_file: training.id }).catch((e: unknown) => e);
      const e = err as InstanceType<typeof OpenAI.APIError>;
      expect(e).toBeInstanceOf(OpenAI.APIError);
      expect(e.status).toBe(503);
      expect(e.headers?.get('x-should-retry')).toBe('false');
      expect(posts('/v1/fine_tuning/jobs')).toBe(1);
    } finally {
      sqlite().exec('DROP TRIGGER rv_fail');
    }
  });

  it('a background response that cannot be recorded for billing: 503 with x-should-retry false, created once', async () => {
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: key });
    up.overrides.set('POST /v1/responses', {
      status: 200,
      body: JSON.stringify({ id: 'resp_bg_retry', object: 'response', created_at: 1, status: 'queued', background: true, model: 'gpt-4o-mini', output: [], usage: null }),
    });
    sqlite().exec("CREATE TRIGGER rv_fail_bg BEFORE INSERT ON background_responses BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END");
    try {
      const err = await client.responses.create({ model: 'gpt-4o-mini', input: 'hi', background: true }).catch((e: unknown) => e);
      const e = err as InstanceType<typeof OpenAI.APIError>;
      expect(e).toBeInstanceOf(OpenAI.APIError);
      expect(e.status).toBe(503);
      expect(e.headers?.get('x-should-retry')).toBe('false');
      // The database's error is not the client's to read.
      expect(e.message).not.toMatch(/simulated write failure|background_responses|SQLITE/i);
      expect(posts('/v1/responses')).toBe(1);
    } finally {
      sqlite().exec('DROP TRIGGER rv_fail_bg');
      up.overrides.delete('POST /v1/responses');
    }
  });
});
