import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, describeEachDatabase, describeWithRedis } from './harness/backends.js';
import { BACKGROUND_USAGE, type FakeUpstream, IMAGE_USAGE, startFakeUpstream, TRANSCRIBED_SECONDS } from './harness/fake-upstream.js';
import { contractProblems, specAvailable } from './harness/openapi-contract.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Issue 15, §3 and §4: every forwarded request is counted, no model is free for lack of a price, every endpoint
// family is metered or refused to spend-limited keys, and a background response is billed once when retrieved.

const ORG = '/v1/organization';

function configFile(upstream: FakeUpstream, extra: Record<string, unknown> = {}): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tollgate-meter-')), 'tollgate.config.json');
  // Mistral's own model endpoint, forwarded as the operator lists it (docs/gateway-paths.md).
  writeFileSync(file, JSON.stringify({ providers: [{ name: 'fake', base_url: upstream.url, api_key_env: 'FAKE_UPSTREAM_KEY' }], pass_through_paths: ['/v1/fim/completions'], ...extra }));
  return file;
}

function gateway(backend: Backend, upstream: FakeUpstream, extra: Record<string, unknown> = {}, env: Record<string, string> = {}, opts: { schema?: string; keepSchema?: boolean } = {}) {
  return startTestServer(backend, { env: { TOLLGATE_CONFIG: configFile(upstream, extra), FAKE_UPSTREAM_KEY: 'sk-upstream', ...env }, ...opts });
}

interface Key {
  id: string;
  value: string;
}

