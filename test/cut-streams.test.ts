import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// A stream its client hangs up on before the end is billed at least for the output it delivered. Found by an outside
// review: Anthropic's message_start reports 1 output token and only message_delta (at the end) the real count, so a
// client that read 90% of a Claude answer and closed the connection was billed 1 output token, on /v1/messages and
// through translation alike; a chat stream cut in the middle of a tool call's arguments was billed none of them.

const ORG = '/v1/organization';
const PIECE = 'the quick brown fox jumps over the lazy dog. ';
const PIECES = 100;
/** Pieces the client reads before it hangs up; each is 10 tokens with o200k, so at least this many × 10 are billed. */
const READ = 60;
const REPORTED_OUTPUT = 1100;
const FINAL_BEFORE_CUT = 50;

/** An upstream that drips its answer in PIECES pieces, 5 ms apart, reporting the real usage only at the end. */
async function startDrip(): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    const body = JSON.parse(text) as { model: string; tools?: unknown[] };
    const anthropic = req.url?.endsWith('/messages') === true;
    const ev = (type: string, o: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...o })}\n\n`;
    const chunk = (delta: object, extra: object = {}) =>
      `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`;
    const tool = Array.isArray(body.tools);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (anthropic) {
      res.write(ev('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], model: body.model, stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } } }));
      res.write(ev('content_block_start', { index: 0, content_block: tool ? { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} } : { type: 'text', text: '' } }));
    } else res.write(chunk(tool ? { role: 'assistant', tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } }] } : { role: 'assistant', content: '' }));
    let i = 0;
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      const piece = tool ? JSON.stringify(PIECE).slice(1, -1) : PIECE;
      if (anthropic) res.write(ev('content_block_delta', { index: 0, delta: tool ? { type: 'input_json_delta', partial_json: piece } : { type: 'text_delta', text: piece } }));
      else res.write(chunk(tool ? { tool_calls: [{ index: 0, function: { arguments: piece } }] } : { content: piece }));
      if (++i < PIECES) return;
      clearInterval(timer);
      if (anthropic) {
        res.write(ev('content_block_stop', { index: 0 }));
        // `…-nostop`: the final usage (a count of its own, below the tokenizer's), then the connection breaks.
        const nostop = body.model.endsWith('-nostop');
        res.write(ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: nostop ? FINAL_BEFORE_CUT : REPORTED_OUTPUT } }));
        if (nostop) setTimeout(() => res.socket?.destroy(), 20);
        else res.end(ev('message_stop', {}));
      } else {
        res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [], usage: { prompt_tokens: 10, completion_tokens: REPORTED_OUTPUT, total_tokens: 1110 } })}\n\n`);
        res.end('data: [DONE]\n\n');
      }
    }, 5);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
}

describe('streams cut by their client are billed for the output they delivered', () => {
  let t: TestServer;
  let drip: { server: Server; url: string };

  beforeAll(async () => {
    drip = await startDrip();
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-cut-')), 'tollgate.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        providers: [
          { name: 'ant', kind: 'anthropic', base_url: drip.url, api_key_env: 'DRIP_KEY' },
          { name: 'oai', base_url: drip.url, api_key_env: 'DRIP_KEY' },
        ],
        routes: { 'claude-*': 'ant', 'gpt-*': 'oai' },
      }),
    );
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, DRIP_KEY: 'sk-drip-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    drip?.server.close();
  });

  /** Streams a request, hangs up after READ pieces (or reads it all), and returns its usage event. */
  async function run(path: string, body: Record<string, unknown>, readAll = false) {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'cut' } })).body as { id: string; value: string };
    const abort = new AbortController();
    const headers: Record<string, string> = { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' };
    if (path === '/v1/messages') headers['anthropic-version'] = '2023-06-01';
    const res = await fetch(`${t.url}${path}`, { method: 'POST', headers, body: JSON.stringify({ ...body, stream: true }), signal: abort.signal });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let seen = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += decoder.decode(value, { stream: true }).split('quick').length - 1;
      if (!readAll && seen >= READ) {
        abort.abort();
        break;
      }
    }
    return (await usageEventsOf(t, key.id))[0];
  }

  const ask = { max_tokens: 4000, messages: [{ role: 'user', content: 'hi' }] };
  const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }];

  it("Anthropic's Messages API, native: text, and a tool's input", async () => {
    const text = await run('/v1/messages', { model: 'claude-sonnet-4-5', ...ask });
    expect(text.outcome).toBe('client_aborted');
    expect(text.output_tokens).toBeGreaterThanOrEqual(READ * 10);
    const tool = await run('/v1/messages', { model: 'claude-sonnet-4-5', ...ask, tools: [{ name: 'f', input_schema: { type: 'object' } }] });
    expect(tool.output_tokens).toBeGreaterThanOrEqual(READ * 5);
  });

  it('an OpenAI client calling a Claude model (translated)', async () => {
    const text = await run('/v1/chat/completions', { model: 'claude-sonnet-4-5', ...ask });
    expect(text.outcome).toBe('client_aborted');
    expect(text.output_tokens).toBeGreaterThanOrEqual(READ * 10);
    const tool = await run('/v1/chat/completions', { model: 'claude-sonnet-4-5', ...ask, tools });
    expect(tool.output_tokens).toBeGreaterThanOrEqual(READ * 5);
  });

  it("an Anthropic client calling an OpenAI model (translated), and OpenAI's own chat stream of tool arguments", async () => {
    const tool = await run('/v1/messages', { model: 'gpt-4o-mini', ...ask, tools: [{ name: 'f', input_schema: { type: 'object' } }] });
    expect(tool.outcome).toBe('client_aborted');
    expect(tool.output_tokens).toBeGreaterThanOrEqual(READ * 5);
    const chat = await run('/v1/chat/completions', { model: 'gpt-4o-mini', ...ask, tools });
    expect(chat.outcome).toBe('client_aborted');
    expect(chat.output_tokens).toBeGreaterThanOrEqual(READ * 5);
  });

  it("a stream cut after its final usage (Anthropic's message_delta) is billed that usage, not a count", async () => {
    const cut = await run('/v1/messages', { model: 'claude-sonnet-4-5-nostop', ...ask }, true);
    expect(cut.outcome).toBe('stream_interrupted');
    expect(cut.output_tokens).toBe(FINAL_BEFORE_CUT);
    expect((await run('/v1/chat/completions', { model: 'claude-sonnet-4-5-nostop', ...ask }, true)).output_tokens).toBe(FINAL_BEFORE_CUT);
  });

  it('a stream read to its end is billed what the upstream reported, not a count', async () => {
    expect((await run('/v1/messages', { model: 'claude-sonnet-4-5', ...ask }, true)).output_tokens).toBe(REPORTED_OUTPUT);
    expect((await run('/v1/chat/completions', { model: 'claude-sonnet-4-5', ...ask }, true)).output_tokens).toBe(REPORTED_OUTPUT);
    expect((await run('/v1/chat/completions', { model: 'gpt-4o-mini', ...ask }, true)).output_tokens).toBe(REPORTED_OUTPUT);
  });
});
