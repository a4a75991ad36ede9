import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { brotliCompressSync, createGzip, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayForBothKinds, type TestServer, usageEventsOf } from './harness/server.js';
import { readEvents } from './harness/sse.js';

// An upstream that compresses its answers. Tollgate sent no Accept-Encoding (RFC 9110 §12.5.3: its absence means any
// coding is acceptable), never decoded, and dropped Content-Encoding towards the client. Found by a review: a gzip or br
// chat answer was a 502 "malformed JSON" billed nothing (the provider billed 111/222); a gzip stream a 200 of raw gzip
// bytes and a cut-off error, billed no output; speech a 200 audio/mpeg of gzip bytes without Content-Encoding (a
// corrupt file); GET /v1/files a 502. Now every upstream request asks for `identity`, and an answer coded anyway
// (gzip, x-gzip, deflate, br) is decoded as it arrives; a coding Tollgate cannot decode is a 502 saying so.

const ORG = '/v1/organization';
const AUDIO = randomBytes(64 * 1024);
const USAGE = { prompt_tokens: 111, completion_tokens: 222, total_tokens: 333 };

/** The coding the upstream answers in next (whatever it was asked for), and the Accept-Encoding each request carried. */
let coding = 'gzip';
const asked: Array<string | undefined> = [];

function encode(buf: Buffer): Buffer {
  if (coding === 'gzip' || coding === 'x-gzip') return gzipSync(buf);
  if (coding === 'br') return brotliCompressSync(buf);
  if (coding === 'deflate') return deflateSync(buf);
  if (coding === 'deflate-raw') return deflateRawSync(buf);
  if (coding === 'gzip, br') return brotliCompressSync(gzipSync(buf));
  return buf;
}
const header = () => (coding === 'deflate-raw' ? 'deflate' : coding);

function upstream(): Server {
  return createServer(async (req, res) => {
    asked.push(req.headers['accept-encoding']);
    let text = '';
    for await (const c of req) text += c;
    const body = text ? (JSON.parse(text) as { model?: string; stream?: boolean }) : {};
    const send = (type: string, payload: Buffer) => {
      res.writeHead(200, { 'content-type': type, 'content-encoding': header() });
      res.end(encode(payload));
    };
    if (req.url?.endsWith('/audio/speech')) return send('audio/mpeg', AUDIO);
    if (req.url?.endsWith('/files')) return send('application/json', Buffer.from(JSON.stringify({ object: 'list', data: [], has_more: false })));
    if (body.stream) {
      const chunk = (o: object) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model, ...o })}\n\n`;
      const events = [
        chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'the quick brown fox' }, finish_reason: null }] }),
        chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
        chunk({ choices: [], usage: USAGE }),
        'data: [DONE]\n\n',
      ];
      if (coding !== 'gzip') return send('text/event-stream', Buffer.from(events.join('')));
      // As a compressing server streams: one gzip stream, flushed at every event.
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
      const gz = createGzip();
      gz.pipe(res);
      for (const ev of events) {
        gz.write(ev);
        await new Promise<void>((r) => gz.flush(() => r()));
        await new Promise((r) => setTimeout(r, 5));
      }
      gz.end();
      return;
    }
    const answer = { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: 'hi there' }, finish_reason: 'stop' }], usage: USAGE };
    send('application/json', Buffer.from(JSON.stringify(answer)));
  });
}

/** One request over node:http, which (unlike fetch) decodes nothing: the bytes and headers as the gateway sent them. */
function raw(url: string, method: string, key: string, body?: object): Promise<{ status: number; headers: Record<string, unknown>; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'accept-encoding': 'gzip, deflate, br' } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('an upstream that answers compressed', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await gatewayForBothKinds(upstream());
  });
  afterAll(async () => {
    await t?.close();
  });

  const newKey = async () => (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'coded' } })).body as { id: string; value: string };
  const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

  it('is asked for identity, whatever the client accepts', async () => {
    coding = 'identity';
    asked.length = 0;
    const key = await newKey();
    expect((await raw(`${t.url}/v1/chat/completions`, 'POST', key.value, chat)).status).toBe(200);
    expect((await raw(`${t.url}/v1/files`, 'GET', key.value)).status).toBe(200);
    expect(asked).toEqual(['identity', 'identity']);
  });

  for (const c of ['gzip', 'x-gzip', 'br', 'deflate', 'deflate-raw', 'gzip, br']) {
    it(`a chat answer in ${c} reaches the client decoded, billed its usage`, async () => {
      coding = c;
      const key = await newKey();
      const res = await raw(`${t.url}/v1/chat/completions`, 'POST', key.value, chat);
      expect(res.status).toBe(200);
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(JSON.parse(res.bytes.toString('utf8')).choices[0].message.content).toBe('hi there');
      expect(Number(res.headers['content-length'])).toBe(res.bytes.length);
      const [usage] = await usageEventsOf(t, key.id);
      expect(usage).toMatchObject({ outcome: 'ok', input_tokens: 111, output_tokens: 222 });
    });
  }

  it('a gzip stream reaches the client as its events, billed its usage, the usage chunk it did not ask for left out', async () => {
    coding = 'gzip';
    const key = await newKey();
    const res = await raw(`${t.url}/v1/chat/completions`, 'POST', key.value, { ...chat, stream: true });
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBeUndefined();
    const events = readEvents(res.bytes.toString('utf8'));
    expect(events.map((e) => (e.data === '[DONE]' ? e.data : (e.data as { choices: unknown[] }).choices.length))).toEqual([1, 1, '[DONE]']);
    const [usage] = await usageEventsOf(t, key.id);
    expect(usage).toMatchObject({ outcome: 'ok', input_tokens: 111, output_tokens: 222 });
  });

  it('speech in gzip reaches the client as the audio it is, never coded bytes without their Content-Encoding', async () => {
    coding = 'gzip';
    const key = await newKey();
    const res = await raw(`${t.url}/v1/audio/speech`, 'POST', key.value, { model: 'gpt-4o-mini-tts', input: 'hello world', voice: 'alloy' });
    expect(res.status, res.bytes.toString().slice(0, 300)).toBe(200);
    expect(res.headers['content-type']).toBe('audio/mpeg');
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.bytes.equals(AUDIO)).toBe(true);
  });

  it('a list in br is read (and filtered) as JSON', async () => {
    coding = 'br';
    const key = await newKey();
    const res = await raw(`${t.url}/v1/files`, 'GET', key.value);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.bytes.toString('utf8'))).toMatchObject({ object: 'list', data: [] });
  });

  it('a coding Tollgate cannot decode is a 502 naming it, never its bytes', async () => {
    coding = 'zstd';
    const key = await newKey();
    const res = await raw(`${t.url}/v1/audio/speech`, 'POST', key.value, { model: 'gpt-4o-mini-tts', input: 'hello world', voice: 'alloy' });
    expect(res.status).toBe(502);
    expect(JSON.parse(res.bytes.toString('utf8')).error.message).toContain('zstd');
  });
});