/** Calls the gateway with a JSON body, a form, or nothing. */
async function call(t: TestServer, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: { error?: Record<string, unknown> } & Record<string, unknown> }> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  let payload: string | FormData | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${t.url}${path}`, { method, headers, body: payload });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed };
}

const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });

function form(fields: Record<string, string>, files: Record<string, string> = {}): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  for (const [k, v] of Object.entries(files)) f.append(k, new Blob([v], { type: 'application/octet-stream' }), `${k}.bin`);
  return f;
}

async function eventsOf(t: TestServer, keyId: string) {
  // Twice: a flush already under way (the recorder's timer) may have started before the last event was recorded.
  await t.server.gateway.usage.flush();
  await t.server.gateway.usage.flush();
  const rows = await t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', keyId).orderBy('created_at_ms').orderBy('id').execute();
  return rows.map((r) => ({ ...r, cost_nanousd: Number(r.cost_nanousd), units: Number(r.units), billable: Number(r.billable), unpriced: Number(r.unpriced) }));
}

const seenAt = (up: FakeUpstream, path: string) => up.seen.filter((s) => s.url.split('?')[0] === path).length;

/**
 * An input file and an assistant of a project's own, for the requests that name them (object isolation refuses
 * objects of no project): made outside Tollgate, assigned by an operator.
 */
async function owned(t: TestServer, project: string, tag: string): Promise<{ file: string; assistant: string }> {
  const ids = { file: `file-${tag}`, assistant: `asst_${tag}` };
  for (const id of Object.values(ids)) expect((await t.api('POST', `${ORG}/projects/${project}/upstream_objects`, { body: { id } })).status).toBe(200);
  return ids;
}

describeEachDatabase('metering every forwarded request', (backend) => {
  let up: FakeUpstream;
  let t: TestServer;
  const newKey = async (body: Record<string, unknown> = {}, project = t.defaultProjectId): Promise<Key> =>
    (await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'meter', ...body } })).body;

  let mine: { file: string; assistant: string };
  beforeAll(async () => {
    up = await startFakeUpstream();
    t = await gateway(backend, up);
    mine = await owned(t, t.defaultProjectId, 'default');
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  describe('request quotas and rates count every forwarded request', () => {
    it('cuts ten image generations and five batch creations at a request quota of 3', async () => {
      const images = await newKey({ request_quota: { max_requests: 3, interval: 'total' } });
      const before = seenAt(up, '/v1/images/generations');
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) statuses.push((await call(t, images.value, 'POST', '/v1/images/generations', { model: 'dall-e-2', prompt: 'a cat' })).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429, 429, 429, 429, 429, 429]);
      expect(seenAt(up, '/v1/images/generations') - before).toBe(3);

      const batches = await newKey({ request_quota: { max_requests: 3, interval: 'total' } });
      const seenBatches = seenAt(up, '/v1/batches');
      const refused = [];
      for (let i = 0; i < 5; i++) {
        const r = await call(t, batches.value, 'POST', '/v1/batches', { input_file_id: mine.file, endpoint: '/v1/chat/completions', completion_window: '24h' });
        if (r.status === 429) refused.push(r.body.error);
        else expect(r.status).toBe(200);
      }
      expect(seenAt(up, '/v1/batches') - seenBatches).toBe(3);
      expect(refused).toHaveLength(2);
      expect(refused[0]).toMatchObject({ type: 'insufficient_quota', code: 'api_key_quota_exceeded' });
    });

    it('lets exactly N of many concurrent reads through a quota of N, and counts answers that failed upstream', async () => {
      const k = await newKey({ request_quota: { max_requests: 5, interval: 'total' } });
      const before = seenAt(up, '/v1/files');
      const results = await Promise.all(Array.from({ length: 30 }, () => call(t, k.value, 'GET', '/v1/files')));
      expect(results.filter((r) => r.status === 200)).toHaveLength(5);
      expect(seenAt(up, '/v1/files') - before).toBe(5);

      const failing = await newKey({ request_quota: { max_requests: 2, interval: 'total' } });
      expect((await call(t, failing.value, 'POST', '/v1/chat/completions', chat('error500'))).status).toBe(500);
      expect((await call(t, failing.value, 'POST', '/v1/chat/completions', chat('error500'))).status).toBe(500);
      const third = await call(t, failing.value, 'POST', '/v1/chat/completions', chat('gpt-4o-mini'));
      expect(third.status).toBe(429);
      expect(third.body.error?.code).toBe('api_key_quota_exceeded');
    });

    it('counts reads and object creations against RPM', async () => {
      const k = await newKey({ rate_limits: { max_requests_per_1_minute: 2 } });
      expect((await call(t, k.value, 'GET', '/v1/files')).status).toBe(200);
      expect((await call(t, k.value, 'POST', '/v1/batches', { input_file_id: mine.file })).status).toBe(200);
      expect((await call(t, k.value, 'GET', '/v1/files')).body.error?.code).toBe('rate_limit_exceeded');
    });
  });

  describe('spend limits refuse what Tollgate cannot meter', () => {
    const unmetered = (own: { file: string; assistant: string }): Array<[string, string, Record<string, unknown>]> => [
      ['POST', '/v1/batches', { input_file_id: own.file, endpoint: '/v1/chat/completions', completion_window: '24h' }],
      ['POST', '/v1/fine_tuning/jobs', { model: 'gpt-4o-mini', training_file: own.file }],
      ['POST', '/v1/threads/runs', { assistant_id: own.assistant }],
      ['POST', '/v1/vector_stores', { name: 'docs' }],
      ['POST', '/v1/realtime/client_secrets', { session: { type: 'realtime', model: 'gpt-realtime' } }],
      ['POST', '/v1/responses', { model: 'gpt-4o', input: 'hi', background: true }],
      // Hosted tools are billed per call, outside the answer's usage.
      ['POST', '/v1/responses', { model: 'gpt-4o', input: 'hi', tools: [{ type: 'web_search' }] }],
      ['POST', '/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], web_search_options: {} }],
      // A search model searches the web on every call, at a fee per call.
      ['POST', '/v1/chat/completions', { model: 'gpt-4o-search-preview', messages: [{ role: 'user', content: 'news?' }] }],
      // A stored prompt's template may hold hosted tools the request does not show.
      ['POST', '/v1/responses', { model: 'gpt-4o', input: 'hi', prompt: { id: 'pmpt_1', version: '3' } }],
      // The shell in a container the provider creates, billed per container.
      ['POST', '/v1/responses', { model: 'gpt-4o', input: 'ls', tools: [{ type: 'shell', environment: { type: 'container_auto' } }] }],
      // Vector stores the provider creates for an assistant or a thread, as POST /v1/vector_stores does.
      ['POST', '/v1/assistants', { model: 'gpt-4o-mini', tools: [{ type: 'file_search' }], tool_resources: { file_search: { vector_stores: [{ file_ids: [own.file] }] } } }],
      ['POST', '/v1/threads', { messages: [{ role: 'user', content: 'hi', attachments: [{ file_id: own.file, tools: [{ type: 'file_search' }] }] }] }],
      // The same in another case, as an upstream folding names reads them (they were forwarded as free).
      ['POST', '/v1/responses', { model: 'gpt-4o', input: 'hi', tools: [{ Type: 'web_search' }] }],
      ['POST', '/v1/responses', { model: 'gpt-4o', input: 'ls', tools: [{ Type: 'shell', Environment: { Type: 'container_auto' } }] }],
      ['POST', '/v1/threads', { messages: [{ role: 'user', content: 'hi', attachments: [{ file_id: own.file, Tools: [{ Type: 'file_search' }] }] }] }],
      // A route the API does not list: billed only if its answer happens to report usage.
      ['POST', '/v1/fim/completions', { model: 'gpt-4o-mini', prompt: 'def' }],
    ];

    /** The member a refusal names: the one that keeps a model call from budgets; none for an endpoint itself. */
    const refusedParam = (path: string, body: Record<string, unknown>): string | null =>
      !['/v1/responses', '/v1/chat/completions'].includes(path) ? null : body.background ? 'background' : body.tools ? 'tools' : body.web_search_options ? 'web_search_options' : body.prompt ? 'prompt' : String(body.model).includes('-search-') ? 'model' : null;

    async function expectRefused(key: Key, who: string, own = mine) {
      const before = up.seen.length;
      for (const [method, path, body] of unmetered(own)) {
        const r = await call(t, key.value, method, path, body);
        expect(r.status, path).toBe(403);
        expect(r.body.error, path).toMatchObject({ type: 'invalid_request_error', code: 'endpoint_not_metered', param: refusedParam(path, body) });
        expect(String(r.body.error?.message)).toContain(who);
      }
      expect(up.seen.length).toBe(before);
      // What costs nothing, and what is metered, still goes through.
      expect((await call(t, key.value, 'GET', '/v1/files')).status).toBe(200);
      expect((await call(t, key.value, 'POST', '/v1/chat/completions', chat('gpt-4o-mini'))).status).toBe(200);
      // Forwarded (the fake upstream serves no threads).
      const forwarded = up.seen.length;
      expect((await call(t, key.value, 'POST', '/v1/threads', { messages: [{ role: 'user', content: 'hi', attachments: [{ file_id: own.file, tools: [{ type: 'code_interpreter' }] }] }] })).status).toBe(404);
      expect(up.seen.length).toBe(forwarded + 1);
      const local = { model: 'gpt-4o-mini', input: 'ls', max_output_tokens: 50, tools: [{ type: 'shell', environment: { type: 'local' } }] };
      expect((await call(t, key.value, 'POST', '/v1/responses', local)).status).toBe(200);
    }

    it('for a key with a spend limit', async () => {
      const k = await newKey({ spend_limit: { threshold_amount: 100, interval: 'month' } });
      await expectRefused(k, 'this API key has a spend limit');
      // A member a check decides on given in two spellings: which an upstream folding names takes cannot be known.
      const twice = up.seen.length;
      for (const [body, param] of [
        [{ model: 'gpt-4o-mini', input: 'ls', tools: [{ type: 'shell', environment: { type: 'local' }, Environment: { type: 'container_auto' } }] }, 'environment'],
        [{ model: 'gpt-4o-mini', input: 'ls', tools: [{ type: 'shell', environment: { type: 'local', TYPE: 'container_auto' } }] }, 'type'],
        [{ model: 'gpt-4o-mini', input: 'x', tools: [{ type: 'function', name: 'f', Type: 'web_search' }] }, 'type'],
      ] as const) {
        const r = await call(t, k.value, 'POST', '/v1/responses', body);
        expect([r.status, r.body.error?.code, r.body.error?.param], JSON.stringify(body)).toEqual([400, 'invalid_value', param]);
      }
      expect(up.seen.length).toBe(twice);
      // A transcription whose answer would report no duration is billed at a guess: not for a budget.
      const before = up.seen.length;
      for (const format of ['text', 'srt', 'vtt']) {
        const r = await call(t, k.value, 'POST', '/v1/audio/transcriptions', form({ model: 'whisper-1', response_format: format }, { file: 'AUDIO' }));
        expect(r.body.error, format).toMatchObject({ code: 'endpoint_not_metered' });
      }
      expect(up.seen.length).toBe(before);
      expect((await call(t, k.value, 'POST', '/v1/audio/transcriptions', form({ model: 'whisper-1' }, { file: 'AUDIO' }))).status).toBe(200);
    });

    it('for a key whose project has an enforced spend limit, not a notify-only one', async () => {
      const p = (await t.api('POST', `${ORG}/projects`, { body: { name: 'capped' } })).body.id;
      await t.api('POST', `${ORG}/projects/${p}/spend_limit`, { body: { threshold_amount: 100, interval: 'month' } });
      await expectRefused(await newKey({}, p), "this key's project has a spend limit", await owned(t, p, 'capped'));
      const q = (await t.api('POST', `${ORG}/projects`, { body: { name: 'notify only' } })).body.id;
      await t.api('POST', `${ORG}/projects/${q}/spend_limit`, { body: { threshold_amount: 100, interval: 'month', enforcement: { status: 'disabled' } } });
      const k = await newKey({}, q);
      const notified = await owned(t, q, 'notified');
      expect((await call(t, k.value, 'POST', '/v1/batches', { input_file_id: notified.file })).status).toBe(200);
    });

    it('for every key of an organization with a spend limit', async () => {
      const k = await newKey();
      await t.api('POST', `${ORG}/spend_limit`, { body: { threshold_amount: 100_000, interval: 'month' } });
      try {
        await expectRefused(k, 'the organization has a spend limit');
      } finally {
        await t.api('DELETE', `${ORG}/spend_limit`);
      }
      expect((await call(t, k.value, 'POST', '/v1/batches', { input_file_id: mine.file })).status).toBe(200);
    });
  });

  describe('models without a price', () => {
    it('are refused to budgeted keys before forwarding, in every spelling of an unpriced request', async () => {
      const k = await newKey({ spend_limit: { threshold_amount: 100, interval: 'month' } });
      const before = up.seen.length;
      for (const model of ['gpt-9-unknown', 'o1-pro-experimental', 'gpt-4o-mini-2024-13-45', 'GPT-4O']) {
        const r = await call(t, k.value, 'POST', '/v1/chat/completions', chat(model));
        expect(r.status, model).toBe(403);
        expect(r.body.error).toMatchObject({ type: 'invalid_request_error', code: 'model_not_priced', param: 'model' });
        expect(String(r.body.error?.message)).toContain(`'${model}'`);
      }
      // An image request that names no model, a size DALL·E 3 has no price for, a token-priced speech model.
      const images = await call(t, k.value, 'POST', '/v1/images/generations', { prompt: 'a cat' });
      expect(images.body.error).toMatchObject({ code: 'model_not_priced' });
      // A model named only in the query string may not be the one the upstream runs: refused for every key, before
      // its price is asked (test/defaulted-models.test.ts).
      const queried = await call(t, k.value, 'POST', '/v1/images/generations?model=dall-e-2', { prompt: 'a cat' });
      expect(queried.body.error).toMatchObject({ code: 'invalid_value', param: 'model' });
      expect((await call(t, k.value, 'POST', '/v1/images/generations', { model: 'dall-e-3', prompt: 'x', size: '512x512' })).body.error).toMatchObject({ code: 'model_not_priced' });
      expect((await call(t, k.value, 'POST', '/v1/audio/speech', { model: 'gpt-4o-mini-tts', input: 'hi', voice: 'alloy' })).body.error).toMatchObject({ code: 'model_not_priced' });
      expect(up.seen.length).toBe(before);
      // Dated snapshots of priced models are priced.
      expect((await call(t, k.value, 'POST', '/v1/chat/completions', chat('gpt-4o-mini-2024-07-18'))).status).toBe(200);
    });

    it('are forwarded for keys without a budget, recorded with their tokens at cost 0 and flagged, and shown in the usage API', async () => {
      const k = await newKey();
      const r = await call(t, k.value, 'POST', '/v1/chat/completions', chat('gpt-9-unknown'));
      expect(r.status).toBe(200);
      const [e] = await eventsOf(t, k.id);
      expect(e).toMatchObject({ model: 'gpt-9-unknown', billable: 1, input_tokens: 11, output_tokens: 7, cost_nanousd: 0, unpriced: 1 });
      const start = Math.floor(e.created_at_ms / 1000) - 1;
      const usage = await t.api('GET', `${ORG}/usage/completions?start_time=${start}&group_by=api_key_id,model&api_key_ids=${k.id}`);
      expect(usage.body.data[0].results).toEqual([
        expect.objectContaining({ api_key_id: k.id, model: 'gpt-9-unknown', num_model_requests: 1, input_tokens: 11, output_tokens: 7, cost_usd: 0, num_unpriced_requests: 1 }),
      ]);
      const minutes = await t.api('GET', `${ORG}/usage/completions?start_time=${start}&bucket_width=1m&api_key_ids=${k.id}`);
      expect(minutes.body.data.flatMap((b: { results: unknown[] }) => b.results)).toEqual([expect.objectContaining({ num_unpriced_requests: 1, num_model_requests: 1 })]);
    });

    it('price o1-pro as itself, and a snapshot priced apart as itself', async () => {
      const k = await newKey();
      expect((await call(t, k.value, 'POST', '/v1/chat/completions', chat('o1-pro'))).status).toBe(200);
      expect((await call(t, k.value, 'POST', '/v1/chat/completions', chat('gpt-4o-2024-05-13'))).status).toBe(200);
      const [o1pro, snapshot] = await eventsOf(t, k.id);
      // 11 input tokens (3 cached, no cached price) at $150/1M, 7 output at $600/1M (o1: $15 and $60).
      expect(o1pro).toMatchObject({ model: 'o1-pro', cost_nanousd: 11 * 150_000 + 7 * 600_000, unpriced: 0 });
      expect(snapshot).toMatchObject({ cost_nanousd: 11 * 5000 + 7 * 15_000 });
    });
  });

  describe('images and audio', () => {
    it('prices DALL·E per image by quality, size and count, GPT Image by its tokens, forms too', async () => {
      const k = await newKey();
      expect((await call(t, k.value, 'POST', '/v1/images/generations', { model: 'dall-e-3', prompt: 'x', quality: 'hd', size: '1024x1792' })).status).toBe(200);
      expect((await call(t, k.value, 'POST', '/v1/images/generations', { model: 'dall-e-2', prompt: 'x', size: '256x256', n: 3 })).status).toBe(200);
      expect((await call(t, k.value, 'POST', '/v1/images/generations', { model: 'gpt-image-1', prompt: 'x', quality: 'low', n: 2 })).status).toBe(200);
      expect((await call(t, k.value, 'POST', '/v1/images/variations', form({ model: 'dall-e-2', size: '512x512', n: '2' }, { image: 'PNGDATA' }))).status).toBe(200);
      const [hd, small, gptImage, variations] = await eventsOf(t, k.id);
      expect(hd).toMatchObject({ model: 'dall-e-3', billable: 1, units: 1, cost_nanousd: 120_000_000 });
      expect(small).toMatchObject({ model: 'dall-e-2', units: 3, cost_nanousd: 3 * 16_000_000 });
      // 40 text and 10 image input tokens, 2 × 4160 image output tokens of gpt-image-1 ($5, $10, $40 per 1M).
      const output = 2 * IMAGE_USAGE.output_tokens;
      expect(gptImage).toMatchObject({ model: 'gpt-image-1', units: 2, input_tokens: 50, output_tokens: output, cost_nanousd: 40 * 5000 + 10 * 10_000 + output * 40_000 });
      expect(variations).toMatchObject({ model: 'dall-e-2', endpoint: '/images/variations', units: 2, cost_nanousd: 2 * 18_000_000 });
      const start = Math.floor(hd.created_at_ms / 1000) - 1;
      const usage = await t.api('GET', `${ORG}/usage/images?start_time=${start}&api_key_ids=${k.id}&group_by=model`);
      const byModel = Object.fromEntries(usage.body.data[0].results.map((r: { model: string; images: number }) => [r.model, r]));
      expect(byModel['dall-e-2']).toMatchObject({ object: 'organization.usage.images.result', images: 5, num_model_requests: 2, size: null, source: null });
      if (specAvailable()) expect(contractProblems('GET', '/organization/usage/images', 200, usage.body)).toEqual([]);
      expect((await t.api('GET', `${ORG}/usage/images?start_time=${start}&group_by=size`)).status).toBe(400);
    });

    it('bills images whose answer is too large to hold (streamed through) at what was asked for', async () => {
      const k = await newKey();
      const r = await fetch(`${t.url}/v1/images/generations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${k.value}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'dall-e-2', prompt: 'x', size: '512x512', n: 3, response_format: 'b64_json', user: 'huge' }),
      });
      expect(r.status).toBe(200);
      expect((await r.text()).length).toBeGreaterThan(9 * 1024 * 1024);
      const [e] = await eventsOf(t, k.id);
      expect(e).toMatchObject({ model: 'dall-e-2', billable: 1, units: 3, cost_nanousd: 3 * 18_000_000 });
    });

    it('reserves an image generation against a budget and settles it to what was generated', async () => {
      // 6 cents: one standard DALL·E 3 image (4 cents) fits, a second does not, a small DALL·E 2 one (1.6) does.
      const k = await newKey({ spend_limit: { threshold_amount: 6, interval: 'month' } });
      const first = await call(t, k.value, 'POST', '/v1/images/generations', { model: 'dall-e-3', prompt: 'x' });
      expect(first.status).toBe(200);
      const second = await call(t, k.value, 'POST', '/v1/images/generations', { model: 'dall-e-3', prompt: 'x' });
      expect(second.body.error).toMatchObject({ code: 'api_key_spend_limit_exceeded' });
      expect((await call(t, k.value, 'POST', '/v1/images/generations', { model: 'dall-e-2', prompt: 'x', size: '256x256' })).status).toBe(200);
    });

    it('prices speech by character and transcriptions by the seconds or tokens the answer reports', async () => {
      const k = await newKey();
      expect((await call(t, k.value, 'POST', '/v1/audio/speech', { model: 'tts-1', input: 'hello world', voice: 'alloy' })).status).toBe(200);
      expect((await call(t, k.value, 'POST', '/v1/audio/speech', { model: 'tts-1-hd', input: 'héllo 👋', voice: 'alloy' })).status).toBe(200);
      expect((await call(t, k.value, 'POST', '/v1/audio/transcriptions', form({ model: 'whisper-1' }, { file: 'AUDIO'.repeat(100) }))).status).toBe(200);
      expect((await call(t, k.value, 'POST', '/v1/audio/transcriptions', form({ model: 'gpt-4o-transcribe' }, { file: 'AUDIO' }))).status).toBe(200);
      const text = await call(t, k.value, 'POST', '/v1/audio/translations', form({ model: 'whisper-1', response_format: 'text' }, { file: 'A'.repeat(10_000) }));
      expect(text.body).toEqual({ text: 'hello' });
      const textBytes = Buffer.byteLength(up.seen.at(-1)?.body ?? '');
      expect((await call(t, k.value, 'POST', '/v1/audio/speech', { model: 'gpt-4o-mini-tts', input: 'hi', voice: 'alloy' })).status).toBe(200);
      const [tts, hd, whisper, tokens, plain, unpriced] = await eventsOf(t, k.id);
      expect(tts).toMatchObject({ model: 'tts-1', billable: 1, units: 11, cost_nanousd: 11 * 15_000 });
      // Characters are code points: 'héllo 👋' is 7.
      expect(hd).toMatchObject({ model: 'tts-1-hd', units: 7, cost_nanousd: 7 * 30_000 });
      expect(whisper).toMatchObject({ model: 'whisper-1', units: TRANSCRIBED_SECONDS, cost_nanousd: TRANSCRIBED_SECONDS * 100_000 });
      // 300 audio input tokens at $6/1M, 20 output tokens at $10/1M.
      expect(tokens).toMatchObject({ model: 'gpt-4o-transcribe', input_tokens: 300, output_tokens: 20, cost_nanousd: 300 * 6000 + 20 * 10_000 });
      // A plain-text answer reports no duration: billed at the estimate, the body at 16 kbit/s.
      expect(plain).toMatchObject({ endpoint: '/audio/translations', cost_nanousd: Math.ceil(textBytes / 2000) * 100_000 });
      expect(unpriced).toMatchObject({ model: 'gpt-4o-mini-tts', billable: 1, cost_nanousd: 0, unpriced: 1, units: 2 });
      const start = Math.floor(tts.created_at_ms / 1000) - 1;
      const speeches = await t.api('GET', `${ORG}/usage/audio_speeches?start_time=${start}&api_key_ids=${k.id}`);
      expect(speeches.body.data[0].results).toEqual([expect.objectContaining({ object: 'organization.usage.audio_speeches.result', characters: 20, num_model_requests: 3, num_unpriced_requests: 1 })]);
      if (specAvailable()) expect(contractProblems('GET', '/organization/usage/audio_speeches', 200, speeches.body)).toEqual([]);
      const seconds = await t.api('GET', `${ORG}/usage/audio_transcriptions?start_time=${start}&api_key_ids=${k.id}&group_by=model`);
      if (specAvailable()) expect(contractProblems('GET', '/organization/usage/audio_transcriptions', 200, seconds.body)).toEqual([]);
      expect(seconds.body.data[0].results).toEqual(
        expect.arrayContaining([expect.objectContaining({ object: 'organization.usage.audio_transcriptions.result', model: 'whisper-1', seconds: TRANSCRIBED_SECONDS, num_model_requests: 2 })]),
      );
    });
  });

  it('adds images and audio to the CLI usage report', async () => {
    const { runCli } = await import('../src/cli/main.js');
    const k = await newKey();
    expect((await call(t, k.value, 'POST', '/v1/images/generations', { model: 'dall-e-2', prompt: 'x', size: '256x256', n: 2 })).status).toBe(200);
    expect((await call(t, k.value, 'POST', '/v1/audio/speech', { model: 'tts-1', input: 'hello', voice: 'alloy' })).status).toBe(200);
    await eventsOf(t, k.id);
    let out = '';
    const io = { env: { LOG_LEVEL: 'silent' }, out: (s: string) => (out += s), err: (s: string) => (out += s) };
    expect(await runCli(['node', 'tollgate', '--server', t.url, '--admin-key', t.adminKey, 'usage', '--project', t.defaultProjectId, '--by', 'key', '--since', '1d', '--json'], io)).toBe(0);
    const row = (JSON.parse(out).data as Array<{ api_key_id: string; requests: number; cost_usd: number }>).find((r) => r.api_key_id === k.id);
    expect(row).toMatchObject({ requests: 2, cost_usd: (2 * 16_000_000 + 5 * 15_000) / 1e9 });
  });

  describe('background responses', () => {
    it('bill the finished result once, on the retrieval that sees it, never on creation or a second retrieval', async () => {
      const k = await newKey();
      const created = await call(t, k.value, 'POST', '/v1/responses', { model: 'gpt-4o', input: 'hi', background: true });
      expect(created.body).toMatchObject({ status: 'queued' });
      const id = String(created.body.id);
      expect((await call(t, k.value, 'GET', `/v1/responses/${id}`)).body).toMatchObject({ status: 'in_progress' });
      // Retrieved finished several times at once: one of them bills it.
      const done = await Promise.all(Array.from({ length: 4 }, () => call(t, k.value, 'GET', `/v1/responses/${id}`)));
      expect(done.every((r) => r.body.status === 'completed')).toBe(true);
      expect((await call(t, k.value, 'GET', `/v1/responses/${id}`)).status).toBe(200);
      const events = await eventsOf(t, k.id);
      expect(events).toHaveLength(7);
      expect(events[0]).toMatchObject({ method: 'POST', endpoint: '/responses', billable: 0, cost_nanousd: 0 });
      const billed = events.filter((e) => e.billable === 1);
      expect(billed).toHaveLength(1);
      expect(billed[0]).toMatchObject({
        method: 'GET',
        model: 'gpt-4o',
        input_tokens: BACKGROUND_USAGE.input_tokens,
        output_tokens: BACKGROUND_USAGE.output_tokens,
        cost_nanousd: 1000 * 2500 + 100_000 * 10_000,
      });
      // The usage API counts the bill as a completion, by hour and by minute.
      const start = Math.floor(events[0].created_at_ms / 1000) - 1;
      for (const width of ['1h', '1m']) {
        const usage = await t.api('GET', `${ORG}/usage/completions?start_time=${start}&bucket_width=${width}&api_key_ids=${k.id}`);
        expect(usage.body.data.flatMap((b: { results: unknown[] }) => b.results), width).toEqual([
          expect.objectContaining({ num_model_requests: 1, output_tokens: BACKGROUND_USAGE.output_tokens, cost_usd: 1.0025 }),
        ]);
      }
      // Its stream resumed (GET …?stream=true) after it was billed: not billed again. Another one's first resumed
      // stream that finishes bills it.
      const other = String((await call(t, k.value, 'POST', '/v1/responses', { model: 'gpt-4o-mini', input: 'hi', background: true })).body.id);
      for (const rid of [id, other]) {
        const res = await fetch(`${t.url}/v1/responses/${rid}?stream=true`, { headers: { authorization: `Bearer ${k.value}` } });
        expect(await res.text()).toContain('response.completed');
      }
      const after = (await eventsOf(t, k.id)).filter((e) => e.billable === 1);
      expect(after).toHaveLength(2);
      expect(after[1]).toMatchObject({ model: 'gpt-4o-mini', streamed: 1, output_tokens: BACKGROUND_USAGE.output_tokens, cost_nanousd: 1000 * 150 + 100_000 * 600 });
      // Cancelled, it answers its usage: billed once, by the cancellation, and not again when retrieved after
      // (found by an outside review: a cancellation was free, and its answer carried the whole result).
      const cancelled = String((await call(t, k.value, 'POST', '/v1/responses', { model: 'gpt-4o', input: 'hi', background: true })).body.id);
      expect((await call(t, k.value, 'POST', `/v1/responses/${cancelled}/cancel`)).status).toBe(200);
      await call(t, k.value, 'GET', `/v1/responses/${cancelled}`);
      await call(t, k.value, 'GET', `/v1/responses/${cancelled}`);
      const withCancel = (await eventsOf(t, k.id)).filter((e) => e.billable === 1);
      expect(withCancel).toHaveLength(3);
      expect(withCancel[2]).toMatchObject({ endpoint: "/responses/{response_id}/cancel", output_tokens: BACKGROUND_USAGE.output_tokens });
      // Kept in a conversation, its result could be read there unbilled: refused, naming the member.
      const inConversation = await call(t, k.value, 'POST', '/v1/responses', { model: 'gpt-4o', input: 'hi', background: true, conversation: 'conv_1' });
      expect(inConversation.status).toBe(400);
      expect(inConversation.body.error).toMatchObject({ code: 'invalid_value', param: 'conversation' });
      // A response that was not made in the background is billed when made, never when retrieved.
      const sync = await newKey();
      expect((await call(t, sync.value, 'POST', '/v1/responses', { model: 'gpt-4o', input: 'hi' })).status).toBe(200);
      expect((await eventsOf(t, sync.id)).map((e) => [e.billable, e.output_tokens])).toEqual([[1, 7]]);
    });
  });
});

