import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness/server.js';

// Found by an outside review: the admin API ignored Content-Encoding, so a plain JSON body labelled gzip was accepted
// as if unlabelled, and a gzipped body was refused 400 invalid_json quoting its raw bytes. It takes no compressed
// body, as the gateway takes none: 415, never a body read as something it is not.

const ORG = '/v1/organization';

describe('the admin API and a Content-Encoding', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const create = (body: Buffer, encoding?: string) =>
    fetch(`${t.url}${ORG}/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json', ...(encoding ? { 'content-encoding': encoding } : {}) },
      body: new Uint8Array(body),
    });
  const names = async () => ((await t.api('GET', `${ORG}/projects?limit=100`)).body.data as Array<{ name: string }>).map((p) => p.name);

  it.each([
    ['a plain body labelled gzip', 'ce-plain', (json: string) => Buffer.from(json), 'gzip'],
    ['a gzipped body', 'ce-gz', (json: string) => gzipSync(json), 'gzip'],
    ['a body labelled br', 'ce-br', (json: string) => Buffer.from(json), 'br'],
  ])('%s: 415 unsupported_media_type, nothing created', async (_what, name, encode, encoding) => {
    const res = await create(encode(JSON.stringify({ name })), encoding);
    expect(res.status).toBe(415);
    const answer = await res.json();
    expect(answer.error.code).toBe('unsupported_media_type');
    expect(await names()).not.toContain(name);
  });

  it('identity is no encoding: served', async () => {
    expect((await create(Buffer.from(JSON.stringify({ name: 'ce-identity' })), 'identity')).status).toBe(200);
  });

  it('a body that is not UTF-8 text, unlabelled: 400 invalid_json without its bytes quoted', async () => {
    const res = await create(gzipSync(JSON.stringify({ name: 'ce-raw' })));
    expect(res.status).toBe(400);
    const answer = await res.json();
    expect(answer.error.code).toBe('invalid_json');
    expect(answer.error.message).toBe('We could not parse the JSON body of your request: it is not UTF-8 text.');
  });
});
