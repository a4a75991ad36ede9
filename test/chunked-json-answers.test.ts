import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// A JSON answer that is no model call is read whole when small (Tollgate reads some: images' count, object ids, the
// provider's details taken out), and streamed through past 8 MiB. One sent chunked, its length unknown beforehand,
// was read whole however large it grew: an upstream answering gigabytes held them all in the gateway's memory.

const ORG = '/v1/organization';
const MIB = 1024 * 1024;

/**
 * An upstream answering images chunked (no content-length): `user: 'small'` 1 MiB of base64, sent at once; `user:
 * 'large'` 10 MiB of it, the end held back until `release()`, so a gateway that waits for the whole answer before
 * sending any of it never answers.
 */
async function startUpstream() {
  let release: () => void = () => {};
  const server = createServer(async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    const body = JSON.parse(text) as { user?: string };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.on('error', () => {});
    res.write('{"created":1,"data":[{"b64_json":"');
    const piece = Buffer.alloc(MIB, 0x41);
    for (let i = 0; i < (body.user === 'large' ? 10 : 1); i++) {
      if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
    }
    if (body.user === 'large') await new Promise<void>((r) => (release = r));
    res.end('"}]}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, release: () => release() };
}

describe('a chunked JSON answer that is no model call', () => {
  let t: TestServer;
  let up: Awaited<ReturnType<typeof startUpstream>>;

  beforeAll(async () => {
    up = await startUpstream();
    const file = gatewayConfigFile({ providers: [{ name: 'img', base_url: up.url, api_key_env: 'UP_KEY' }], routes: { 'dall-e-*': 'img' } });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });

  async function images(user: string) {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'img' } })).body as { id: string; value: string };
    const res = await fetch(`${t.url}/v1/images/generations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'dall-e-2', prompt: 'x', size: '512x512', n: 3, response_format: 'b64_json', user }),
    });
    return { key, res };
  }

  it('past 8 MiB goes through as it arrives, whole, billed at what was asked for', async () => {
    const { key, res } = await images('large');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBeNull();
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const parts: Uint8Array[] = [];
    let read = 0;
    // The client has more than 8 MiB while the upstream still holds its answer's end.
    while (read <= 8 * MIB) {
      const { value, done } = await reader.read();
      if (done) break;
      parts.push(value);
      read += value.length;
    }
    expect(read).toBeGreaterThan(8 * MIB);
    up.release();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parts.push(value);
    }
    const answer = JSON.parse(Buffer.concat(parts).toString()) as { data: Array<{ b64_json: string }> };
    expect(answer.data[0].b64_json).toHaveLength(10 * MIB);
    const [usage] = await usageEventsOf(t, key.id);
    // Not read: billed at the estimate, the 3 images asked for (as one too large by its declared length).
    expect(usage).toMatchObject({ outcome: 'ok', status: 200 });
    expect(Number(usage.units)).toBe(3);
  }, 30_000);

  it('up to 8 MiB is read whole: sent with its length, billed per image it holds', async () => {
    const { key, res } = await images('small');
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect((JSON.parse(text) as { data: unknown[] }).data).toHaveLength(1);
    const [usage] = await usageEventsOf(t, key.id);
    expect(Number(usage.units)).toBe(1);
  });
});