describeEachDatabase('metering after a restart', (backend) => {
  it('bills a background response created before a restart once, and seeds quotas with every forwarded request', async () => {
    const up = await startFakeUpstream();
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-meter-restart-')), 'shared.db');
    const env: Record<string, string> = backend.name === 'sqlite' ? { DATABASE_URL: `sqlite:${file}` } : {};
    const first = await gateway(backend, up, {}, env, { keepSchema: true });
    let key: Key;
    let quota: Key;
    let id: string;
    try {
      key = (await first.api('POST', `${ORG}/projects/${first.defaultProjectId}/api_keys`, { body: { name: 'bg' } })).body;
      quota = (await first.api('POST', `${ORG}/projects/${first.defaultProjectId}/api_keys`, { body: { name: 'q', request_quota: { max_requests: 3, interval: 'month' } } })).body;
      id = String((await call(first, key.value, 'POST', '/v1/responses', { model: 'gpt-4o', input: 'hi', background: true })).body.id);
      const own = await owned(first, first.defaultProjectId, 'restart');
      expect((await call(first, quota.value, 'GET', '/v1/files')).status).toBe(200);
      expect((await call(first, quota.value, 'POST', '/v1/batches', { input_file_id: own.file })).status).toBe(200);
    } finally {
      await first.close();
    }
    const second = await gateway(backend, up, {}, env, { schema: first.schema });
    try {
      expect((await call(second, key.value, 'GET', `/v1/responses/${id}`)).body.status).toBe('in_progress');
      expect((await call(second, key.value, 'GET', `/v1/responses/${id}`)).body.status).toBe('completed');
      expect((await call(second, key.value, 'GET', `/v1/responses/${id}`)).body.status).toBe('completed');
      const billed = (await eventsOf(second, key.id)).filter((e) => e.billable === 1);
      expect(billed.map((e) => e.output_tokens)).toEqual([BACKGROUND_USAGE.output_tokens]);
      // Two forwarded requests (neither a model call) before the restart: one more fits a quota of 3.
      expect((await call(second, quota.value, 'GET', '/v1/files')).status).toBe(200);
      expect((await call(second, quota.value, 'GET', '/v1/files')).body.error?.code).toBe('api_key_quota_exceeded');
    } finally {
      await second.close();
      await up.close();
    }
  });
});

