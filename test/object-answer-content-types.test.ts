import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// An answer naming the object a request created (or one the upstream made for it) is recorded whatever its
// Content-Type says, as a list is read whatever its Content-Type says. Found by a review: the same JSON answer to
// POST /v1/vector_stores labelled `text/plain`, or with no Content-Type, reached the client and was never recorded
// (its creator's GET then answered 404); a batch retrieval so answered never adopted its output file.

const ORG = '/v1/organization';

/** The Content-Type the upstream answers its objects with next (null: none at all). */
let declared: string | null = 'application/json';
/** What the upstream answers a create with next instead of the object (a non-JSON answer), or null. */
let instead: Buffer | null = null;

function upstream(): Server {
  let n = 0;
  return createServer(async (req, res) => {
    for await (const _ of req) {
      // drained
    }
    const path = new URL(req.url ?? '/', 'http://up').pathname;
    const answer = (status: number, value: unknown, type: string | null = declared) => {
      res.writeHead(status, type === null ? {} : { 'content-type': type });
      res.end(Buffer.isBuffer(value) ? value : JSON.stringify(value));
    };
    // What the gateway asks to check its own answers: always JSON.
    const retrieved = /^\/v1\/(vector_stores|files|responses)\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && retrieved) return answer(200, { id: retrieved[2], object: 'object' }, 'application/json');
    if (req.method === 'GET' && /^\/v1\/files\/[^/]+\/content$/.test(path)) return answer(200, Buffer.from('{"ok":1}\n'), 'application/octet-stream');
    const batch = /^\/v1\/batches\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && batch) {
      return answer(200, { id: batch[1], object: 'batch', status: 'completed', output_file_id: `file-out${++n}`, error_file_id: null, created_at: 1 });
    }
    if (req.method === 'POST' && instead) return answer(200, instead);
    if (req.method === 'POST' && path === '/v1/vector_stores') return answer(200, { id: `vs_${++n}`, object: 'vector_store', created_at: 1 });
    if (req.method === 'POST' && path === '/v1/responses') {
      return answer(200, { id: `resp_${++n}`, object: 'response', created_at: 1, status: 'completed', output: [{ id: `msg_${++n}`, type: 'message', role: 'assistant', content: [] }] });
    }
    answer(404, { error: { message: 'unknown', type: 'invalid_request_error', param: null, code: null } }, 'application/json');
  });
}

describeEachDatabase("an answer that names objects is recorded whatever its Content-Type", (backend) => {
  let t: TestServer;
  let up: Server;
  let key: string;
  beforeAll(async () => {
    up = upstream();
    const url = `${await listenOnLoopback(up)}/v1`;
    const file = gatewayConfigFile({ providers: [{ name: 'oai', base_url: url, api_key_env: 'UP_KEY' }] });
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
    key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'types' } })).body.value;
  });
  afterAll(async () => {
    await t?.close();
    await new Promise((resolve) => up?.close(resolve));
  });

  const send = (method: string, path: string, body?: unknown) => t.api(method, `/v1${path}`, { key, body });

  for (const [i, type] of ['application/json', 'text/plain', null, 'application/octet-stream', 'Text/HTML; charset=utf-8'].entries()) {
    describe(`answered ${type ?? 'with no Content-Type'}`, () => {
      beforeAll(() => {
        declared = type;
        instead = null;
      });

      it('a created vector store and a stored response are their creator’s, and the answer goes on as it came', async () => {
        const store = await send('POST', '/vector_stores', { name: 'x' });
        expect(store.status, store.text).toBe(200);
        expect(store.headers.get('content-type')).toBe(type);
        expect((await send('GET', `/vector_stores/${store.body.id}`)).status).toBe(200);
        const response = await send('POST', '/responses', { model: 'gpt-4o-mini', input: 'hi' });
        expect(response.status, response.text).toBe(200);
        expect((await send('GET', `/responses/${response.body.id}`)).status).toBe(200);
        // Its output items are the project's to reference.
        const again = await send('POST', '/responses', { model: 'gpt-4o-mini', input: [{ type: 'item_reference', id: response.body.output[0].id }] });
        expect(again.status, again.text).toBe(200);
      });

      it("a batch's retrieval adopts its output file", async () => {
        const assigned = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/upstream_objects`, { body: { id: `batch_t${i}` } });
        expect(assigned.status, assigned.text).toBeLessThan(300);
        const batch = await send('GET', `/batches/batch_t${i}`);
        expect(batch.status, batch.text).toBe(200);
        expect((await send('GET', `/files/${batch.body.output_file_id}/content`)).status).toBe(200);
      });
    });
  }

  it('an answer that is no JSON goes on as it came, recording nothing', async () => {
    declared = 'text/plain';
    instead = Buffer.from('created, but not telling');
    const res = await send('POST', '/vector_stores', { name: 'x' });
    expect([res.status, res.text, res.headers.get('content-type')]).toEqual([200, 'created, but not telling', 'text/plain']);
    // Larger than an answer is read whole (8 MB): passed on as it comes, whole.
    instead = Buffer.alloc(9 * 1024 * 1024, 0x61);
    const big = await fetch(`${t.url}/v1/vector_stores`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{}' });
    expect(big.status).toBe(200);
    expect(Buffer.from(await big.arrayBuffer()).equals(instead)).toBe(true);
    // A model call's answer is read whole by the gateway (for its usage), that large too, and answered as before: not
    // JSON, so malformed (not "broken off" for being past the size read here).
    const bigResponse = await fetch(`${t.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', input: 'hi' }),
    });
    expect([bigResponse.status, ((await bigResponse.json()) as { error: { message: string } }).error.message]).toEqual([502, expect.stringContaining('answered with malformed JSON')]);
    instead = null;
  });
});
