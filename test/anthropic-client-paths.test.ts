import Anthropic, { toFile } from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream } from './harness/fake-upstream.js';
import { ANTHROPIC_PROVIDER_KEY, startTwoProviders, type TwoProviders } from './harness/provider-servers.js';
import { gatewayConfigFile, startTestServer } from './harness/server.js';

// What an Anthropic client asks of the paths it shares with OpenAI's API, with the official SDKs against a fake
// Anthropic and a fake OpenAI upstream (the OpenAI one the default). A review found Anthropic's model list ignoring
// `limit` and its cursors (every model, has_more false) and any other parameter.

const ORG = '/v1/organization';
const VERSION = { 'anthropic-version': '2023-06-01' };

describe('an Anthropic client on the paths both APIs share', () => {
  let p: TwoProviders;
  let key: { id: string; value: string };
  const anthropic = () => new Anthropic({ apiKey: key.value, baseURL: p.t.url, maxRetries: 0, timeout: 15_000 });
  const get = (path: string, headers: Record<string, string> = VERSION) => fetch(`${p.t.url}${path}`, { headers: { 'x-api-key': key.value, ...headers } });

  beforeAll(async () => {
    p = await startTwoProviders();
    key = (await p.t.api('POST', `${ORG}/projects/${p.t.defaultProjectId}/api_keys`, { body: { name: 'anthropic-paths' } })).body as { id: string; value: string };
  });
  afterAll(async () => p?.close());

  describe("GET /v1/models: Anthropic's paging applied, anything else refused", () => {
    it('limit, after_id and before_id page the list as Anthropic does; the SDK walks it page by page', async () => {
      const whole = (await (await get('/v1/models?limit=1000')).json()) as { data: Array<{ id: string }>; has_more: boolean };
      const ids = whole.data.map((m) => m.id);
      expect(ids.length).toBeGreaterThan(3);
      expect(whole.has_more).toBe(false);
      expect(ids).toContain('claude-haiku-4-5-20251001');

      // The default page is Anthropic's 20 (fewer models here: all of them).
      const first = await anthropic().models.list({ limit: 1 });
      expect(first.data.map((m) => m.id)).toEqual([ids[0]]);
      expect(first).toMatchObject({ has_more: true, first_id: ids[0], last_id: ids[0] });
      const walked: string[] = [];
      for await (const m of anthropic().models.list({ limit: 2 })) walked.push(m.id);
      expect(walked).toEqual(ids);

      const at = ids.indexOf('claude-haiku-4-5-20251001');
      const after = await anthropic().models.list({ limit: 1, after_id: 'claude-haiku-4-5-20251001' });
      expect(after.data.map((m) => m.id)).toEqual([ids[at + 1]]);
      expect(after.has_more).toBe(at + 2 < ids.length);
      const before = (await (await get(`/v1/models?before_id=${ids.at(-1)}&limit=2`)).json()) as { data: Array<{ id: string }>; has_more: boolean; first_id: string; last_id: string };
      expect(before.data.map((m) => m.id)).toEqual(ids.slice(-3, -1));
      expect(before).toMatchObject({ has_more: ids.length > 3, first_id: ids.at(-3), last_id: ids.at(-2) });
      const start = (await (await get(`/v1/models?before_id=${ids[0]}`)).json()) as { data: unknown[]; has_more: boolean; first_id: unknown };
      expect(start).toEqual({ data: [], has_more: false, first_id: null, last_id: null });
      const end = (await (await get(`/v1/models?after_id=${ids.at(-1)}`)).json()) as { data: unknown[]; has_more: boolean };
      expect(end).toEqual({ data: [], has_more: false, first_id: null, last_id: null });
    });

    it("a bad value or a parameter the API does not take is a 400 in Anthropic's shape, naming it", async () => {
      for (const [query, param] of [
        ['limit=0', 'limit'],
        ['limit=1001', 'limit'],
        ['limit=abc', 'limit'],
        ['limit=1.5', 'limit'],
        ['limit=', 'limit'],
        ['limit=1&limit=2', 'limit'],
        ['foo=1', 'foo'],
        ['LIMIT=1', 'LIMIT'],
        ['after_id=', 'after_id'],
        ['after_id=gpt-nope', 'after_id'],
        ['before_id=gpt-nope', 'before_id'],
        ['after_id=claude-haiku-4-5-20251001&before_id=gpt-4o', 'before_id'],
        ['lifecycle[]=retired', 'lifecycle[]'],
      ]) {
        const res = await get(`/v1/models?${query}`);
        expect(res.status, query).toBe(400);
        const body = (await res.json()) as { type: string; error: { type: string; message: string }; request_id: string };
        expect(body, query).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' }, request_id: res.headers.get('request-id') });
        expect(body.error.message, query).toContain(param.replace('[]', ''));
      }
      const sdk = await anthropic()
        .models.list({ limit: 0 })
        .catch((e: unknown) => e);
      expect(sdk).toBeInstanceOf(Anthropic.BadRequestError);
      // A retrieval takes no parameter either.
      expect((await get('/v1/models/claude-haiku-4-5-20251001?foo=1')).status).toBe(400);
      expect((await get('/v1/models/claude-haiku-4-5-20251001')).status).toBe(200);
    });

    it('a model the key may not see is no cursor: answered as one that does not exist', async () => {
      const limited = (await p.t.api('POST', `${ORG}/projects/${p.t.defaultProjectId}/api_keys`, { body: { name: 'limited', allowed_models: ['claude-haiku-4-5-20251001', 'gpt-4o'] } })).body as {
        value: string;
      };
      const hidden = await fetch(`${p.t.url}/v1/models?after_id=claude-sonnet-4-5-20250929`, { headers: { 'x-api-key': limited.value, ...VERSION } });
      const missing = await fetch(`${p.t.url}/v1/models?after_id=claude-none-0`, { headers: { 'x-api-key': limited.value, ...VERSION } });
      expect(hidden.status).toBe(400);
      expect(((await hidden.json()) as { error: { message: string } }).error.message.replace('claude-sonnet-4-5-20250929', 'X')).toBe(
        ((await missing.json()) as { error: { message: string } }).error.message.replace('claude-none-0', 'X'),
      );
    });

    it("OpenAI's list and retrieval take no parameter: one sent is a 400 unknown_parameter in OpenAI's shape", async () => {
      const res = await fetch(`${p.t.url}/v1/models?limit=1`, { headers: { authorization: `Bearer ${key.value}` } });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'unknown_parameter', param: 'limit' } });
      const retrieve = await fetch(`${p.t.url}/v1/models/gpt-4o?foo=1`, { headers: { authorization: `Bearer ${key.value}` } });
      expect(await retrieve.json()).toMatchObject({ error: { code: 'unknown_parameter', param: 'foo' } });
      const openai = new OpenAI({ apiKey: key.value, baseURL: `${p.t.url}/v1`, maxRetries: 0 });
      expect((await openai.models.list()).data.length).toBeGreaterThan(3);
    });
  });
  describe("Anthropic's Files API: the Anthropic provider's, each project's own", () => {
    const BETA = { betas: ['files-api-2025-04-14' as const] };
    const other = async () => {
      const project = (await p.t.api('POST', `${ORG}/projects`, { body: { name: `files-b-${Date.now()}` } })).body as { id: string };
      const k = (await p.t.api('POST', `${ORG}/projects/${project.id}/api_keys`, { body: { name: 'b' } })).body as { value: string };
      return new Anthropic({ apiKey: k.value, baseURL: p.t.url, maxRetries: 0, timeout: 15_000 });
    };

    it('upload, metadata, content and delete reach the Anthropic provider, in its shapes with Tollgate ids', async () => {
      p.anthropic.seen.length = 0;
      p.openai.seen.length = 0;
      const { data: file, response } = await anthropic()
        .beta.files.upload({ file: await toFile(Buffer.from('hello'), 'a.txt', { type: 'text/plain' }), ...BETA })
        .withResponse();
      expect(file).toMatchObject({ id: expect.stringMatching(/^file_/), type: 'file', filename: 'a.txt' });
      expect(response.headers.get('request-id')).toMatch(/^req_/);
      expect(response.headers.get('request-id')).toBe(response.headers.get('x-request-id'));
      expect((await anthropic().beta.files.retrieveMetadata(file.id, BETA)).id).toBe(file.id);
      expect(await (await anthropic().beta.files.download(file.id, BETA)).text()).toBe(`content of ${file.id}`);
      expect(await anthropic().beta.files.delete(file.id, BETA)).toEqual({ id: file.id, type: 'file_deleted' });
      expect(p.openai.seen.filter((r) => r.url.includes('/files'))).toEqual([]);
      expect(p.anthropic.seen.map((r) => `${r.method} ${r.url.split('?')[0]}`)).toEqual([
        'POST /v1/files',
        `GET /v1/files/${file.id}`,
        `GET /v1/files/${file.id}/content`,
        `DELETE /v1/files/${file.id}`,
      ]);
      expect(p.anthropic.seen.every((r) => r.headers['x-api-key'] === ANTHROPIC_PROVIDER_KEY)).toBe(true);
      // Deleted: gone for its project too.
      expect(await anthropic().beta.files.retrieveMetadata(file.id, BETA).catch((e: unknown) => e)).toBeInstanceOf(Anthropic.NotFoundError);
    });

    it("another project's file is not found for it, in Anthropic's shape; the list, which would show every project's, is refused", async () => {
      const file = await anthropic().beta.files.upload({ file: await toFile(Buffer.from('secret'), 'a-secret.txt'), ...BETA });
      const b = await other();
      p.anthropic.seen.length = 0;
      for (const call of [b.beta.files.retrieveMetadata(file.id, BETA), b.beta.files.download(file.id, BETA), b.beta.files.delete(file.id, BETA)]) {
        const err = (await call.catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
        expect(err).toBeInstanceOf(Anthropic.NotFoundError);
        expect(err.error).toMatchObject({ type: 'error', error: { type: 'not_found_error' }, request_id: err.requestID });
      }
      expect(p.anthropic.seen).toEqual([]);
      for (const client of [anthropic(), b]) {
        const err = (await client.beta.files.list(BETA).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
        expect(err).toBeInstanceOf(Anthropic.PermissionDeniedError);
        expect(err.error).toMatchObject({ type: 'error', error: { type: 'permission_error', message: expect.stringContaining('cannot be filtered') } });
      }
      // Told apart by anthropic-beta alone (no anthropic-version), and Anthropic's skills likewise.
      for (const [path, headers] of [
        ['/v1/files', { 'anthropic-beta': 'files-api-2025-04-14' }],
        ['/v1/files?limit=5', VERSION],
        ['/v1/skills', { ...VERSION, 'anthropic-beta': 'skills-2025-10-02' }],
      ] as const) {
        const res = await get(path, headers);
        expect(res.status, path).toBe(403);
        expect(await res.json(), path).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
      }
      expect(p.anthropic.seen).toEqual([]);
      expect(p.openai.seen.filter((r) => r.url.includes('/files') || r.url.includes('/skills'))).toEqual([]);
      expect((await anthropic().beta.files.retrieveMetadata(file.id, BETA)).id).toBe(file.id);
    });

    it("an OpenAI client's files still go to the OpenAI provider", async () => {
      p.openai.seen.length = 0;
      await new OpenAI({ apiKey: key.value, baseURL: `${p.t.url}/v1`, maxRetries: 0 }).files.list();
      expect(p.openai.seen.map((r) => r.url.split('?')[0])).toEqual(['/v1/files']);
    });
  });
});

describe('an Anthropic client where no provider speaks Anthropic’s API', () => {
  it("is refused in Anthropic's shape, never sent to the OpenAI provider", async () => {
    const openai = await startFakeUpstream();
    const file = gatewayConfigFile({ providers: [{ name: 'openai', base_url: openai.url, api_key_env: 'OPENAI_UP_KEY' }], default_provider: 'openai' });
    const t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, OPENAI_UP_KEY: 'sk-openai-provider-0000' } });
    try {
      const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k' } })).body as { value: string };
      const client = new Anthropic({ apiKey: key.value, baseURL: t.url, maxRetries: 0 });
      const err = (await client.beta.files.upload({ file: await toFile(Buffer.from('x'), 'x.txt') }).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
      expect(err).toBeInstanceOf(Anthropic.NotFoundError);
      expect(err.error).toMatchObject({ type: 'error', error: { type: 'not_found_error', message: expect.stringContaining("No provider of Anthropic's API") } });
      expect(openai.seen.filter((r) => r.url.includes('/files'))).toEqual([]);
    } finally {
      await t.close();
      await openai.close();
    }
  });
});
