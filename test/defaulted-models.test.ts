import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from './harness/fake-upstream.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// Images, moderations and videos run a default model when the body names none. Found by an outside review: (1) a
// project's per-model rate limits never saw such a request (planned for no model), which ran the upstream's default;
// (2) a model named only in the query string routed, limited and billed the request as that model, or as none, while
// the upstream ran it (Azure's deployment URL) or its default (OpenAI). Now a project that limits models needs the
// model named, and a model in the query string alone is refused on these endpoints.

const ORG = '/v1/organization';

describe('endpoints that run a default model', () => {
  let up: FakeUpstream;
  let t: TestServer;
  beforeAll(async () => {
    up = await startFakeUpstream();
    const file = gatewayConfigFile({
      providers: [
        { name: 'fake', base_url: up.url, api_key_env: 'FAKE_KEY' },
        { name: 'ant', kind: 'anthropic', base_url: up.url, api_key_env: 'FAKE_KEY' },
      ],
      default_provider: 'fake',
      routes: { 'claude-*': 'ant' },
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, FAKE_KEY: 'sk-fake-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  const post = (key: string, path: string, body: unknown) =>
    fetch(`${t.url}/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const keyIn = async (project: string) => (await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'k' } })).body.value as string;

  it('a project that limits models needs the model named; one that does not lets the upstream pick', async () => {
    const limited = (await t.api('POST', `${ORG}/projects`, { body: { name: 'limits models' } })).body.id;
    expect((await t.api('POST', `${ORG}/projects/${limited}/rate_limits`, { body: { model: 'dall-e-3', max_requests_per_1_minute: 1 } })).status).toBe(200);
    const key = await keyIn(limited);
    const before = up.seen.length;
    for (const [path, body] of [
      ['/images/generations', { prompt: 'a cat' }],
      ['/moderations', { input: 'hello' }],
    ] as const) {
      const res = await post(key, path, body);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { error: { code: string; param: string } }).error).toMatchObject({ code: 'missing_required_parameter', param: 'model' });
    }
    expect(up.seen.length).toBe(before);
    expect((await post(key, '/images/generations', { model: 'dall-e-3', prompt: 'a cat' })).status).toBe(200);
    expect((await post(key, '/images/generations', { model: 'dall-e-3', prompt: 'a cat' })).status).toBe(429);
    const free = await keyIn(t.defaultProjectId);
    expect((await post(free, '/images/generations', { prompt: 'a cat' })).status).toBe(200);
  });

  // Found by an outside review: with per-model limits of 1 a minute, three realtime client secrets and three Anthropic
  // message batches (up to 100,000 requests each) were all forwarded, their models named deeper in the body or not
  // at all, where the limits never looked.
  it('a project that limits models refuses what runs a model its limits cannot count: hidden, or named deeper', async () => {
    const limited = (await t.api('POST', `${ORG}/projects`, { body: { name: 'limits hidden models' } })).body.id;
    for (const model of ['gpt-realtime', 'claude-x']) {
      expect((await t.api('POST', `${ORG}/projects/${limited}/rate_limits`, { body: { model, max_requests_per_1_minute: 1 } })).status).toBe(200);
    }
    const key = await keyIn(limited);
    // A job of the project's, made on a model without a limit of its own.
    const job = (await (await post(key, '/fine_tuning/jobs', { model: 'gpt-4.1' })).json()) as { id: string };
    const before = up.seen.length;
    for (const [path, body] of [
      ['/realtime/client_secrets', { session: { type: 'realtime', model: 'gpt-realtime' } }],
      ['/realtime/client_secrets', { session: { type: 'realtime', model: 'gpt-4o-realtime-preview' } }],
      ['/batches', { endpoint: '/v1/chat/completions', completion_window: '24h' }],
      [`/fine_tuning/jobs/${job.id}/resume`, {}],
      ['/responses', { model: 'gpt-4o-mini', input: 'x', tools: [{ type: 'image_generation', model: 'claude-x' }] }],
    ] as const) {
      const res = await post(key, path, body);
      expect(res.status, path).toBe(403);
      const error = ((await res.json()) as { error: { code: string; param: string; message: string } }).error;
      expect(error, path).toMatchObject({ code: 'insufficient_permissions', param: 'model' });
      expect(error.message, path).toContain('limits requests per model');
    }
    const batch = (model: string) =>
      fetch(`${t.url}/v1/messages/batches`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ requests: [{ custom_id: 'a', params: { model, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] } }] }),
      });
    for (const model of ['claude-x', 'claude-x-latest']) {
      const res = await batch(model);
      expect(res.status, model).toBe(403);
      const body = (await res.json()) as { type: string; error: { type: string; message: string } };
      expect(body, model).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
      expect(body.error.message).toContain("runs 'claude-x'");
    }
    expect(up.seen.length).toBe(before);
    // A nested model without a limit of its own is counted by the project's other limits as before.
    expect((await batch('claude-y')).status).not.toBe(403);
    expect(up.seen.length).toBe(before + 1);
    // The limited model's own endpoint counts it: forwarded (the fake upstream does not serve it), then 429.
    const message = () =>
      fetch(`${t.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      });
    expect((await message()).status).not.toBe(429);
    expect((await message()).status).toBe(429);
    // A project without per-model limits sends them as before.
    const free = await keyIn(t.defaultProjectId);
    const sent = up.seen.length;
    expect((await post(free, '/realtime/client_secrets', { session: { type: 'realtime', model: 'gpt-realtime' } })).status).not.toBe(403);
    expect((await post(free, '/batches', { endpoint: '/v1/chat/completions', completion_window: '24h' })).status).toBe(200);
    expect(up.seen.length).toBe(sent + 2);
  });

  it('refuses a model named only in the query string where the body names the model', async () => {
    const key = await keyIn(t.defaultProjectId);
    const before = up.seen.length;
    const res = await post(key, '/images/generations?model=dall-e-3', { prompt: 'a cat' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string; param: string } }).error).toMatchObject({ code: 'invalid_value', param: 'model' });
    expect(up.seen.length).toBe(before);
    // Named in both, and the same: as before.
    expect((await post(key, '/images/generations?model=dall-e-3', { model: 'dall-e-3', prompt: 'a cat' })).status).toBe(200);
  });

  // Found by an outside review: PUT and PATCH skipped the rules of how an endpoint picks its model (POST only), and an
  // upstream routing without regard to the method runs them as the POST: a key allowed one model made ten images with
  // the upstream's default model (PUT /v1/images/generations with no model), forwarded.
  it('PUT and PATCH are held to the model rules of the POST they stand for', async () => {
    const send = (method: string, key: string, path: string, body: unknown) =>
      fetch(`${t.url}/v1${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const allowlisted = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'mini', allowed_models: ['gpt-4o-mini'] } })).body.value as string;
    const limited = (await t.api('POST', `${ORG}/projects`, { body: { name: 'limits models, PUT' } })).body.id;
    expect((await t.api('POST', `${ORG}/projects/${limited}/rate_limits`, { body: { model: 'dall-e-3', max_requests_per_1_minute: 5 } })).status).toBe(200);
    const perModel = await keyIn(limited);
    const tpm = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'tpm', rate_limits: { max_tokens_per_1_minute: 100_000 } } })).body.value as string;
    const free = await keyIn(t.defaultProjectId);
    const before = up.seen.length;
    for (const method of ['PUT', 'PATCH']) {
      const cases: Array<[string, string, unknown, number, string]> = [
        // defaulted: the model must be named for an allowlist or per-model limits; refused under a TPM limit (unmetered).
        [allowlisted, '/images/generations', { prompt: 'x', n: 10 }, 400, 'missing_required_parameter'],
        [perModel, '/images/generations', { prompt: 'x', n: 10 }, 400, 'missing_required_parameter'],
        [tpm, '/images/generations', { prompt: 'x', n: 10 }, 403, 'insufficient_permissions'],
        // hidden: refused to an allowlist, per-model limits and a TPM limit.
        [allowlisted, '/batches', { input_file_id: 'file-x', endpoint: '/v1/chat/completions', completion_window: '24h' }, 403, 'insufficient_permissions'],
        [perModel, '/realtime/client_secrets', { session: { type: 'realtime' } }, 403, 'insufficient_permissions'],
        [tpm, '/realtime/client_secrets', { session: { type: 'realtime' } }, 403, 'insufficient_permissions'],
        // required: for every key.
        [free, '/chat/completions', { messages: [{ role: 'user', content: 'hi' }] }, 400, 'missing_required_parameter'],
      ];
      for (const [key, path, body, status, code] of cases) {
        const res = await send(method, key, path, body);
        const text = await res.text();
        expect(res.status, `${method} ${path}: ${text}`).toBe(status);
        expect(JSON.parse(text).error.code, `${method} ${path}`).toBe(code);
      }
    }
    expect(up.seen.length).toBe(before);
    // Named, and allowed: forwarded as before.
    expect((await send('PUT', allowlisted, '/images/generations', { model: 'gpt-4o-mini', prompt: 'x' })).status).not.toBe(403);
    expect(up.seen.length).toBe(before + 1);
  });
});
