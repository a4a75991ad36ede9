import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// A GPT Image answer over the 8 MiB the gateway holds in memory (n=4 at high quality as b64_json is ~4 × 3 MiB) goes
// through as it arrives, unread. Found by a billing review: it was billed the plan's estimate, not the usage OpenAI
// puts at the end of the answer. That usage is now read from the answer's last bytes as they pass.

const ORG = '/v1/organization';
const B64 = 'A'.repeat(3 * 1024 * 1024);
/** What the upstream reports for n images: 20 text input tokens, 3000 image output tokens each (well under the estimate). */
const usageFor = (n: number) => ({ input_tokens: 20, input_tokens_details: { text_tokens: 20, image_tokens: 0 }, output_tokens: 3000 * n, total_tokens: 20 + 3000 * n });
/** gpt-image-1: $5 text input, $40 image output per 1M tokens. */
const costFor = (n: number) => 20 * 5000 + 3000 * n * 40_000;
const SECONDS = 1234;

/**
 * Large answers as OpenAI sends them, `usage` last. The prompt (or, for transcriptions, the response_format) picks the
 * framing: `chunked` writes it in pieces without a length, `nousage` leaves the usage out, `cut` breaks off before it.
 */
async function startLargeUpstream(): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('latin1');
    let answer: string;
    let mode: string;
    if (req.url?.startsWith('/v1/audio/')) {
      mode = /name="prompt"\r\n\r\n([^\r]*)/.exec(raw)?.[1] ?? '';
      if (/name="response_format"\r\n\r\ntext\r\n/.test(raw)) {
        // A plain-text transcript is what was said, which may spell a usage at its end.
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        return res.end('{"said": "hi", "usage": {"type": "duration", "seconds": 0}}');
      }
      // A verbose_json transcription of a long recording, its segments past 8 MiB, its usage last.
      const segments = Array.from({ length: 120_000 }, (_, id) => ({ id, start: id, end: id + 1, text: ' the quick brown fox jumps over the lazy dog' }));
      answer = JSON.stringify({ task: 'transcribe', language: 'english', text: 'x', segments, ...(mode === 'nousage' ? {} : { usage: { type: 'duration', seconds: SECONDS } }) });
    } else {
      const body = JSON.parse(raw) as { n?: number; prompt: string };
      mode = body.prompt;
      const n = body.n ?? 1;
      const usage = mode === 'nousage' ? {} : { usage: usageFor(n) };
      answer = JSON.stringify({ created: 1, background: 'opaque', data: Array.from({ length: n }, () => ({ b64_json: B64 })), output_format: 'png', quality: 'high', size: '1024x1024', ...usage });
    }
    if (mode === 'chunked' || mode === 'cut') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const end = mode === 'cut' ? answer.length - 100 : answer.length;
      for (let at = 0; at < end; at += 1024 * 1024) {
        if (!res.write(answer.slice(at, Math.min(end, at + 1024 * 1024)))) await new Promise((r) => res.once('drain', r));
      }
      if (mode === 'cut') return req.socket.destroy();
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
}

describe('GPT Image answers too large to hold are billed the usage at their end', () => {
  let up: Awaited<ReturnType<typeof startLargeUpstream>>;
  let t: TestServer;
  beforeAll(async () => {
    up = await startLargeUpstream();
    const file = gatewayConfigFile({ providers: [{ name: 'oai', base_url: up.url, api_key_env: 'UP_KEY' }] });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });

  const newClient = async () => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'large' } })).body as { id: string; value: string };
    return { key, client: new OpenAI({ baseURL: `${t.url}/v1`, apiKey: key.value, maxRetries: 0 }) };
  };
  /** The estimate of n high-quality 1024×1024 images and a prompt of `prompt.length` bytes (core/metering-plan.ts). */
  const estimateFor = (n: number, prompt: string) => 4160 * n * 40_000 + prompt.length * 5000;

  for (const framing of ['with its length', 'chunked']) {
    it(`n=4 high quality b64_json, ${framing}: the answer's usage, and its images counted`, async () => {
      const { key, client } = await newClient();
      const prompt = framing === 'chunked' ? 'chunked' : 'length';
      const answer = await client.images.generate({ model: 'gpt-image-1', prompt, n: 4, quality: 'high', size: '1024x1024' });
      expect(answer.data).toHaveLength(4);
      expect(answer.usage?.output_tokens).toBe(12_000);
      const [e] = await usageEventsOf(t, key.id);
      expect(costFor(4)).not.toBe(estimateFor(4, prompt));
      expect({ outcome: e.outcome, cost: Number(e.cost_nanousd), output: Number(e.output_tokens), units: Number(e.units), unpriced: Number(e.unpriced) }).toEqual({
        outcome: 'ok',
        cost: costFor(4),
        output: 12_000,
        units: 4,
        unpriced: 0,
      });
    });
  }

  it('an answer without usage at its end is billed the estimate; one broken off before its end, as before', async () => {
    const { key, client } = await newClient();
    await client.images.generate({ model: 'gpt-image-1', prompt: 'nousage', n: 4, quality: 'high', size: '1024x1024' });
    await expect(client.images.generate({ model: 'gpt-image-1', prompt: 'cut', n: 4, quality: 'high', size: '1024x1024' })).rejects.toThrow();
    const events = (await usageEventsOf(t, key.id, 2)).sort((a, b) => Number(a.created_at_ms) - Number(b.created_at_ms));
    expect(events.map((e) => [e.outcome, Number(e.cost_nanousd), Number(e.units)])).toEqual([
      ['ok', estimateFor(4, 'nousage'), 4],
      ['upstream_error', estimateFor(4, 'cut'), 4],
    ]);
  });

  it('a transcription past 8 MiB is billed the seconds its usage reports at the end', async () => {
    const { key, client } = await newClient();
    const file = new File([Buffer.from('OggS fake audio')], 'a.ogg', { type: 'audio/ogg' });
    const answer = await client.audio.transcriptions.create({ model: 'whisper-1', file, prompt: 'chunked', response_format: 'verbose_json' });
    expect(answer.segments?.length).toBe(120_000);
    const [e] = await usageEventsOf(t, key.id);
    // whisper-1: $0.006 a minute.
    expect({ outcome: e.outcome, units: Number(e.units), cost: Number(e.cost_nanousd) }).toEqual({ outcome: 'ok', units: SECONDS, cost: Math.round((SECONDS * 0.006 * 1e9) / 60) });
  });

  it('a plain-text transcript that ends spelling a usage is billed its estimate: only JSON answers are read at their end', async () => {
    const { key, client } = await newClient();
    const file = new File([Buffer.from('OggS fake audio')], 'a.ogg', { type: 'audio/ogg' });
    expect(await client.audio.transcriptions.create({ model: 'whisper-1', file, response_format: 'text' })).toMatch(/"seconds": 0/);
    const [e] = await usageEventsOf(t, key.id);
    // The body at 16 kbit/s, at least a second: $0.0001.
    expect(Number(e.cost_nanousd)).toBe(100_000);
  });
});
