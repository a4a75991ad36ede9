import { connect } from 'node:net';
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { type FakeUpstream, startFakeUpstream } from './harness/fake-upstream.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Every answer carries the id Tollgate gave its request (issue 17 §4): gateway and admin API, successes and errors,
// refusals before any upstream call, Fastify's and Node's own answers. The same id is what the openai SDK reports, is
// named in the message of a server error, in the request's log lines and in its usage event, beside the upstream's id.

const ID = /^req_[0-9a-f]{32}$/;

describeEachDatabase('request ids', (backend) => {
  let up: FakeUpstream;
  let t: TestServer;
  let key: { id: string; value: string };
  let log = '';
  const client = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${t.url}/v1`, maxRetries: 0, timeout: 15_000 });
  const eventOf = async (requestId: string) => {
    await t.server.gateway.usage.flush();
    return t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('request_id', '=', requestId).executeTakeFirst();
  };

  beforeAll(async () => {
    up = await startFakeUpstream();
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-cfg-')), 'tollgate.config.json');
    writeFileSync(file, JSON.stringify({ providers: [{ name: 'fake', base_url: up.url, api_key_env: 'FAKE_KEY', timeouts: { first_byte_ms: 1500, total_ms: 20000 } }] }));
    const sink = new Writable({
      write(chunk, _enc, cb) {
        log += chunk.toString();
        cb();
      },
    });
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, FAKE_KEY: 'sk-fake-provider' }, logger: pino({ level: 'info' }, sink) });
    key = (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'ids' } })).body;
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  it('gives each gateway answer its own id, the one the SDK reports and the usage event keeps, beside the upstream id', async () => {
    const { data, response } = await client(key.value).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    const id = response.headers.get('x-request-id') as string;
    expect(id).toMatch(ID);
    expect((data as unknown as { _request_id: string })._request_id).toBe(id);
    expect(response.headers.get('x-upstream-request-id')).toBe('req_fake');
    expect(await eventOf(id)).toMatchObject({ endpoint: '/chat/completions', outcome: 'ok', request_id: id, upstream_request_id: 'req_fake' });
    const again = await client(key.value).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(again._request_id).toMatch(ID);
    expect(again._request_id).not.toBe(id);
  });

  it('gives streams an id too, and never takes a client x-request-id for its own', async () => {
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json', 'x-request-id': 'req_from_the_client' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    await res.text();
    const id = res.headers.get('x-request-id') as string;
    expect(id).toMatch(ID);
    expect(res.headers.get('x-upstream-request-id')).toBe('req_fake_stream');
    expect(await eventOf(id)).toMatchObject({ streamed: 1, upstream_request_id: 'req_fake_stream' });
    expect(up.seen.at(-1)?.headers['x-request-id']).toBeUndefined();
  });

  it('puts the id on refusals before any upstream call, where the SDK reads it into the error, and on their usage event', async () => {
    const bad = await client('sk-tg-not-a-real-key').models.list().catch((e) => e);
    expect(bad).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(bad.requestID).toMatch(ID);
    const readOnly = (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'ro', permissions: 'read_only' } })).body;
    const refused = await client(readOnly.value).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(refused.requestID).toMatch(ID);
    // OpenAI's error body has no id member: the spec's shape, unchanged.
    expect(Object.keys(refused.error)).toEqual(['message', 'type', 'param', 'code']);
    expect(await eventOf(refused.requestID)).toMatchObject({ outcome: 'refused', status: 403, request_id: refused.requestID, upstream_request_id: null });
    for (const path of ['/v1/chat/%2e%2e/completions', '/v1/projects/proj_1/roles', '/v1']) {
      const res = await fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${key.value}` } });
      expect(res.status, path).toBe(404);
      expect(res.headers.get('x-request-id'), path).toMatch(ID);
    }
  });

  it('names the id in the message of a server error, as OpenAI does, and in its log line', async () => {
    const failed = await client(key.value).chat.completions.create({ model: 'reset', messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    expect(failed).toBeInstanceOf(OpenAI.APIError);
    expect(failed.status).toBe(502);
    expect(failed.requestID).toMatch(ID);
    expect(failed.message).toContain(`Please include the request ID ${failed.requestID}`);
    const line = log.split('\n').find((l) => l.includes(failed.requestID));
    expect(line, 'a log line with the request id').toBeDefined();
    expect(JSON.parse(line as string)).toMatchObject({ request_id: failed.requestID, msg: 'request failed' });
    expect(await eventOf(failed.requestID)).toMatchObject({ outcome: 'upstream_error', status: 502 });
  });

  it("puts the id on every answer of the admin API and Fastify's own, errors included", async () => {
    const answers = [
      await t.api('GET', '/v1/organization/projects'),
      await t.api('GET', '/v1/organization/projects/proj_missing'),
      await t.api('GET', '/v1/organization/projects', { key: 'sk-tg-admin-wrong' }),
      await t.api('POST', '/v1/organization/projects', { raw: '{not json', headers: { 'content-type': 'application/json' } }),
      await t.api('GET', '/v1/organization/nothing-here'),
      await t.api('GET', '/healthz', { key: null }),
      await t.api('GET', '/v1/organization/projects/%E0%A4%A', {}),
      // Fastify's router refuses it before any route (frameworkErrors).
      await t.api('GET', `/v1/organization/projects/${'p'.repeat(300)}`),
    ];
    const ids = answers.map((a) => a.headers.get('x-request-id'));
    for (const [i, id] of ids.entries()) expect(id, `answer ${i} (${answers[i].status})`).toMatch(ID);
    expect(new Set(ids).size).toBe(ids.length);
    expect(answers.map((a) => a.status)).toEqual([200, 404, 401, 400, 404, 200, 404, 414]);
  });

  it('answers a request Node cannot parse with an id as well', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const { port } = new URL(t.url);
      const socket = connect(Number(port), '127.0.0.1', () => socket.write('GET /v1/models HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => {
        text += d.toString();
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expect(raw).toMatch(/\r\nx-request-id: req_[0-9a-f]{32}\r\n/);
  });
});

describe('request ids of the built-in model', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' });
  });
  afterAll(async () => t?.close());

  it('keeps Tollgate’s id and no upstream id (the echo model has none)', async () => {
    const key = (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'echo' } })).body;
    const res = await t.api('POST', '/v1/embeddings', { key: key.value, body: { model: 'tollgate-echo', input: 'x' } });
    const id = res.headers.get('x-request-id') as string;
    expect(id).toMatch(ID);
    expect(res.headers.get('x-upstream-request-id')).toBeNull();
    await t.server.gateway.usage.flush();
    const ev = await t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('request_id', '=', id).executeTakeFirstOrThrow();
    expect(ev).toMatchObject({ endpoint: '/embeddings', upstream_request_id: null });
  });
});
