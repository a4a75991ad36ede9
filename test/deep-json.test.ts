import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../src/core/json-depth.js';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// A body nested thousands of levels deep was forwarded, run by the provider, then failed in the gateway's own walks of it
// (the token count when the answer had no usage overflowed the stack): the client got 500 and the key was billed nothing
// (found by an outside review, 5,000 levels). Such bodies are now refused at the edge, before anything is forwarded.

const ORG = '/v1/organization';

describe('JSON nested past MAX_JSON_DEPTH is refused before it is forwarded; up to it, billed', () => {
  let t: TestServer;
  let up: Server;
  let calls = 0;

  beforeAll(async () => {
    // An upstream that answers without usage: the gateway counts the prompt itself.
    up = createServer(async (req, res) => {
      for await (const _ of req);
      calls++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] }));
    });
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(up.address() as AddressInfo).port}/v1`;
    const file = gatewayConfigFile({ providers: [{ name: 'oai', base_url: url, api_key_env: 'UP_KEY' }], routes: { 'gpt-*': 'oai' } });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.close();
  });

  const newKey = async () => (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k' } })).body as { id: string; value: string };
  const nestedTool = (depth: number) => `{"type":"function","function":{"name":"f","parameters":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}`;
  const post = (key: string, body: string, path = '/v1/chat/completions', headers: Record<string, string> = {}) =>
    fetch(`${t.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body });

  it.each([
    ['objects in a tool', (d: number) => `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"tools":[${nestedTool(d)}]}`],
    ['arrays in a message', (d: number) => `{"model":"gpt-4o","messages":[{"role":"user","content":"hi","x":${'['.repeat(d)}${']'.repeat(d)}}]}`],
  ])('%s: 400 invalid_json past the bound, nothing forwarded; at the bound, forwarded and billed', async (_what, body) => {
    const key = await newKey();
    const before = calls;
    for (const depth of [MAX_JSON_DEPTH + 1, 5000, 1_000_000]) {
      const res = await post(key.value, body(depth));
      expect(res.status).toBe(400);
      const error = (await res.json()).error;
      expect(error.code).toBe('invalid_json');
      expect(error.message).toContain(`${MAX_JSON_DEPTH} levels`);
    }
    expect(calls).toBe(before);
    // The outer object and the tool list take levels too: a depth well inside the bound goes through.
    const res = await post(key.value, body(MAX_JSON_DEPTH - 10));
    expect(res.status).toBe(200);
    expect(calls).toBe(before + 1);
    const [event] = await usageEventsOf(t, key.id);
    expect(event.billable).toBeTruthy();
    expect(Number(event.input_tokens)).toBeGreaterThan(MAX_JSON_DEPTH);
  });

  it("the OpenAI SDK's client gets the refusal as a BadRequestError", async () => {
    const key = await newKey();
    const client = new OpenAI({ apiKey: key.value, baseURL: `${t.url}/v1`, maxRetries: 0 });
    let deep: unknown = 1;
    for (let i = 0; i < 2000; i++) deep = { a: deep };
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'f', parameters: deep as Record<string, unknown> } }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.code).toBe('invalid_json');
  });

  it('on the admin API too: 400', async () => {
    const res = await t.api('POST', `${ORG}/projects`, { raw: `{"name":"p","x":${'['.repeat(5000)}${']'.repeat(5000)}}` });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_json');
  });
});
