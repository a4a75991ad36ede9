import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SSE_EVENT_BYTES } from '../src/core/sse.js';
import { startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// A stream event is held until its blank line comes, to be inspected whole; an upstream that never sent one grew the
// gateway's memory without end (and a large event cost CPU quadratic in its size). Past MAX_SSE_EVENT_BYTES the
// stream is cut: its client gets the error event of its API, and it is billed as a cut stream, for what it delivered.

const ORG = '/v1/organization';
const TEXT = 'the quick brown fox jumps over the lazy dog. '.repeat(20);

/** An upstream that sends some text, then one event that never ends, MAX_SSE_EVENT_BYTES + 1 MiB long. */
async function startFlood(): Promise<{ server: Server; url: string }> {
  const mib = Buffer.alloc(1024 * 1024, 0x41);
  const server = createServer(async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    const body = JSON.parse(text) as { model: string };
    const anthropic = req.url?.endsWith('/messages') === true;
    const ev = (type: string, o: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...o })}\n\n`;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.on('error', () => {});
    if (anthropic) {
      res.write(ev('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], model: body.model, stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } } }));
      res.write(ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
      res.write(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: TEXT } }));
      res.write('event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"');
    } else {
      res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [{ index: 0, delta: { role: 'assistant', content: TEXT }, finish_reason: null }] })}\n\n`);
      res.write('data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"');
    }
    for (let sent = 0; sent <= MAX_SSE_EVENT_BYTES && !res.destroyed; sent += mib.length) {
      if (res.write(mib)) continue;
      await new Promise<void>((r) => {
        const go = () => {
          res.off('drain', go).off('close', go);
          r();
        };
        res.on('drain', go).on('close', go);
      });
    }
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
}

describe('a stream event past the bound', () => {
  let t: TestServer;
  let flood: { server: Server; url: string };

  beforeAll(async () => {
    flood = await startFlood();
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-flood-')), 'tollgate.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        providers: [
          { name: 'ant', kind: 'anthropic', base_url: flood.url, api_key_env: 'FLOOD_KEY' },
          { name: 'oai', base_url: flood.url, api_key_env: 'FLOOD_KEY' },
        ],
        routes: { 'claude-*': 'ant', 'gpt-*': 'oai' },
      }),
    );
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, FLOOD_KEY: 'sk-flood-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    flood?.server.close();
  });

  /** Streams a request to its end; returns what the client read and the request's usage event. */
  async function run(path: string, model: string) {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'flood' } })).body as { id: string; value: string };
    const headers: Record<string, string> = { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' };
    if (path === '/v1/messages') headers['anthropic-version'] = '2023-06-01';
    const res = await fetch(`${t.url}${path}`, { method: 'POST', headers, body: JSON.stringify({ model, max_tokens: 4000, messages: [{ role: 'user', content: 'hi' }], stream: true }) });
    expect(res.status).toBe(200);
    const text = await res.text();
    return { text, usage: (await usageEventsOf(t, key.id))[0] };
  }

  const cases = [
    ['/v1/chat/completions', 'gpt-4o-mini', 'native OpenAI', 'data: {"error":{"message":"The upstream stream sent an event larger than 128 MiB'],
    ['/v1/messages', 'claude-sonnet-4-5', 'native Anthropic', 'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"The upstream stream sent an event larger than 128 MiB'],
    ['/v1/chat/completions', 'claude-sonnet-4-5', 'translated to OpenAI', 'data: {"error":{"message":"The upstream stream sent an event larger than 128 MiB'],
    ['/v1/messages', 'gpt-4o-mini', 'translated to Anthropic', 'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"The upstream stream sent an event larger than 128 MiB'],
  ] as const;

  for (const [path, model, name, error] of cases) {
    it(`ends the client's stream with its API's error event and bills it as cut (${name})`, async () => {
      const { text, usage } = await run(path, model);
      expect(text).toContain('quick brown fox');
      expect(text).toContain(error);
      // The last event.
      expect(text.slice(0, -2).split('\n\n').at(-1)).toContain('the stream was cut there.');
      expect(text.length).toBeLessThan(64 * 1024);
      expect(usage.outcome).toBe('stream_interrupted');
      // The text it delivered (200 tokens) is billed at least.
      expect(usage.output_tokens).toBeGreaterThanOrEqual(200);
    }, 60_000);
  }
});