describe('pricing.default', () => {
  it('prices unknown models for budgeted keys at the operator default', async () => {
    const up = await startFakeUpstream();
    const t = await gateway({ name: 'sqlite' }, up, { pricing: { default: { input: 1, output: 2 }, 'gpt-4o-mini': { input: 0.3, output: 1.2 } } });
    try {
      const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { spend_limit: { threshold_amount: 100 } } })).body;
      expect((await call(t, k.value, 'POST', '/v1/chat/completions', chat('gpt-9-unknown'))).status).toBe(200);
      expect((await call(t, k.value, 'POST', '/v1/chat/completions', chat('gpt-4o-mini'))).status).toBe(200);
      const [unknown, overridden] = await eventsOf(t, k.id);
      expect(unknown).toMatchObject({ cost_nanousd: 11 * 1000 + 7 * 2000, unpriced: 0 });
      expect(overridden).toMatchObject({ cost_nanousd: 11 * 300 + 7 * 1200 });
    } finally {
      await t.close();
      await up.close();
    }
  });

  it('is refused when it names no rate', async () => {
    const up = await startFakeUpstream();
    try {
      await expect(gateway({ name: 'sqlite' }, up, { pricing: { default: {} } })).rejects.toThrow(/pricing\.default/);
    } finally {
      await up.close();
    }
  });
});

describeWithRedis('request quotas on Redis', (redisUrl) => {
  it('cut ten image generations at 3', async () => {
    const up = await startFakeUpstream();
    const t = await gateway({ name: 'sqlite' }, up, {}, { REDIS_URL: redisUrl });
    try {
      const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { request_quota: { max_requests: 3, interval: 'total' } } })).body;
      const results = await Promise.all(Array.from({ length: 10 }, () => call(t, k.value, 'POST', '/v1/images/generations', { model: 'dall-e-2', prompt: 'x' })));
      expect(results.filter((r) => r.status === 200)).toHaveLength(3);
      expect(seenAt(up, '/v1/images/generations')).toBe(3);
    } finally {
      await t.close();
      await up.close();
    }
  });
});
