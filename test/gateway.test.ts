import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createOpenAI } from '@ai-sdk/openai';
import { streamText } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { type FakeUpstream, startFakeUpstream } from './harness/fake-upstream.js';
import { startTestServer, type TestServer } from './harness/server.js';

const ORG = '/v1/organization';
const UPSTREAM_SECRET = 'sk-upstream-provider-secret-0123456789';

async function gatewayServer(backend: Parameters<typeof startTestServer>[0], upstream: FakeUpstream, extra: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-cfg-'));
  const file = join(dir, 'tollgate.config.json');
  writeFileSync(
    file,
    JSON.stringify({
      providers: [{ name: 'fake', base_url: upstream.url, api_key_env: 'FAKE_UPSTREAM_KEY', timeouts: { first_byte_ms: 1500, total_ms: 20000 } }],
      aliases: { fast: 'gpt-4o-mini' },
      pricing: { 'gpt-4o-mini': { input: 0.15, cached_input: 0.075, output: 0.6 } },
      ...extra,
    }),
  );
  return startTestServer(backend, { env: { TOLLGATE_CONFIG: file, FAKE_UPSTREAM_KEY: UPSTREAM_SECRET, ...env } });
}

describeEachDatabase('gateway', (backend) => {
  let up: FakeUpstream;
  let t: TestServer;
  let key: { id: string; value: string };
  const client = (apiKey: string, opts: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}) =>
    new OpenAI({ apiKey, baseURL: `${t.url}/v1`, maxRetries: 0, timeout: 15_000, ...opts });
  const newKey = async (body: Record<string, unknown> = {}) =>
    (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'gw', ...body } })).body as { id: string; value: string };
  const events = async () => {
    await t.server.gateway.usage.flush();
    return t.server.runtime.database.db.selectFrom('usage_events').selectAll().orderBy('created_at_ms').execute();
  };

  beforeAll(async () => {
    up = await startFakeUpstream();
    t = await gatewayServer(backend, up);
    key = await newKey();
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  describe('with the openai SDK', () => {
    it('answers chat completions, forwarding with the provider key only, and meters tokens and cost', async () => {
      up.seen.length = 0;
      const res = await client(key.value).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
      expect(res.choices[0].message.content).toBe('Hi there!');
      expect(res.usage?.total_tokens).toBe(18);
      const sent = up.seen.at(-1)!;
      expect(sent.headers.authorization).toBe(`Bearer ${UPSTREAM_SECRET}`);
      expect(JSON.stringify(sent.headers)).not.toContain(key.value);
      const ev = (await events()).filter((e) => e.api_key_id === key.id && e.endpoint === '/chat/completions').at(-1)!;
      expect(ev).toMatchObject({ status: 200, outcome: 'ok', billable: 1, input_tokens: 11, cached_tokens: 3, output_tokens: 7, model: 'gpt-4o-mini', provider: 'fake', project_id: t.defaultProjectId });
      // (11-3)*150 + 3*75 + 7*600 nano-dollars
      expect(Number(ev.cost_nanousd)).toBe(8 * 150 + 3 * 75 + 7 * 600);
    });

    it('strips the provider rate-limit and organization headers from answers', async () => {
      const res = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('openai-organization')).toBeNull();
      expect(res.headers.get('x-ratelimit-limit-requests')).toBeNull();
      // Tollgate's own request id; the provider's is passed on beside it.
      expect(res.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
      expect(res.headers.get('x-upstream-request-id')).toBe('req_fake');
      // A buffered answer goes out with its length, not in chunks.
      const text = await res.text();
      expect(res.headers.get('transfer-encoding')).toBeNull();
      expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    });

    it('streams chunk by chunk, asks for usage and strips it when the client did not', async () => {
      up.seen.length = 0;
      const stream = await client(key.value).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
      const chunks = [];
      for await (const c of stream) chunks.push(c);
      expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('Hi there!');
      expect(chunks.every((c) => !c.usage)).toBe(true);
      expect(JSON.parse(up.seen.at(-1)!.body).stream_options).toEqual({ include_usage: true });
      const ev = (await events()).filter((e) => e.streamed === 1).at(-1)!;
      expect(ev).toMatchObject({ outcome: 'ok', input_tokens: 11, output_tokens: 7 });

      const withUsage = await client(key.value).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      const all = [];
      for await (const c of withUsage) all.push(c);
      expect(all.at(-1)?.usage?.total_tokens).toBe(18);
    });

    it('applies aliases and answers embeddings', async () => {
      up.seen.length = 0;
      await client(key.value).chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'x' }] });
      expect(JSON.parse(up.seen.at(-1)!.body).model).toBe('gpt-4o-mini');
      const emb = await client(key.value).embeddings.create({ model: 'text-embedding-3-small', input: 'hello', encoding_format: 'float' });
      expect(emb.data[0].embedding).toEqual([0.1, 0.2]);
      expect((await events()).filter((e) => e.endpoint === '/embeddings').at(-1)).toMatchObject({ input_tokens: 5, output_tokens: 0, billable: 1 });
    });

    it('lists only the models a key may use', async () => {
      const all = await client(key.value).models.list();
      expect(all.data.map((m) => m.id)).toEqual(expect.arrayContaining(['gpt-4o', 'gpt-4o-mini', 'fast']));
      const limited = await newKey({ allowed_models: ['gpt-4o-mini'] });
      const some = await client(limited.value).models.list();
      expect(some.data.map((m) => m.id)).toEqual(['gpt-4o-mini']);
      await expect(client(limited.value).chat.completions.create({ model: 'gpt-4o', messages: [] })).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    });

    it('retrieves one model the key may use, and 404s the others and any non-canonical spelling', async () => {
      const limited = await newKey({ allowed_models: ['gpt-4o-mini'] });
      const one = await client(limited.value).models.retrieve('gpt-4o-mini');
      expect(one).toMatchObject({ id: 'gpt-4o-mini', object: 'model' });
      const plain = await fetch(`${t.url}/v1/models/gpt-4o-mini`, { headers: { authorization: `Bearer ${limited.value}` } });
      expect(plain.status).toBe(200);
      expect(plain.headers.get('cache-control')).toBe('no-store');
      // Unreserved characters percent-encoded are not canonical: refused as OpenAI refuses an unknown URL.
      const encoded = await fetch(`${t.url}/v1/models/gpt%2D4o%2Dmini`, { headers: { authorization: `Bearer ${limited.value}` } });
      expect(encoded.status).toBe(404);
      expect((await encoded.json()).error.message).toBe('Invalid URL (GET /v1/models/gpt%2D4o%2Dmini)');
      await expect(client(limited.value).models.retrieve('gpt-4o')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    });

    it('raises the SDK typed errors for each refusal', async () => {
      const msg = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'x' }] };
      await expect(client('sk-tg-not-a-real-key').chat.completions.create(msg)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      const ro = await newKey({ permissions: 'read_only' });
      const err = await client(ro.value).chat.completions.create(msg).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(err.code).toBe('insufficient_permissions');
      expect(err.message).toContain('chat.completions');
      expect((await client(ro.value).models.list()).data.length).toBeGreaterThan(0);
      const ipKey = await newKey({ allowed_ips: ['10.0.0.0/8'] });
      const ipErr = await client(ipKey.value).chat.completions.create(msg).catch((e) => e);
      expect(ipErr).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(ipErr.code).toBe('ip_not_allowed');
      const restricted = await newKey({ permissions: { restricted: { models: 'read', embeddings: 'write' } } });
      await expect(client(restricted.value).chat.completions.create(msg)).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
      await expect(client(restricted.value).embeddings.create({ model: 'text-embedding-3-small', input: 'x' })).resolves.toBeTruthy();
      // What a request makes the provider run beyond its own path needs the scope there too: a batch's endpoint, and
      // the File an upload's completion creates (found by an outside review).
      const batcher = await newKey({ permissions: { restricted: { batches: 'write', files: 'write', uploads: 'write', embeddings: 'write' } } });
      const post = (path: string, body: unknown) =>
        fetch(`${t.url}/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${batcher.value}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      for (const endpoint of ['/v1/chat/completions', '/v1/responses', '/v1/completions']) {
        const refused = await post('/batches', { input_file_id: 'file-x', endpoint, completion_window: '24h' });
        expect(refused.status, String(endpoint)).toBe(403);
        expect((await refused.json()).error.code).toBe('insufficient_permissions');
      }
      // Not one of the endpoints a batch runs, spelled exactly: refused whatever the scope.
      for (const endpoint of ['chat/completions', 42, '/v1/embeddings/../chat/completions']) {
        const refused = await post('/batches', { input_file_id: 'file-x', endpoint, completion_window: '24h' });
        expect(refused.status, String(endpoint)).toBe(400);
        expect((await refused.json()).error.param).toBe('endpoint');
      }
      // Named in the query string beside the body, in any spelling: refused, whichever the body names.
      for (const q of ['endpoint=/v1/chat/completions', 'ENDPOINT=/v1/embeddings', '%65ndpoint=/v1/chat/completions', '%45NDPOINT=/v1/chat/completions', 'x=1;endpoint=/v1/chat/completions', 'batch[endpoint]=/v1/chat/completions']) {
        const r = await fetch(`${t.url}/v1/batches?${q}`, { method: 'POST', headers: { authorization: `Bearer ${batcher.value}`, 'content-type': 'application/json' }, body: JSON.stringify({ input_file_id: 'file-x', endpoint: '/v1/embeddings', completion_window: '24h' }) });
        expect(r.status, q).toBe(400);
        expect((await r.json()).error.param).toBe('endpoint');
      }
      // Its scope's own endpoint is forwarded (the built-in upstream serves no batches).
      expect((await post('/batches', { input_file_id: 'file-x', endpoint: '/v1/embeddings', completion_window: '24h' })).status).not.toBe(403);
      const noFiles = await newKey({ permissions: { restricted: { uploads: 'write' } } });
      const completed = await fetch(`${t.url}/v1/uploads/upload_x/complete`, { method: 'POST', headers: { authorization: `Bearer ${noFiles.value}`, 'content-type': 'application/json' }, body: JSON.stringify({ part_ids: [] }) });
      expect(completed.status).toBe(403);
      expect((await completed.json()).error.message).toContain('files');
      const wrongOrg = await client(key.value, { organization: 'org-someoneelse' }).chat.completions.create(msg).catch((e) => e);
      expect(wrongOrg).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(wrongOrg.code).toBe('mismatched_organization');
      const wrongProject = await client(key.value, { project: 'proj_other' }).chat.completions.create(msg).catch((e) => e);
      expect(wrongProject.code).toBe('mismatched_project');
      const rightBoth = await client(key.value, { organization: t.orgId, project: t.defaultProjectId }).chat.completions.create(msg);
      expect(rightBoth.choices.length).toBe(1);
      const adminErr = await client(t.adminKey).chat.completions.create(msg).catch((e) => e);
      expect(adminErr).toBeInstanceOf(OpenAI.PermissionDeniedError);
    });

    it('records last_used_at, coalesced and written off the request path', async () => {
      const k = await newKey();
      expect((await t.api('GET', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}`)).body.last_used_at).toBeNull();
      await client(k.value).models.list();
      await client(k.value).models.list();
      await t.server.runtime.lastUsed.flush();
      const used = (await t.api('GET', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}`)).body.last_used_at;
      expect(used).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) - 60);
    });

    it('refuses a missing key with missing_api_key and accepts the Azure-style api-key header', async () => {
      const none = await fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(none.status).toBe(401);
      const text = await none.text();
      expect(JSON.parse(text).error.code).toBe('missing_api_key');
      expect(Number(none.headers.get('content-length'))).toBe(Buffer.byteLength(text));
      const azure = await fetch(`${t.url}/v1/models`, { headers: { 'api-key': key.value } });
      expect(azure.status).toBe(200);
      const list = await azure.text();
      expect(Number(azure.headers.get('content-length'))).toBe(Buffer.byteLength(list));
    });

    it('refuses a revoked key from the moment the revoke returns', async () => {
      const k = await newKey();
      const c = client(k.value);
      await c.models.list();
      await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
      const del = await t.api('DELETE', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}`);
      expect(del.status).toBe(200);
      const err = await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(err.code).toBe('invalid_api_key');
    });

    it('serves the old secret during rotation grace and the new one after', async () => {
      const k = await newKey();
      const rot = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}/rotate`, { body: { grace_period_seconds: 0 } });
      await expect(client(rot.body.value).models.list()).resolves.toBeTruthy();
      await expect(client(k.value).models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      const k2 = await newKey();
      const rot2 = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k2.id}/rotate`, { body: { grace_period_seconds: 600 } });
      await expect(client(k2.value).models.list()).resolves.toBeTruthy();
      await expect(client(rot2.body.value).models.list()).resolves.toBeTruthy();
    });
  });

  describe('pass-through and own routes', () => {
    it('forwards other /v1 paths when the scope allows, and never forwards /v1/organization', async () => {
      up.seen.length = 0;
      const files = await fetch(`${t.url}/v1/files`, { headers: { authorization: `Bearer ${key.value}` } });
      expect(files.status).toBe(200);
      expect(up.seen.at(-1)!.url).toBe('/v1/files');
      const noFiles = await newKey({ permissions: { restricted: { models: 'read' } } });
      const denied = await fetch(`${t.url}/v1/files`, { headers: { authorization: `Bearer ${noFiles.value}` } });
      expect(denied.status).toBe(403);
      expect((await denied.json()).error.code).toBe('insufficient_permissions');
      const unauth = await fetch(`${t.url}/v1/files`);
      expect(unauth.status).toBe(401);
      up.seen.length = 0;
      const org = await fetch(`${t.url}/v1/organization/nothing`, { headers: { authorization: `Bearer ${t.adminKey}` } });
      expect(org.status).toBe(404);
      const scan = await fetch(`${t.url}/v1/secret-scanning/whatever`, { method: 'POST', headers: { authorization: `Bearer ${key.value}` } });
      expect(scan.status).toBe(404);
      expect(up.seen).toHaveLength(0);
    });
  });

  describe('upstream failures', () => {
    const call = (model: string, stream = false) =>
      fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'x' }], stream }),
      });
    // The event is written just after the answer ends, so wait for it briefly.
    const lastEvent = async (model: string, outcome?: string) => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const ev = (await events()).filter((e) => e.model === model).at(-1);
        if ((ev && (!outcome || ev.outcome === outcome)) || Date.now() > deadline) return ev;
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    it('passes an OpenAI-shaped 500 through and wraps a non-JSON one', async () => {
      const a = await call('error500');
      expect(a.status).toBe(500);
      expect((await a.json()).error.message).toBe('The server had an error');
      const b = await call('html500');
      expect(b.status).toBe(500);
      const text = await b.text();
      expect(b.headers.get('transfer-encoding')).toBeNull();
      expect(Number(b.headers.get('content-length'))).toBe(Buffer.byteLength(text));
      const body = JSON.parse(text);
      expect(body.error).toMatchObject({ code: 'upstream_error', type: 'api_error' });
      expect(body.error.message).toContain('Bad gateway');
      expect(await lastEvent('html500')).toMatchObject({ outcome: 'upstream_error', status: 500, billable: 0 });
      const sdkErr = await client(key.value).chat.completions.create({ model: 'error500', messages: [] }).catch((e) => e);
      expect(sdkErr).toBeInstanceOf(OpenAI.InternalServerError);
    });

    it('answers 502 for malformed JSON and for a reset connection', async () => {
      const a = await call('badjson');
      expect(a.status).toBe(502);
      expect((await a.json()).error.message).toContain('malformed JSON');
      const b = await call('reset');
      expect(b.status).toBe(502);
      expect((await b.json()).error.code).toBe('upstream_error');
      expect(await lastEvent('reset')).toMatchObject({ outcome: 'upstream_error', status: 502 });
    });

    it('answers 504 when the upstream is slower than the first-byte timeout, and bills the answer that comes after', async () => {
      const res = await call('slow');
      expect(res.status).toBe(504);
      expect((await res.json()).error.code).toBe('upstream_timeout');
      // The provider generated it (and bills it): read on after the 504, and billed by its usage (test/late-answers.test.ts).
      expect(await lastEvent('slow')).toMatchObject({ outcome: 'timeout', status: 504, billable: 1, input_tokens: 11, output_tokens: 7 });
    });

    it('ends a cut-off stream with an error event and records it', async () => {
      const res = await call('cutoff', true);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain('"content":"Hi"');
      expect(text).toContain('"code":"upstream_error"');
      expect(text).not.toContain('[DONE]');
      expect(await lastEvent('cutoff', 'stream_interrupted')).toMatchObject({ outcome: 'stream_interrupted', streamed: 1 });
    });

    it("ends a cut-off Responses stream with the Responses API's error event, next in sequence, which its clients read", async () => {
      const res = await fetch(`${t.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'cutoff', input: 'hi', stream: true }),
      });
      const text = await res.text();
      const last = text.trim().split('\n\n').at(-1) as string;
      expect(last.split('\n')[0]).toBe('event: error');
      expect(JSON.parse(last.split('\n')[1].slice('data: '.length))).toEqual({
        type: 'error',
        code: 'upstream_error',
        message: 'The upstream stream ended unexpectedly.',
        param: null,
        sequence_number: 3,
      });
      // OpenAI's client hands it over as the stream's last event, as it does OpenAI's own; the Vercel AI SDK's Responses
      // provider reports the cause (the chat-shaped event failed its validation instead).
      const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: key.value, maxRetries: 0 });
      const stream = await client.responses.create({ model: 'cutoff', input: 'hi', stream: true });
      const seen: Array<{ type: string; message?: string }> = [];
      for await (const event of stream) seen.push(event as { type: string; message?: string });
      expect(seen.map((e) => e.type)).toEqual(['response.created', 'response.in_progress', 'response.output_text.delta', 'error']);
      expect(seen.at(-1)?.message).toBe('The upstream stream ended unexpectedly.');
      const vercel = createOpenAI({ baseURL: `${t.url}/v1`, apiKey: key.value });
      const errors: unknown[] = [];
      const result = streamText({ model: vercel.responses('cutoff'), prompt: 'hi', onError: ({ error }) => void errors.push(error) });
      await result.consumeStream();
      expect(JSON.stringify(errors)).toContain('The upstream stream ended unexpectedly.');
    });

    it('counts tokens itself when the upstream reports no usage', async () => {
      const res = await call('nousage');
      expect(res.status).toBe(200);
      const ev = await lastEvent('nousage');
      expect(ev?.input_tokens).toBeGreaterThan(0);
      expect(ev?.output_tokens).toBe(3); // "Hi there!" in o200k_base
    });

    it('counts a stream itself when the upstream reports no usage', async () => {
      const res = await call('nousage', true);
      expect(await res.text()).toContain('[DONE]');
      const deadline = Date.now() + 5000;
      let ev = (await events()).find((e) => e.model === 'nousage' && e.streamed === 1);
      while (!ev && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        ev = (await events()).find((e) => e.model === 'nousage' && e.streamed === 1);
      }
      expect(ev).toMatchObject({ outcome: 'ok', output_tokens: 3 });
      expect(ev?.input_tokens).toBeGreaterThan(0);
    });

    // A model known to show all it generates (one that may reason unseen is read on to its usage: hangup-hidden-reasoning.test.ts).
    it('aborts the upstream request when the client disconnects', async () => {
      up.aborted.length = 0;
      const ac = new AbortController();
      const res = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        signal: ac.signal,
        headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-drip', messages: [], stream: true }),
      });
      const reader = res.body!.getReader();
      await reader.read();
      ac.abort();
      const deadline = Date.now() + 10_000;
      while (up.aborted.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(up.aborted).toContain('/v1/chat/completions');
      const aborted = await lastEvent('gpt-4o-drip', 'client_aborted');
      expect(aborted?.outcome).toBe('client_aborted');
      // Billed for what was delivered before the client left (docs/usage-api.md): the upstream bills it too.
      expect(aborted).toMatchObject({ billable: 1, streamed: 1 });
      expect(aborted?.output_tokens).toBeGreaterThanOrEqual(1);
    });
  });

  it('ends an exchange that runs past the provider total timeout, with an error event and a timeout event', async () => {
    const s = await gatewayServer(backend, up, { providers: [{ name: 'fake', base_url: up.url, api_key_env: 'FAKE_UPSTREAM_KEY', timeouts: { total_ms: 1000 } }] });
    try {
      const k = (await s.api('POST', `${ORG}/projects/${s.defaultProjectId}/api_keys`, { body: { name: 'slowpoke' } })).body;
      const started = Date.now();
      const res = await fetch(`${s.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${k.value}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'drip', messages: [], stream: true }),
      });
      const text = await res.text();
      expect(Date.now() - started).toBeLessThan(8000); // the drip alone lasts over 10 s
      expect(text).toContain('"code":"upstream_error"');
      // The event is written just after the answer ends (counting the streamed text first): wait for it.
      const deadline = Date.now() + 10_000;
      let ev: { outcome: string; streamed: number } | undefined;
      while (!ev && Date.now() < deadline) {
        await s.server.gateway.usage.flush();
        ev = (await s.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', k.id).where('endpoint', '=', '/chat/completions').execute()).at(-1);
        if (!ev) await new Promise((r) => setTimeout(r, 50));
      }
      expect(ev).toMatchObject({ outcome: 'timeout', streamed: 1 });
    } finally {
      await s.close();
    }
  });

  it('answers 502 with a clear message when the upstream is down', async () => {
    const dead = await startFakeUpstream();
    await dead.close();
    const s = await gatewayServer(backend, dead);
    try {
      const k = (await s.api('POST', `${ORG}/projects/${s.defaultProjectId}/api_keys`, { body: { name: 'x' } })).body;
      const res = await fetch(`${s.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${k.value}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }),
      });
      expect(res.status).toBe(502);
      const body = await res.json();
      expect(body.error.code).toBe('upstream_error');
      expect(body.error.message).toMatch(/could not be reached \(ECONNREFUSED\)/);
    } finally {
      await s.close();
    }
  });
});

describe('gateway without an upstream (built-in tollgate-echo)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' });
  });
  afterAll(async () => t?.close());

  it('lists only tollgate-echo and echoes with real token counts, streaming too', async () => {
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'echo' } })).body;
    const c = new OpenAI({ apiKey: k.value, baseURL: `${t.url}/v1`, maxRetries: 0 });
    expect((await c.models.list()).data.map((m) => m.id)).toEqual(['tollgate-echo']);
    const res = await c.chat.completions.create({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'Hello there friend' }] });
    expect(res.choices[0].message.content).toBe('Hello there friend');
    expect(res.usage?.completion_tokens).toBe(3);
    const stream = await c.chat.completions.create({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'one two three' }], stream: true });
    let text = '';
    for await (const ch of stream) text += ch.choices[0]?.delta?.content ?? '';
    expect(text).toBe('one two three');
    const emb = await c.embeddings.create({ model: 'tollgate-echo', input: ['a', 'b'] });
    expect(emb.data).toHaveLength(2);
    const resp = await c.responses.create({ model: 'tollgate-echo', input: 'respond please' });
    expect(resp.output_text).toBe('respond please');
    const missing = await c.chat.completions.create({ model: 'gpt-4o', messages: [] }).catch((e) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing.message).toContain('tollgate-echo');
    await t.server.gateway.usage.flush();
    const rows = await t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', k.id).execute();
    expect(rows.filter((r) => r.endpoint === '/chat/completions' && r.outcome === 'ok')).toHaveLength(2);
  });
});

describe('secrets in logs', () => {
  it('never writes a client key, admin key or provider secret to the log, at trace level', async () => {
    const { Writable } = await import('node:stream');
    const { pino } = await import('pino');
    let log = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        log += chunk.toString();
        cb();
      },
    });
    const up = await startFakeUpstream();
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-cfg-')), 'c.json');
    writeFileSync(file, JSON.stringify({ providers: [{ name: 'fake', base_url: up.url, api_key_env: 'FAKE_UPSTREAM_KEY' }] }));
    const t = await startTestServer(
      { name: 'sqlite' },
      { env: { TOLLGATE_CONFIG: file, FAKE_UPSTREAM_KEY: UPSTREAM_SECRET }, logger: pino({ level: 'trace' }, sink) },
    );
    try {
      const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'log' } })).body;
      const c = new OpenAI({ apiKey: k.value, baseURL: `${t.url}/v1`, maxRetries: 0 });
      await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
      const s = await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [], stream: true });
      for await (const _ of s) {
        // drain
      }
      await c.chat.completions.create({ model: 'error500', messages: [] }).catch(() => {});
      await c.chat.completions.create({ model: 'badjson', messages: [] }).catch(() => {});
      await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}/rotate`, { body: { grace_period_seconds: 0 } });
      await c.models.list().catch(() => {});
      await t.api('DELETE', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}`);
      await new OpenAI({ apiKey: `${k.value}x`, baseURL: `${t.url}/v1`, maxRetries: 0 }).models.list().catch(() => {});
      await fetch(`${t.url}/v1/organization/projects`, { headers: { authorization: `Bearer ${t.adminKey.slice(0, -1)}${t.adminKey.endsWith('Z') ? 'Y' : 'Z'}` } });
      await t.server.gateway.usage.flush();
    } finally {
      await t.close();
      await up.close();
    }
    expect(log.length).toBeGreaterThan(0);
    for (const secret of [UPSTREAM_SECRET, t.adminKey]) {
      expect(log).not.toContain(secret);
      expect(log).not.toContain(secret.slice(12, 40));
    }
    expect(log).not.toMatch(/sk-tg-[0-9A-Za-z]{20}/);
  });
});
