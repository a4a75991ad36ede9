import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, describeEachDatabase } from './harness/backends.js';
import { type FakeObjectsUpstream, startFakeObjectsUpstream } from './harness/fake-objects-upstream.js';
import { startTestServer, type TestServer } from './harness/server.js';

const ORG = '/v1/organization';

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  body: any;
  text: string;
  headers: Headers;
}

/** One stateful family: how project B makes an object, and every way a request can reach it. */
interface Family {
  name: string;
  create(): Promise<string>;
  get?: (id: string) => string;
  list?: string;
  del?: (id: string) => string;
  /** Other requests naming the object: in the path (children, content, actions) or in the body. */
  uses?: (id: string) => Array<{ method: string; path: string; body?: unknown }>;
}

async function serverFor(backend: Backend, up: FakeObjectsUpstream, env: Record<string, string> = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-objects-'));
  const file = join(dir, 'tollgate.config.json');
  writeFileSync(file, JSON.stringify({ providers: [{ name: 'fake', base_url: up.url, api_key_env: 'FAKE_KEY' }] }));
  return startTestServer(backend, { env: { TOLLGATE_CONFIG: file, FAKE_KEY: 'sk-provider', ...env } });
}

describeEachDatabase('upstream objects are isolated per project', (backend) => {
  let up: FakeObjectsUpstream;
  let t: TestServer;
  let projectA: string;
  let projectB: string;
  let aFull: string;
  let aReadOnly: string;
  let bFull: string;

  const call = async (key: string, method: string, path: string, body?: unknown, form?: FormData): Promise<Answer> => {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${t.url}/v1${path}`, { method, headers, body: form ?? (body !== undefined ? JSON.stringify(body) : undefined) });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    return { status: res.status, body: parsed, text, headers: res.headers };
  };
  const created = async (key: string, method: string, path: string, body?: unknown, form?: FormData): Promise<string> => {
    const res = await call(key, method, path, body, form);
    expect(res.status, `${method} ${path}: ${res.text}`).toBeLessThan(300);
    return res.body.id;
  };
  const fileOf = (key: string, purpose = 'batch') => {
    const form = new FormData();
    form.set('purpose', purpose);
    form.set('file', new Blob(['{"custom_id":"1"}\n']), 'input.jsonl');
    return created(key, 'POST', '/files', undefined, form);
  };
  const listIds = async (key: string, path: string): Promise<string[]> => {
    const res = await call(key, 'GET', path);
    expect(res.status, res.text).toBe(200);
    return res.body.data.map((o: { id: string }) => o.id);
  };
  /** A refusal as OpenAI answers for a missing object, and the upstream never asked. */
  const expectHidden = async (key: string, method: string, path: string, body?: unknown) => {
    const before = up.seen.length;
    const res = await call(key, method, path, body);
    expect(res.status, `${method} ${path} ${JSON.stringify(body ?? null)}: ${res.text}`).toBe(404);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'not_found' });
    expect(res.body.error.message).toMatch(/No such File object|not found|No .* found with id|does not exist/);
    expect(up.seen.length).toBe(before);
  };

  beforeAll(async () => {
    up = await startFakeObjectsUpstream();
    t = await serverFor(backend, up);
    projectA = (await t.api('POST', `${ORG}/projects`, { body: { name: 'A' } })).body.id;
    projectB = (await t.api('POST', `${ORG}/projects`, { body: { name: 'B' } })).body.id;
    const key = async (project: string, permissions: unknown) => (await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'k', permissions } })).body.value;
    aFull = await key(projectA, 'all');
    aReadOnly = await key(projectA, 'read_only');
    bFull = await key(projectB, 'all');
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  const families: Family[] = [
    {
      name: 'files',
      create: () => fileOf(bFull),
      get: (id) => `/files/${id}`,
      list: '/files',
      del: (id) => `/files/${id}`,
      uses: (id) => [
        { method: 'GET', path: `/files/${id}/content` },
        { method: 'POST', path: '/batches', body: { input_file_id: id, endpoint: '/v1/chat/completions', completion_window: '24h' } },
        { method: 'POST', path: '/vector_stores', body: { name: 'x', file_ids: [id] } },
        { method: 'POST', path: '/fine_tuning/jobs', body: { model: 'gpt-4o-mini', training_file: id } },
        { method: 'POST', path: '/responses', body: { model: 'gpt-4o-mini', input: [{ role: 'user', content: [{ type: 'input_file', file_id: id }] }] } },
        { method: 'POST', path: '/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: id } }] }] } },
        { method: 'POST', path: '/assistants', body: { model: 'gpt-4o-mini', tool_resources: { code_interpreter: { file_ids: [id] } } } },
        { method: 'POST', path: '/threads', body: { messages: [{ role: 'user', content: 'x', attachments: [{ file_id: id }] }] } },
        { method: 'POST', path: '/images/edits', body: { model: 'gpt-image-1', prompt: 'x', images: [{ file_id: id }] } },
      ],
    },
    {
      name: 'batches',
      create: async () => created(bFull, 'POST', '/batches', { input_file_id: await fileOf(bFull), endpoint: '/v1/chat/completions', completion_window: '24h' }),
      get: (id) => `/batches/${id}`,
      list: '/batches',
      uses: (id) => [{ method: 'POST', path: `/batches/${id}/cancel` }],
    },
    {
      name: 'responses',
      create: () => created(bFull, 'POST', '/responses', { model: 'gpt-4o-mini', input: 'hi' }),
      get: (id) => `/responses/${id}`,
      del: (id) => `/responses/${id}`,
      uses: (id) => [
        { method: 'GET', path: `/responses/${id}/input_items` },
        { method: 'POST', path: `/responses/${id}/cancel` },
        { method: 'POST', path: '/responses', body: { model: 'gpt-4o-mini', input: 'x', previous_response_id: id } },
        { method: 'POST', path: '/responses/input_tokens', body: { model: 'gpt-4o-mini', previous_response_id: id } },
      ],
    },
    {
      name: 'stored chat completions',
      create: () => created(bFull, 'POST', '/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], store: true }),
      get: (id) => `/chat/completions/${id}`,
      list: '/chat/completions',
      del: (id) => `/chat/completions/${id}`,
      uses: (id) => [
        { method: 'GET', path: `/chat/completions/${id}/messages` },
        { method: 'POST', path: `/chat/completions/${id}`, body: { metadata: { a: 'b' } } },
      ],
    },
    {
      name: 'vector stores',
      create: () => created(bFull, 'POST', '/vector_stores', { name: 'docs' }),
      get: (id) => `/vector_stores/${id}`,
      list: '/vector_stores',
      del: (id) => `/vector_stores/${id}`,
      uses: (id) => [
        { method: 'GET', path: `/vector_stores/${id}/files` },
        { method: 'POST', path: `/vector_stores/${id}/search`, body: { query: 'x' } },
        { method: 'POST', path: `/vector_stores/${id}/file_batches`, body: { file_ids: [] } },
        { method: 'POST', path: '/responses', body: { model: 'gpt-4o-mini', input: 'x', tools: [{ type: 'file_search', vector_store_ids: [id] }] } },
        { method: 'POST', path: '/assistants', body: { model: 'gpt-4o-mini', tool_resources: { file_search: { vector_store_ids: [id] } } } },
      ],
    },
    {
      name: 'assistants',
      create: () => created(bFull, 'POST', '/assistants', { model: 'gpt-4o-mini' }),
      get: (id) => `/assistants/${id}`,
      list: '/assistants',
      del: (id) => `/assistants/${id}`,
      uses: (id) => [
        { method: 'POST', path: `/assistants/${id}`, body: { name: 'mine now' } },
        { method: 'POST', path: '/threads/runs', body: { assistant_id: id } },
      ],
    },
    {
      name: 'threads',
      create: () => created(bFull, 'POST', '/threads', {}),
      get: (id) => `/threads/${id}`,
      del: (id) => `/threads/${id}`,
      uses: (id) => [
        { method: 'GET', path: `/threads/${id}/messages` },
        { method: 'POST', path: `/threads/${id}/messages`, body: { role: 'user', content: 'x' } },
        { method: 'GET', path: `/threads/${id}/runs` },
      ],
    },
    {
      name: 'fine-tuning jobs',
      create: async () => created(bFull, 'POST', '/fine_tuning/jobs', { model: 'gpt-4o-mini', training_file: await fileOf(bFull, 'fine-tune') }),
      get: (id) => `/fine_tuning/jobs/${id}`,
      list: '/fine_tuning/jobs',
      uses: (id) => [
        { method: 'GET', path: `/fine_tuning/jobs/${id}/events` },
        { method: 'GET', path: `/fine_tuning/jobs/${id}/checkpoints` },
        { method: 'POST', path: `/fine_tuning/jobs/${id}/cancel` },
      ],
    },
    {
      name: 'uploads',
      create: () => created(bFull, 'POST', '/uploads', { filename: 'a.jsonl', purpose: 'batch', bytes: 3, mime_type: 'text/jsonl' }),
      uses: (id) => [
        { method: 'POST', path: `/uploads/${id}/complete`, body: { part_ids: [] } },
        { method: 'POST', path: `/uploads/${id}/cancel` },
      ],
    },
    {
      name: 'containers',
      create: () => created(bFull, 'POST', '/containers', { name: 'c' }),
      get: (id) => `/containers/${id}`,
      list: '/containers',
      del: (id) => `/containers/${id}`,
      uses: (id) => [
        { method: 'GET', path: `/containers/${id}/files` },
        { method: 'POST', path: '/responses', body: { model: 'gpt-4o-mini', input: 'x', tools: [{ type: 'code_interpreter', container: id }] } },
      ],
    },
    {
      name: 'conversations',
      create: () => created(bFull, 'POST', '/conversations', { items: [{ type: 'message', role: 'user', content: 'hi' }] }),
      get: (id) => `/conversations/${id}`,
      del: (id) => `/conversations/${id}`,
      uses: (id) => [
        { method: 'GET', path: `/conversations/${id}/items` },
        { method: 'POST', path: '/responses', body: { model: 'gpt-4o-mini', input: 'x', conversation: id } },
        { method: 'POST', path: '/responses', body: { model: 'gpt-4o-mini', input: 'x', conversation: { id } } },
      ],
    },
    {
      name: 'evals',
      create: () => created(bFull, 'POST', '/evals', { name: 'e', data_source_config: { type: 'custom', item_schema: {} }, testing_criteria: [] }),
      get: (id) => `/evals/${id}`,
      list: '/evals',
      del: (id) => `/evals/${id}`,
      uses: (id) => [{ method: 'POST', path: `/evals/${id}/runs`, body: { data_source: { type: 'jsonl', source: { type: 'file_content', content: [] } } } }],
    },
    {
      name: 'videos',
      create: () => created(bFull, 'POST', '/videos', { model: 'sora-2', prompt: 'a cat' }),
      get: (id) => `/videos/${id}`,
      list: '/videos',
      del: (id) => `/videos/${id}`,
      uses: (id) => [
        { method: 'GET', path: `/videos/${id}/content` },
        { method: 'POST', path: `/videos/${id}/remix`, body: { prompt: 'x' } },
        { method: 'POST', path: '/videos/edits', body: { prompt: 'x', video: { id } } },
        { method: 'POST', path: '/videos/extensions', body: { prompt: 'x', video: { id } } },
      ],
    },
    {
      name: 'video characters',
      create: () => created(bFull, 'POST', '/videos/characters', { name: 'c' }),
      get: (id) => `/videos/characters/${id}`,
    },
    {
      name: 'skills',
      create: () => created(bFull, 'POST', '/skills', { files: [] }),
      get: (id) => `/skills/${id}`,
      list: '/skills',
      del: (id) => `/skills/${id}`,
      uses: (id) => [
        { method: 'GET', path: `/skills/${id}/content` },
        { method: 'GET', path: `/skills/${id}/versions` },
        { method: 'POST', path: '/containers', body: { name: 'c', skills: [{ type: 'skill_reference', skill_id: id }] } },
      ],
    },
    {
      name: 'ChatKit sessions',
      create: () => created(bFull, 'POST', '/chatkit/sessions', { workflow: { id: 'wf_1' }, user: 'u' }),
      uses: (id) => [{ method: 'POST', path: `/chatkit/sessions/${id}/cancel` }],
    },
    {
      name: 'voice consents',
      create: () => created(bFull, 'POST', '/audio/voice_consents', { name: 'me', language: 'en' }),
      get: (id) => `/audio/voice_consents/${id}`,
      list: '/audio/voice_consents',
      del: (id) => `/audio/voice_consents/${id}`,
      uses: (id) => [{ method: 'POST', path: '/audio/voices', body: { name: 'v', consent: id } }],
    },
    {
      name: 'voices',
      create: () => created(bFull, 'POST', '/audio/voices', { name: 'v' }),
      uses: (id) => [
        { method: 'POST', path: '/audio/speech', body: { model: 'gpt-4o-mini-tts', input: 'x', voice: { id } } },
        { method: 'POST', path: '/audio/speech', body: { model: 'gpt-4o-mini-tts', input: 'x', voice: id } },
      ],
    },
    {
      name: 'realtime calls',
      create: async () => {
        const res = await call(bFull, 'POST', '/realtime/calls', { sdp: 'v=0' });
        expect(res.status).toBe(201);
        return String(res.headers.get('location')).split('/').at(-1) as string;
      },
      uses: (id) => [
        { method: 'POST', path: `/realtime/calls/${id}/hangup` },
        { method: 'POST', path: `/realtime/calls/${id}/accept`, body: { type: 'realtime' } },
      ],
    },
  ];

  describe.each(families)('$name', (family) => {
    let id: string;
    beforeAll(async () => {
      id = await family.create();
    });

    it("are the creator's: A's keys cannot retrieve, list, use, reference or delete B's", async () => {
      for (const key of [aFull, aReadOnly]) {
        if (family.get) await expectHidden(key, 'GET', family.get(id));
        if (family.list) expect(await listIds(key, family.list)).not.toContain(id);
      }
      for (const use of family.uses?.(id) ?? []) await expectHidden(aFull, use.method, use.path, use.body);
      if (family.del) await expectHidden(aFull, 'DELETE', family.del(id));
    });

    it('B retrieves, lists, uses and deletes its own', async () => {
      if (family.get) expect((await call(bFull, 'GET', family.get(id))).status).toBe(200);
      if (family.list) expect(await listIds(bFull, family.list)).toContain(id);
      for (const use of family.uses?.(id) ?? []) {
        const res = await call(bFull, use.method, use.path, use.body);
        expect(res.status, `${use.method} ${use.path}: ${res.text}`).toBeLessThan(300);
      }
      if (family.del) {
        expect((await call(bFull, 'DELETE', family.del(id))).status).toBe(200);
        const row = await t.server.runtime.database.db.selectFrom('upstream_objects').selectAll().where('object_id', '=', id).executeTakeFirstOrThrow();
        expect(row.deleted_at).not.toBeNull();
        // Deleted: still nobody else's.
        await expectHidden(aFull, 'GET', family.get?.(id) ?? family.del(id));
      }
    });
  });
});
