import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// Found by a review: one multipart request from an ordinary key, under the 10 MB body limit, held the gateway's one
// event loop for tens of seconds to minutes (every other key and the admin API waited): the loose Content-Disposition
// reading scanned the rest of the body from each of a few hundred marks after bare CRs (an image edit: 26-164 s), and
// the object check's reader split parts on the boundary anywhere and looked for each one's blank line to the end of
// the body (a file upload: 8-94 s). Both readers are now linear in the body: each of these bodies costs the loop
// well under a second however many marks or boundaries it holds.

const B = 'XyZb';
const TEN_MB = 10 * 1024 * 1024 - 1024;
const CT = `multipart/form-data; boundary=${B}`;
const field = (name: string, value: string) => `--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const file = (name: string, filename: string, type: string) => `--${B}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`;
/** A body of TEN_MB bytes: `head`, then `filler`, then `x` up to the close delimiter. */
function body(head: string, filler: string): Buffer {
  const tail = `\r\n--${B}--\r\n`;
  return Buffer.from(head + filler + 'x'.repeat(TEN_MB - head.length - filler.length - tail.length) + tail, 'latin1');
}
const EDITS_HEAD = field('model', 'gpt-image-1') + field('prompt', 'a cat') + file('image', 'a.png', 'image/png');
const FILES_HEAD = field('purpose', 'assistants') + file('file', 'a.txt', 'text/plain');

/** An upstream answering every request 200 with a small JSON object. */
async function startUpstream(): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    for await (const _ of req) {
      // drained
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'file-abc', object: 'file', created: 1, data: [{ b64_json: 'iVBORw0KGgo=' }] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
}

describe('multipart bodies built to be slow to read do not hold the event loop', () => {
  let up: Awaited<ReturnType<typeof startUpstream>>;
  let t: TestServer;
  let key: string;
  beforeAll(async () => {
    up = await startUpstream();
    const config = gatewayConfigFile({ providers: [{ name: 'oai', base_url: up.url, api_key_env: 'UP_KEY' }] });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: config, UP_KEY: 'sk-up-0000' } });
    key = ((await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'ordinary' } })).body as { value: string }).value;
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });

  /** The answer's status and the longest the event loop was held while the gateway read and answered the body. */
  async function send(path: string, payload: Buffer): Promise<{ status: number; blockedMs: number }> {
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    try {
      const res = await fetch(`${t.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': CT }, body: new Uint8Array(payload) });
      await res.arrayBuffer();
      return { status: res.status, blockedMs: h.max / 1e6 };
    } finally {
      h.disable();
    }
  }

  const cases: Array<[string, string, Buffer]> = [
    ['an image edit with 300 disposition marks after bare CRs in its image', '/v1/images/edits', body(EDITS_HEAD, '\rcontent-disposition:'.repeat(300))],
    ['an image edit with 1,000 of them', '/v1/images/edits', body(EDITS_HEAD, '\rcontent-disposition:'.repeat(1000))],
    ['a file upload with 10,000 boundaries inside its file', '/v1/files', body(FILES_HEAD, `--${B}\r\n\r\nA`.repeat(10_000))],
    ['a file upload with 50,000 of them', '/v1/files', body(FILES_HEAD, `--${B}\r\n\r\nA`.repeat(50_000))],
  ];
  for (const [what, path, payload] of cases) {
    it(`${what}: answered (refused) without holding the loop`, async () => {
      const { status, blockedMs } = await send(path, payload);
      expect(blockedMs).toBeLessThan(1500);
      expect(status).toBe(415);
    }, 300_000);
  }

  it('honest 10 MB uploads are read as before, as quickly', async () => {
    const edit = await send('/v1/images/edits', body(EDITS_HEAD, ''));
    expect(edit.blockedMs).toBeLessThan(1500);
    expect(edit.status).toBe(200);
    const upload = await send('/v1/files', body(FILES_HEAD, 'line\r\n'.repeat(100_000)));
    expect(upload.blockedMs).toBeLessThan(1500);
    expect(upload.status).toBe(200);
  }, 60_000);
});
