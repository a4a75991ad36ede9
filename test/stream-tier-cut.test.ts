import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costNanoUsd, DEFAULT_PRICES } from '../src/core/pricing.js';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// A stream its client hangs up on before its usage is billed by the tokens counted, at the tier the answer named
// (docs/metering.md, "Service tiers"). Found by an outside review: the tier was read only from the usage chunk (chat)
// or the final Response, so a stream OpenAI ran at priority (a project whose default tier is priority, the request
// asking `auto` or nothing) and cut before its usage was billed at the standard rates, its tier recorded as asked.

const ORG = '/v1/organization';

describe('a stream cut before its usage is billed at the tier its events named', () => {
  let t: TestServer;
  let upstream: Server;
  let aborted = 0;

  beforeAll(async () => {
    upstream = createServer(async (req, res) => {
      let text = '';
      for await (const c of req) text += c;
      const body = JSON.parse(text) as { model: string };
      let closed = false;
      res.on('close', () => {
        if (!res.writableFinished) closed = true;
      });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const responses = req.url?.endsWith('/responses') === true;
      const sse = (data: Record<string, unknown>) => `${responses ? `event: ${data.type}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
      const chunk = (content: string) => ({
        id: 'chatcmpl-1',
        object: 'chat.completion.chunk',
        created: 1,
        model: body.model,
        service_tier: 'priority',
        system_fingerprint: null,
        choices: [{ index: 0, delta: { content }, finish_reason: null }],
        usage: null,
      });
      const response = { id: 'resp_1', object: 'response', created_at: 1, status: 'in_progress', model: body.model, output: [], service_tier: 'priority', usage: null };
      if (responses) {
        res.write(sse({ type: 'response.created', sequence_number: 0, response }));
        res.write(sse({ type: 'response.output_text.delta', sequence_number: 1, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'word one word two' }));
      } else res.write(sse(chunk('word one word two')));
      for (let i = 0; i < 50 && !closed; i++) await new Promise((r) => setTimeout(r, 20));
      if (closed) aborted++;
      res.end();
    });
    const url = `${await listenOnLoopback(upstream)}/v1`;
    const file = gatewayConfigFile({ providers: [{ name: 'oai', base_url: url, api_key_env: 'UP_KEY' }], routes: { 'gpt-*': 'oai' } });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    upstream?.close();
  });

  it.each([
    ['a chat stream asking no tier', '/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }] }],
    ['a chat stream asking auto', '/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], service_tier: 'auto' }],
    ['a Responses stream asking auto', '/v1/responses', { input: 'hi', service_tier: 'auto' }],
  ])('%s: priority, at priority rates', async (_name, path, body) => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'tier' } })).body as { id: string; value: string };
    const before = aborted;
    const abort = new AbortController();
    const res = await fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4.1', stream: true, ...body }),
      signal: abort.signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let got = '';
    while (!got.includes('word two')) got += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    const [row] = await usageEventsOf(t, key.id);
    for (let i = 0; i < 100 && aborted === before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(aborted).toBe(before + 1);
    expect(row).toMatchObject({ outcome: 'client_aborted', service_tier: 'priority' });
    const tokens = { input: Number(row.input_tokens), cached: Number(row.cached_tokens ?? 0), output: Number(row.output_tokens) };
    expect(tokens.output).toBeGreaterThan(0);
    expect(Number(row.cost_nanousd)).toBe(costNanoUsd(DEFAULT_PRICES['gpt-4.1'], tokens, 'priority'));
    expect(Number(row.cost_nanousd)).toBeGreaterThan(costNanoUsd(DEFAULT_PRICES['gpt-4.1'], tokens));
  });
});
