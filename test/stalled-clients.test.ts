import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// A client that never reads its answer is cut after TOLLGATE_CLIENT_STALL_TIMEOUT_MS. Found by an outside review: the
// relays pause reading the upstream while the client's socket is full, so a key that opened streams and read nothing
// held every connection of a provider's shared pool until the request's total deadline (600 s by default); with a
// two-connection pool and a 5 s deadline, two such streams made another project's plain request wait 4.7 s.

const ORG = '/v1/organization';
const STALL_MS = 1000;
/** Far longer than the stall timeout: a request that waits for it shows the stalled stream was not cut. */
const TOTAL_MS = 10_000;
/**
 * Under it, another request did not wait for the stalled one's deadline: the bound the tests assert, well above the stall
 * timeout (a busy machine took 4.2 s to cut a stalled 20 MB stream and serve the other request: it still passes).
 */
const WAITED_FOR_DEADLINE = TOTAL_MS - 1000;
/** More than the loopback sockets between the gateway and a client that reads nothing can hold (a few MB). */
const LARGE = 20 * 1024 * 1024;
const INPUT = 777;
const OUTPUT = 4321;

const chunk = (model: string, content: string, finish: string | null, index = 0) =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model, choices: [{ index, delta: { content }, finish_reason: finish }] })}\n\n`;
const usageChunk = (model: string) =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model, choices: [], usage: { prompt_tokens: INPUT, completion_tokens: OUTPUT, total_tokens: INPUT + OUTPUT } })}\n\n`;
const anthropicEvent = (type: string, o: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...o })}\n\n`;

/**
 * An upstream that writes each answer at once: a LARGE stream (OpenAI's or Anthropic's), a LARGE file, or a small JSON
 * answer. A chat stream with `user: 'finished'` shows a finish_reason first: its generation is over (as the gateway
 * reads it) by the time the gateway first finds the client's socket full.
 */
async function startUpstream(): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    const path = (req.url ?? '').split('?')[0];
    if (path.endsWith('/content')) {
      const size = path.includes('file-big') ? LARGE : 100;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
      return res.end(Buffer.alloc(size, 0x61));
    }
    const body = JSON.parse(text) as { model: string; stream?: boolean; user?: string };
    const anthropic = path.endsWith('/messages');
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      const usage = anthropic ? { input_tokens: 10, output_tokens: 20 } : { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 };
      const answer = anthropic
        ? { id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', stop_sequence: null, usage }
        : { id: 'c', object: 'chat.completion', created: 1, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage };
      return res.end(JSON.stringify(answer));
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (anthropic) {
      res.write(anthropicEvent('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], model: body.model, stop_reason: null, stop_sequence: null, usage: { input_tokens: INPUT, output_tokens: 1 } } }));
      res.write(anthropicEvent('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
      const delta = anthropicEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'x'.repeat(4000) } });
      for (let i = 0; i < LARGE / 4000; i++) res.write(delta);
      res.write(anthropicEvent('content_block_stop', { index: 0 }));
      res.write(anthropicEvent('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: OUTPUT } }));
      return res.end(anthropicEvent('message_stop', {}));
    }
    // `n: 2` with `user: 'finished'`: the first choice is over at once (a finish_reason: the generation is over as far
    // as the gateway can tell), the second's LARGE text follows.
    const second = body.user === 'finished';
    if (second) res.write(chunk(body.model, 'done', 'stop'));
    const piece = chunk(body.model, 'x'.repeat(4000), null, second ? 1 : 0);
    for (let i = 0; i < LARGE / 4000; i++) res.write(piece);
    res.write(chunk(body.model, '', 'stop', second ? 1 : 0));
    res.write(usageChunk(body.model));
    res.end('data: [DONE]\n\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
}

describe('a client that reads nothing is cut, and frees its provider connection', () => {
  let t: TestServer;
  let up: { server: Server; url: string };
  const sockets: net.Socket[] = [];

  beforeAll(async () => {
    up = await startUpstream();
    // One connection per provider: a stalled stream that kept its connection would hold up every other request.
    const provider = (name: string, kind?: string) => ({ name, ...(kind ? { kind } : {}), base_url: up.url, api_key_env: 'UP_KEY', connections: 1, timeouts: { total_ms: TOTAL_MS } });
    const file = gatewayConfigFile({
      providers: [provider('oai'), provider('ant', 'anthropic'), provider('files')],
      routes: { 'gpt-*': 'oai', 'claude-*': 'ant' },
      default_provider: 'files',
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000', TOLLGATE_CLIENT_STALL_TIMEOUT_MS: String(STALL_MS) } });
    expect((await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/upstream_objects`, { body: { id: 'file-big' } })).status).toBe(200);
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await t?.close();
    up?.server.close();
  });

  const newKey = async (project = t.defaultProjectId): Promise<{ id: string; value: string }> =>
    (await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'k' } })).body;

  /** Sends a request on a raw socket and never reads its answer. */
  function neverRead(key: string, method: string, path: string, body: unknown = null): void {
    const text = body === null ? '' : JSON.stringify(body);
    const s = net.connect(Number(new URL(t.url).port), '127.0.0.1');
    s.on('error', () => {});
    s.pause();
    s.write(`${method} ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
    sockets.push(s);
  }

  const chat = (key: string, model: string, extra: Record<string, unknown> = {}) =>
    fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...extra }),
    });

  /** Another project's request to the same provider: answered once the stalled one's connection is free. */
  async function otherProject(send: (key: string) => Promise<Response>, objects: string[] = []): Promise<number> {
    const project = (await t.api('POST', `${ORG}/projects`, { body: { name: 'neighbour' } })).body.id as string;
    for (const id of objects) expect((await t.api('POST', `${ORG}/projects/${project}/upstream_objects`, { body: { id } })).status).toBe(200);
    const key = await newKey(project);
    // The stalled request has its connection (and the client's socket is full) by now.
    await new Promise((r) => setTimeout(r, 300));
    const started = performance.now();
    const res = await send(key.value);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    return performance.now() - started;
  }

  it.each([
    ['an OpenAI chat stream', 'gpt-4o-mini'],
    ['a chat stream translated from a Claude model', 'claude-sonnet-4-5'],
  ])('%s: another project is answered after the stall timeout, not the total deadline; the stream is metered client_aborted', async (_name, model) => {
    const stalled = await newKey();
    neverRead(stalled.value, 'POST', '/v1/chat/completions', { model, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const took = await otherProject((key) => chat(key, model));
    expect(took).toBeLessThan(WAITED_FOR_DEADLINE);
    const [row] = await usageEventsOf(t, stalled.id);
    expect(row).toMatchObject({ outcome: 'client_aborted', billable: 1, streamed: 1, status: 200 });
    // Billed for what it was sent before it stalled, counted by the tokenizer (no usage came).
    expect(Number(row.output_tokens)).toBeGreaterThan(0);
  }, 20_000);

  it('a large file download passed through: the same', async () => {
    const stalled = await newKey();
    neverRead(stalled.value, 'GET', '/v1/files/file-big/content');
    const took = await otherProject((key) => fetch(`${t.url}/v1/files/file-small/content`, { headers: { authorization: `Bearer ${key}` } }), ['file-small']);
    expect(took).toBeLessThan(WAITED_FOR_DEADLINE);
    const [row] = await usageEventsOf(t, stalled.id);
    expect(row).toMatchObject({ outcome: 'client_aborted', status: 200, endpoint: '/files/{file_id}/content' });
  }, 20_000);

  it('a stream whose generation was over when its client stalled is read to its end and billed its usage', async () => {
    const stalled = await newKey();
    neverRead(stalled.value, 'POST', '/v1/chat/completions', { model: 'gpt-4o-mini', stream: true, n: 2, user: 'finished', messages: [{ role: 'user', content: 'hi' }] });
    const took = await otherProject((key) => chat(key, 'gpt-4o-mini'));
    expect(took).toBeLessThan(WAITED_FOR_DEADLINE);
    const [row] = await usageEventsOf(t, stalled.id);
    expect(row).toMatchObject({ outcome: 'client_aborted', billable: 1, input_tokens: INPUT, output_tokens: OUTPUT, status: 200 });
  }, 20_000);

  it('a client that reads slowly but steadily is not cut', async () => {
    const key = await newKey();
    const res = await chat(key.value, 'gpt-4o-mini', { stream: true });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const started = performance.now();
    let got = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      got += value.length;
      // About 10 MB/s: the 20 MB answer takes twice the stall timeout.
      await new Promise((r) => setTimeout(r, Math.max(1, value.length / 10_000)));
    }
    expect(performance.now() - started).toBeGreaterThan(STALL_MS);
    expect(got).toBeGreaterThan(LARGE);
    const [row] = await usageEventsOf(t, key.id);
    expect(row).toMatchObject({ outcome: 'ok', input_tokens: INPUT, output_tokens: OUTPUT });
  }, 20_000);
});
