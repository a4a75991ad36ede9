import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// OpenAI's image streams (POST /images/generations and /images/edits with `stream: true`) end after their
// `image_generation.completed` / `image_edit.completed` event, and a transcription stream after `transcript.text.done`:
// neither sends `data: [DONE]` (openapi.yaml's examples). Found by a billing review: the relay waited for [DONE], so
// every finished stream got the cut-off error appended (the official SDK threw "The upstream stream ended
// unexpectedly" after the final image or transcript) and was recorded stream_interrupted.

const ORG = '/v1/organization';
const IMAGE_USAGE = { total_tokens: 4210, input_tokens: 50, output_tokens: 4160, input_tokens_details: { text_tokens: 40, image_tokens: 10 } };
/** gpt-image-1: $5 text input, $10 image input, $40 image output per 1M tokens. */
const IMAGE_COST = 40 * 5000 + 10 * 10_000 + 4160 * 40_000;
const TRANSCRIPT_USAGE = { type: 'tokens', input_tokens: 14, input_token_details: { text_tokens: 0, audio_tokens: 14 }, output_tokens: 45, total_tokens: 59 };
/** gpt-4o-transcribe: $6 audio input, $10 output per 1M tokens. */
const TRANSCRIPT_COST = 14 * 6000 + 45 * 10_000;

/**
 * Streams as OpenAI sends them. The prompt picks an ending: `done` adds a [DONE] (as compatible servers may), `cut`
 * ends cleanly before the completed event, `reset` breaks the connection after the first of two images.
 */
async function startMediaUpstream(): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('latin1');
    const multipart = String(req.headers['content-type']).startsWith('multipart/');
    const prompt = multipart ? (/name="prompt"\r\n\r\n([^\r]*)/.exec(raw)?.[1] ?? '') : String(JSON.parse(raw).prompt ?? '');
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const event = (type: string, o: object) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...o })}\n\n`);
    const path = req.url?.split('?')[0];
    if (path === '/v1/audio/transcriptions') {
      // Transcription events carry no `event:` line (openapi.yaml's example).
      for (const delta of ['I see', ' skies']) res.write(`data: ${JSON.stringify({ type: 'transcript.text.delta', delta })}\n\n`);
      if (prompt === 'cut') return res.end();
      res.write(`data: ${JSON.stringify({ type: 'transcript.text.done', text: 'I see skies', usage: TRANSCRIPT_USAGE })}\n\n`);
    } else {
      const kind = path === '/v1/images/edits' ? 'image_edit' : 'image_generation';
      const image = { b64_json: 'iVBORw0KGgo=', created_at: 1, size: '1024x1024', quality: 'low', background: 'opaque', output_format: 'png' };
      event(`${kind}.partial_image`, { ...image, partial_image_index: 0 });
      if (prompt === 'cut') return res.end();
      event(`${kind}.completed`, { ...image, usage: IMAGE_USAGE });
      if (prompt === 'reset') {
        event(`${kind}.partial_image`, { ...image, partial_image_index: 0 });
        await new Promise((r) => setTimeout(r, 50));
        return req.socket.destroy();
      }
    }
    if (prompt === 'done') res.write('data: [DONE]\n\n');
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
}

describe('image and transcription streams end as OpenAI ends them, without [DONE]', () => {
  let up: Awaited<ReturnType<typeof startMediaUpstream>>;
  let t: TestServer;
  beforeAll(async () => {
    up = await startMediaUpstream();
    const file = gatewayConfigFile({ providers: [{ name: 'oai', base_url: up.url, api_key_env: 'UP_KEY' }] });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });

  const newClient = async () => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'media' } })).body as { id: string; value: string };
    return { key, client: new OpenAI({ baseURL: `${t.url}/v1`, apiKey: key.value, maxRetries: 0 }) };
  };
  const png = () => toFile(Buffer.from('\x89PNG\r\n\x1a\nfake'), 'a.png', { type: 'image/png' });
  const audio = () => toFile(Buffer.from('OggS fake audio'), 'a.ogg', { type: 'audio/ogg' });

  /** Reads a stream to its end with the SDK: the types of its events, and the error it threw, if any. */
  async function read(stream: AsyncIterable<{ type: string }>): Promise<{ types: string[]; error: string | null }> {
    const types: string[] = [];
    try {
      for await (const e of stream) types.push(e.type);
      return { types, error: null };
    } catch (err) {
      return { types, error: String((err as Error).message) };
    }
  }

  const KINDS = ['generation', 'edit', 'transcription'] as const;
  /** Opens one kind of stream with the SDK: its last event's type when finished, its cost, and the stream. */
  async function open(client: OpenAI, kind: (typeof KINDS)[number], prompt: string): Promise<{ last: string; cost: number; stream: AsyncIterable<{ type: string }> }> {
    const image = { model: 'gpt-image-1', prompt, stream: true, partial_images: 1, quality: 'low', size: '1024x1024' } as const;
    if (kind === 'generation') return { last: 'image_generation.completed', cost: IMAGE_COST, stream: await client.images.generate(image) };
    if (kind === 'edit') return { last: 'image_edit.completed', cost: IMAGE_COST, stream: await client.images.edit({ ...image, image: await png() }) };
    return { last: 'transcript.text.done', cost: TRANSCRIPT_COST, stream: await client.audio.transcriptions.create({ model: 'gpt-4o-transcribe', file: await audio(), prompt, stream: true }) };
  }

  for (const ending of ['', 'done']) {
    it(`a finished stream${ending ? ' (with a [DONE] after it)' : ''}: no error for the SDK, outcome ok, billed its usage`, async () => {
      for (const kind of KINDS) {
        const { key, client } = await newClient();
        const { last, cost, stream } = await open(client, kind, ending);
        const result = await read(stream);
        expect({ kind, error: result.error, last: result.types.at(-1) }).toEqual({ kind, error: null, last });
        const [e] = await usageEventsOf(t, key.id);
        expect({ kind, outcome: e.outcome, cost: Number(e.cost_nanousd), unpriced: Number(e.unpriced) }).toEqual({ kind, outcome: 'ok', cost, unpriced: 0 });
      }
    });
  }

  it('a stream that ends before its completed event still gets the cut-off error and is recorded interrupted', async () => {
    for (const kind of KINDS) {
      const { key, client } = await newClient();
      const result = await read((await open(client, kind, 'cut')).stream);
      expect(result.error, kind).toMatch(/The upstream stream ended unexpectedly/);
      const [e] = await usageEventsOf(t, key.id);
      expect(e.outcome, kind).toBe('stream_interrupted');
    }
  });

  it('an image stream broken off after a completed event, before its end, is interrupted all the same', async () => {
    const { key, client } = await newClient();
    const stream = await client.images.generate({ model: 'gpt-image-1', prompt: 'reset', n: 2, stream: true, quality: 'low', size: '1024x1024' });
    const result = await read(stream);
    expect(result.types).toContain('image_generation.completed');
    expect(result.error).toMatch(/The upstream stream ended unexpectedly/);
    const [e] = await usageEventsOf(t, key.id);
    expect({ outcome: e.outcome, cost: Number(e.cost_nanousd) }).toEqual({ outcome: 'stream_interrupted', cost: IMAGE_COST });
  });
});
