import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// GPT Image edits sent by the official openai client with an array of images (`image: [f1, f2]`, or an array of one)
// name their file parts `image[]`. Found by a billing review: the multipart reader took `image[]` for a bracket
// notation of `image` that other readers may read differently, so metering could not read the form at all: a
// spend-limited key was refused 403 `model_not_priced`, an unlimited key's event was marked unpriced.

const ORG = '/v1/organization';
/** Usage the upstream reports: 40 text tokens, 10 image tokens per input image, 4160 image output tokens. */
const usageFor = (images: number) => ({
  input_tokens: 40 + 10 * images,
  input_tokens_details: { text_tokens: 40, image_tokens: 10 * images },
  output_tokens: 4160,
  total_tokens: 40 + 10 * images + 4160,
});
/** gpt-image-1 at $5 text input, $10 image input, $40 image output per 1M tokens (the default price table). */
const costOf = (images: number) => 40 * 5000 + 10 * images * 10_000 + 4160 * 40_000;

/** An upstream answering image edits as OpenAI does (GPT Image: with usage), counting the images it was sent. */
async function startImageUpstream(): Promise<{ server: Server; url: string; images: number[] }> {
  const images: number[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('latin1');
    // OpenAI reads `image` and `image[]` alike: every image part counts.
    const n = [...body.matchAll(/name="image(?:\[\])?"; filename=/g)].length;
    images.push(n);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ created: 1, data: [{ b64_json: 'iVBORw0KGgo=' }], usage: usageFor(n) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, images };
}

describe('GPT Image edits with an array of images (`image[]`) from the official openai client', () => {
  let up: Awaited<ReturnType<typeof startImageUpstream>>;
  let t: TestServer;
  beforeAll(async () => {
    up = await startImageUpstream();
    const file = gatewayConfigFile({ providers: [{ name: 'oai', base_url: up.url, api_key_env: 'UP_KEY' }] });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });

  const newKey = async (body: Record<string, unknown> = {}) =>
    (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'edits', ...body } })).body as { id: string; value: string };
  const png = (name: string) => toFile(Buffer.from('\x89PNG\r\n\x1a\nfake'), name, { type: 'image/png' });

  const shapes = [
    ['a single image', async () => png('a.png')],
    ['an array of one', async () => [await png('a.png')]],
    ['an array of two', async () => [await png('a.png'), await png('b.png')]],
  ] as const;

  for (const limited of [true, false]) {
    it(`${limited ? 'a spend-limited key' : 'an unlimited key'}: each shape admitted, priced, billed its usage`, async () => {
      // $5 a month: far above what three edits can cost at most.
      const key = await newKey(limited ? { spend_limit: { threshold_amount: 500, interval: 'month' } } : {});
      const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: key.value, maxRetries: 0 });
      const sent: number[] = [];
      for (const [, image] of shapes) {
        const answer = await client.images.edit({ model: 'gpt-image-1', prompt: 'a hat on the cat', image: await image() });
        expect(answer.data?.[0]?.b64_json).toBe('iVBORw0KGgo=');
        sent.push(up.images.at(-1) ?? -1);
      }
      expect(sent).toEqual([1, 1, 2]);
      const events = (await usageEventsOf(t, key.id, 3)).sort((a, b) => Number(a.created_at_ms) - Number(b.created_at_ms));
      expect(events.map((e) => [Number(e.unpriced), Number(e.cost_nanousd), Number(e.input_tokens), Number(e.output_tokens)])).toEqual(
        [1, 1, 2].map((n) => [0, costOf(n), 40 + 10 * n, 4160]),
      );
    });
  }
});
