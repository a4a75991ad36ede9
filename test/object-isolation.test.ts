import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { type Backend, describeEachDatabase } from './harness/backends.js';
import { type FakeObjectsUpstream, startFakeObjectsUpstream } from './harness/fake-objects-upstream.js';
import { contractProblems, specAvailable } from './harness/openapi-contract.js';
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

async function serverFor(
  backend: Backend,
  up: FakeObjectsUpstream,
  env: Record<string, string> = {},
  o: { keepSchema?: boolean; schema?: string; dataDir?: string; projects?: Record<string, string> } = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-objects-'));
  const file = join(dir, 'tollgate.config.json');
  writeFileSync(file, JSON.stringify({ providers: [{ name: 'fake', base_url: up.url, api_key_env: 'FAKE_KEY', ...(o.projects ? { projects: o.projects } : {}) }] }));
  return startTestServer(backend, { env: { TOLLGATE_CONFIG: file, FAKE_KEY: 'sk-provider', ...env }, keepSchema: o.keepSchema, schema: o.schema, dataDir: o.dataDir });
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
  const fileOf = (key: string, purpose = 'batch', content = '{"custom_id":"1"}\n') => {
    const form = new FormData();
    form.set('purpose', purpose);
    form.set('file', new Blob([content]), 'input.jsonl');
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
    // In the error shape OpenAI's published description gives the operation.
    if (specAvailable()) expect(contractProblems(method, path.split('?')[0], 404, res.body)).toEqual([]);
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

  describe('objects the upstream makes for the caller', () => {
    it("a batch's output file is its creator's: B downloads it, A cannot", async () => {
      const batch = await created(bFull, 'POST', '/batches', { input_file_id: await fileOf(bFull), endpoint: '/v1/chat/completions', completion_window: '24h' });
      await expectHidden(aFull, 'GET', `/batches/${batch}`);
      const done = await call(bFull, 'GET', `/batches/${batch}`);
      const output = done.body.output_file_id;
      expect(output).toMatch(/^file-/);
      expect((await call(bFull, 'GET', `/files/${output}/content`)).status).toBe(200);
      await expectHidden(aFull, 'GET', `/files/${output}/content`);
      await expectHidden(aReadOnly, 'GET', `/files/${output}`);
      expect(await listIds(bFull, '/files?limit=100')).toContain(output);
      expect(await listIds(aFull, '/files?limit=100')).not.toContain(output);
    });

    it("a fine-tuning job's model and result files are its creator's: A can neither call nor delete the model", async () => {
      const job = await created(bFull, 'POST', '/fine_tuning/jobs', { model: 'gpt-4o-mini', training_file: await fileOf(bFull, 'fine-tune') });
      const done = (await call(bFull, 'GET', `/fine_tuning/jobs/${job}`)).body;
      const model = done.fine_tuned_model as string;
      expect(model).toMatch(/^ft:/);
      const chat = { model, messages: [{ role: 'user', content: 'hi' }] };
      expect((await call(bFull, 'POST', '/chat/completions', chat)).status).toBe(200);
      await expectHidden(aFull, 'POST', '/chat/completions', chat);
      await expectHidden(aFull, 'POST', '/responses', { model, input: 'hi' });
      await expectHidden(aFull, 'GET', `/files/${done.result_files[0]}/content`);
      await expectHidden(aFull, 'DELETE', `/models/${encodeURIComponent(model)}`);
      expect((await call(bFull, 'GET', `/files/${done.result_files[0]}/content`)).status).toBe(200);
      // Listed and retrieved among the models of its project only.
      expect(await listIds(bFull, '/models')).toContain(model);
      expect(await listIds(aFull, '/models')).not.toContain(model);
      expect((await call(aFull, 'GET', `/models/${encodeURIComponent(model)}`)).status).toBe(404);
      expect((await call(bFull, 'GET', `/models/${encodeURIComponent(model)}`)).status).toBe(200);
    });

    it('an upload becomes a file of its creator; a run made with its thread gives the thread to its creator', async () => {
      const upload = await created(bFull, 'POST', '/uploads', { filename: 'a.jsonl', purpose: 'batch', bytes: 3, mime_type: 'text/jsonl' });
      const file = (await call(bFull, 'POST', `/uploads/${upload}/complete`, { part_ids: [] })).body.file.id;
      expect((await call(bFull, 'GET', `/files/${file}`)).status).toBe(200);
      await expectHidden(aFull, 'GET', `/files/${file}`);
      const assistant = await created(bFull, 'POST', '/assistants', { model: 'gpt-4o-mini' });
      const run = (await call(bFull, 'POST', '/threads/runs', { assistant_id: assistant })).body;
      expect((await call(bFull, 'GET', `/threads/${run.thread_id}/runs/${run.id}`)).status).toBe(200);
      await expectHidden(aFull, 'GET', `/threads/${run.thread_id}/runs/${run.id}`);
    });

    it("a vector store made for an assistant or a thread is its creator's: B uses it, A cannot", async () => {
      const file = await fileOf(bFull, 'assistants', 'notes');
      const made = { file_search: { vector_stores: [{ file_ids: [file] }] } };
      const storeOf = (o: { tool_resources: { file_search: { vector_store_ids: string[] } } }) => o.tool_resources.file_search.vector_store_ids[0];
      const expectB = async (store: string) => {
        expect((await call(bFull, 'GET', `/vector_stores/${store}`)).status).toBe(200);
        await expectHidden(aFull, 'GET', `/vector_stores/${store}`);
      };
      // Made with the assistant, named in the answer to its create (it was never recorded: 404 to its own project, for
      // the store, for the assistant modified keeping it, for a thread using it; found by a review).
      const assistant = (await call(bFull, 'POST', '/assistants', { model: 'gpt-4o-mini', tools: [{ type: 'file_search' }], tool_resources: made })).body;
      const store = storeOf(assistant);
      await expectB(store);
      const keep = { tool_resources: { file_search: { vector_store_ids: [store] } } };
      expect((await call(bFull, 'POST', `/assistants/${assistant.id}`, keep)).status).toBe(200);
      expect((await call(bFull, 'POST', '/threads', keep)).status).toBe(200);
      await expectHidden(aFull, 'POST', '/threads', keep);
      // One the upstream attached later, named in a retrieval of the assistant.
      const later = up.seed('vector_stores').id;
      const held = up.objects.get('assistants')?.get(assistant.id) as Record<string, unknown>;
      held.tool_resources = { file_search: { vector_store_ids: [later] } };
      expect((await call(bFull, 'GET', `/assistants/${assistant.id}`)).status).toBe(200);
      await expectB(later);
      // Made with a thread: named in the answer to its create, and in a streamed run's thread.created event.
      await expectB(storeOf((await call(bFull, 'POST', '/threads', { tool_resources: made })).body));
      const res = await fetch(`${t.url}/v1/threads/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bFull}`, 'content-type': 'application/json' },
        body: JSON.stringify({ assistant_id: assistant.id, thread: { tool_resources: made }, stream: true }),
      });
      const text = await res.text();
      expect(res.status, text).toBe(200);
      const created = /event: thread.created\ndata: (.*)\n/.exec(text)?.[1] as string;
      await expectB(storeOf(JSON.parse(created)));
    });

    it("a stored response's items can be referenced by its project only", async () => {
      const response = (await call(bFull, 'POST', '/responses', { model: 'gpt-4o-mini', input: 'hi' })).body;
      const item = response.output[0].id;
      const again = { model: 'gpt-4o-mini', input: [{ type: 'item_reference', id: item }] };
      expect((await call(bFull, 'POST', '/responses', again)).status).toBe(200);
      await expectHidden(aFull, 'POST', '/responses', again);
      // Its tag and id in another case, as an upstream folding names reads them (they went through unchecked); in two
      // spellings, refused before anything is forwarded.
      for (const input of [[{ Type: 'item_reference', ID: item }], [{ TYPE: 'item_reference', id: item }], [{ type: 'item_reference', Id: item }]]) {
        await expectHidden(aFull, 'POST', '/responses', { model: 'gpt-4o-mini', input });
      }
      const before = up.seen.length;
      const twice = await call(aFull, 'POST', '/responses', { model: 'gpt-4o-mini', input: [{ type: 'item_reference', id: 'msg_mine', ID: item }] });
      expect([twice.status, twice.body.error?.code, twice.body.error?.param]).toEqual([400, 'invalid_value', 'id']);
      expect(up.seen.length).toBe(before);
      // A response that is not stored is nobody's.
      const unstored = (await call(bFull, 'POST', '/responses', { model: 'gpt-4o-mini', input: 'hi', store: false })).body.id;
      await expectHidden(bFull, 'GET', `/responses/${unstored}`);
    });
  });

  describe("objects under an object (a thread's messages, a vector store's files)", () => {
    it("are reached only under their parent, which must be the caller's: B's children under A's own parent are not found", async () => {
      const bThread = await created(bFull, 'POST', '/threads', {});
      const bMessage = await created(bFull, 'POST', `/threads/${bThread}/messages`, { role: 'user', content: 'secret' });
      const bFile = await fileOf(bFull);
      const bStore = await created(bFull, 'POST', '/vector_stores', { name: 'b' });
      expect((await call(bFull, 'POST', `/vector_stores/${bStore}/files`, { file_id: bFile })).status).toBe(200);
      expect((await call(bFull, 'GET', `/threads/${bThread}/messages/${bMessage}`)).status).toBe(200);
      expect((await call(bFull, 'GET', `/vector_stores/${bStore}/files/${bFile}`)).status).toBe(200);

      await expectHidden(aFull, 'GET', `/threads/${bThread}/messages/${bMessage}`);
      const aThread = await created(aFull, 'POST', '/threads', {});
      const aStore = await created(aFull, 'POST', '/vector_stores', { name: 'a' });
      // Under A's own thread the upstream answers 404 for another thread's message ...
      expect((await call(aFull, 'GET', `/threads/${aThread}/messages/${bMessage}`)).status).toBe(404);
      // ... and B's file is refused by Tollgate itself, as in any path.
      await expectHidden(aFull, 'GET', `/vector_stores/${aStore}/files/${bFile}`);
      await expectHidden(aFull, 'POST', `/vector_stores/${aStore}/files`, { file_id: bFile });
    });
  });

  describe('streams', () => {
    const stream = async (key: string, path: string, body: unknown) => {
      const res = await fetch(`${t.url}/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, text: await res.text() };
    };

    it('records a streamed response and a streamed stored chat completion before their ids reach the client', async () => {
      const r = await stream(bFull, '/responses', { model: 'gpt-4o-mini', input: 'hi', stream: true });
      expect(r.status).toBe(200);
      const id = /"id":"(resp_[^"]+)"/.exec(r.text)?.[1] as string;
      expect((await call(bFull, 'GET', `/responses/${id}`)).status).toBe(200);
      await expectHidden(aFull, 'GET', `/responses/${id}`);
      const item = /"output":\[\{"id":"(msg_[^"]+)"/.exec(r.text)?.[1] as string;
      await expectHidden(aFull, 'POST', '/responses', { model: 'gpt-4o-mini', input: [{ type: 'item_reference', id: item }] });
      expect((await call(bFull, 'POST', '/responses', { model: 'gpt-4o-mini', input: [{ type: 'item_reference', id: item }] })).status).toBe(200);

      const c = await stream(bFull, '/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], store: true, stream: true });
      expect(c.text).toContain('[DONE]');
      const chat = /"id":"(chatcmpl-[^"]+)"/.exec(c.text)?.[1] as string;
      expect((await call(bFull, 'GET', `/chat/completions/${chat}`)).status).toBe(200);
      await expectHidden(aFull, 'GET', `/chat/completions/${chat}`);
    });
  });

  describe('bodies in other spellings', () => {
    it('finds ids in multipart fields and in JSON sent with another or no content type', async () => {
      const file = await fileOf(bFull);
      const resp = await created(bFull, 'POST', '/responses', { model: 'gpt-4o-mini', input: 'theirs' });
      const container = await created(aFull, 'POST', '/containers', { name: 'mine' });
      const form = new FormData();
      form.set('file_id', file);
      const before = up.seen.length;
      const multipart = await call(aFull, 'POST', `/containers/${container}/files`, undefined, form);
      expect(multipart.status).toBe(404);
      const nested = new FormData();
      nested.set('prompt', 'x');
      nested.set('input_reference[file_id]', file);
      expect((await call(aFull, 'POST', '/videos', undefined, nested)).status).toBe(404);
      for (const type of ['text/plain', null]) {
        const res = await fetch(`${t.url}/v1/batches`, {
          method: 'POST',
          headers: { authorization: `Bearer ${aFull}`, ...(type ? { 'content-type': type } : {}) },
          body: JSON.stringify({ input_file_id: file, endpoint: '/v1/chat/completions', completion_window: '24h' }),
        });
        expect(res.status).toBe(404);
      }
      // JSON after a byte order mark (Python's json.loads reads it): read as the JSON it is. JSON declared as form data
      // (an upstream may ignore the type) reads two ways: refused. Both went to the upstream unchecked (found by an
      // outside review), and so did JSON in UTF-16 or UTF-32, which Python's json.loads reads too.
      const named = JSON.stringify({ input_file_id: file, endpoint: '/v1/chat/completions', completion_window: '24h' });
      const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(named)]);
      const utf16 = Buffer.from(named, 'utf16le');
      for (const [type, body, status] of [
        [null, bom, 404],
        ['text/plain', bom, 404],
        ['application/x-www-form-urlencoded', bom, 415],
        ['application/x-www-form-urlencoded', named, 415],
        ['multipart/form-data; boundary=zzz', named, 415],
        ['multipart/form-data; boundary=zzz', ` \n${named}`, 415],
        [null, utf16, 415],
        [null, Buffer.concat([Buffer.from([0xff, 0xfe]), utf16]), 415],
        ['text/plain', Buffer.from(utf16).swap16(), 415],
        // Declared as a form or multipart, UTF-16 read as a form named nothing (with a byte order mark, or big-endian).
        ['application/x-www-form-urlencoded', Buffer.concat([Buffer.from([0xff, 0xfe]), utf16]), 415],
        ['application/x-www-form-urlencoded', Buffer.from(utf16).swap16(), 415],
        ['multipart/form-data; boundary=zzz', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(utf16).swap16()]), 415],
      ] as const) {
        for (const path of ['/v1/batches', '/v1/vector_stores']) {
          const res = await fetch(`${t.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${aFull}`, ...(type ? { 'content-type': type } : {}) }, body });
          expect(res.status, `${path} ${type} ${body.length}`).toBe(status);
          expect(((await res.json()) as { error: { code: string } }).error.code).toBe(status === 404 ? 'not_found' : 'unsupported_media_type');
        }
      }
      const chained = await fetch(`${t.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${aFull}` },
        body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', input: 'x', previous_response_id: resp }))]),
      });
      expect(chained.status).toBe(404);
      // JSON that names __proto__ is refused as a JSON body is, whatever it is declared as (as form data: as reading
      // two ways): never read as naming nothing.
      for (const [type, status, code] of [
        [null, 400, 'invalid_json'],
        ['text/plain', 400, 'invalid_json'],
        ['application/x-www-form-urlencoded', 415, 'unsupported_media_type'],
      ] as const) {
        const proto = `{"__proto__":{},"input_file_id":"${file}","endpoint":"/v1/chat/completions","completion_window":"24h"}`;
        const res = await fetch(`${t.url}/v1/batches`, { method: 'POST', headers: { authorization: `Bearer ${aFull}`, ...(type ? { 'content-type': type } : {}) }, body: proto });
        expect(res.status, String(type)).toBe(status);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
      }
      // A form body, and the query string, for an upstream that reads parameters there.
      const urlencoded = await fetch(`${t.url}/v1/batches`, {
        method: 'POST',
        headers: { authorization: `Bearer ${aFull}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: `endpoint=%2Fv1%2Fchat%2Fcompletions&completion_window=24h&input_file_id=${file}`,
      });
      expect(urlencoded.status).toBe(404);
      expect((await call(aFull, 'POST', `/batches?input_file_id=${file}`, { endpoint: '/v1/chat/completions', completion_window: '24h' })).status).toBe(404);
      // JSON with its keys escaped is the same JSON.
      const escaped = `{"input\\u005ffile_id":"${file}","endpoint":"/v1/chat/completions","completion_window":"24h"}`;
      const res = await fetch(`${t.url}/v1/batches`, { method: 'POST', headers: { authorization: `Bearer ${aFull}`, 'content-type': 'application/json' }, body: escaped });
      expect(res.status).toBe(404);
      expect(up.seen.length).toBe(before);
      const own = new FormData();
      own.set('file_id', file);
      expect((await call(bFull, 'POST', `/containers/${await created(bFull, 'POST', '/containers', { name: 'b' })}/files`, undefined, own)).status).toBe(200);
    });

    it('checks a file named beside a container: only a cited container file (cfile_…) is its container\'s', async () => {
      // A container_id beside a file_id switched the file check off (found by an outside review): A copied B's file
      // into its own container and read it there.
      const file = await fileOf(bFull);
      const container = await created(aFull, 'POST', '/containers', { name: 'mine' });
      await expectHidden(aFull, 'POST', `/containers/${container}/files`, { file_id: file, container_id: container });
      const form = new FormData();
      form.set('file_id', file);
      form.set('container_id', container);
      const before = up.seen.length;
      expect((await call(aFull, 'POST', `/containers/${container}/files`, undefined, form)).status).toBe(404);
      expect(up.seen.length).toBe(before);
      const part = { type: 'input_file', file_id: file, container_id: container };
      await expectHidden(aFull, 'POST', '/responses', { model: 'gpt-4o-mini', input: [{ role: 'user', content: [part] }] });
      const cite = (annotation: Record<string, unknown>) => ({
        model: 'gpt-4o-mini',
        input: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'x', annotations: [annotation] }] }],
      });
      await expectHidden(aFull, 'POST', '/responses', cite({ type: 'container_file_citation', container_id: container, file_id: file }));
      // A container file cited in an answer sent back is checked through its container, which must be the caller's.
      expect((await call(aFull, 'POST', '/responses', cite({ type: 'container_file_citation', container_id: container, file_id: 'cfile_1' }))).status).toBe(200);
      const theirs = await created(bFull, 'POST', '/containers', { name: 'theirs' });
      await expectHidden(aFull, 'POST', '/responses', cite({ type: 'container_file_citation', container_id: theirs, file_id: 'cfile_1' }));
    });

    it('refuses a body that names a member twice and may name an object: a reader keeping the first would act on it', async () => {
      // JSON.parse keeps the last of two members of one name; {"file_ids":["<B's>"],"file_ids":[]} was forwarded, and an
      // upstream keeping the first would act on B's file (found by an outside review).
      const file = await fileOf(bFull);
      const own = await fileOf(aFull);
      const send = async (path: string, body: string, type: string | null = 'application/json') => {
        const before = up.seen.length;
        const res = await fetch(`${t.url}/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${aFull}`, ...(type ? { 'content-type': type } : {}) }, body });
        const answer = (await res.json()) as { error?: { code: string; param: string | null } };
        return { status: res.status, error: answer.error, forwarded: up.seen.length > before };
      };
      const part = `{"type":"input_file","file_id":"${file}"}`;
      for (const [path, body] of [
        ['/vector_stores', `{"name":"x","file_ids":["${file}"],"file_ids":[]}`],
        ['/vector_stores', `{"name":"x","file_ids":["${file}"],"file_ids":["${own}"]}`],
        ['/responses', `{"model":"gpt-4o-mini","input":[{"role":"user","content":[${part}]}],"input":"hi"}`],
        ['/responses', `{"model":"gpt-4o-mini","input":[{"role":"user","content":[{"type":"input_file","file_id":"${file}","file_id":"${own}"}]}]}`],
        ['/responses', `{"model":"gpt-4o-mini","input":[{"role":"user","content":[{"type":"input_file","fil\\u0065_id":"${file}","file_id":"${own}"}]}]}`],
        ['/chat/completions', `{"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"${file}"}}]}],"messages":[{"role":"user","content":"hi"}]}`],
        ['/batches', `{"input_file_id":"${file}","endpoint":"/v1/chat/completions","completion_window":"24h","input_file_id":"${own}"}`],
      ] as const) {
        for (const type of ['application/json', null]) {
          const res = await send(path, body, type);
          expect([res.status, res.error?.code, res.forwarded], `${type} ${body}`).toEqual([400, 'invalid_json', false]);
        }
      }
      // A repeated member in a JSON field of a multipart body.
      const form = new FormData();
      form.set('prompt', 'x');
      form.set('input_reference', `{"file_id":"${file}","file_id":"${own}"}`);
      const before = up.seen.length;
      expect((await call(aFull, 'POST', '/videos', undefined, form)).status).toBe(400);
      expect(up.seen.length).toBe(before);
      // A nested name in another case is read as Go's encoding/json reads it (a top-level one is refused, docs/models.md).
      await expectHidden(aFull, 'POST', '/responses', { model: 'gpt-4o-mini', input: [{ role: 'user', content: [{ type: 'input_file', FILE_ID: file }] }] });
      await expectHidden(aFull, 'POST', '/responses', { model: 'gpt-4o-mini', input: [{ role: 'user', content: [{ type: 'input_file', Key: 1, file_id: own, ['File_Id']: file }] }] });
      // The members a check decides on below the top level, in another case: a chat message's content, a typed reference.
      await expectHidden(aFull, 'POST', '/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', Content: [{ type: 'file', file: { file_id: file } }] }] });
      await expectHidden(aFull, 'POST', '/responses', { model: 'gpt-4o-mini', input: 'x', conversation: { Id: await created(bFull, 'POST', '/conversations', {}) } });
      // A repeated member where no object is named is refused too (any JSON body: readers differ on which counts); the
      // caller's own objects pass.
      expect((await send('/vector_stores', '{"name":"x","name":"y"}')).status).toBe(400);
      expect((await send('/vector_stores', `{"name":"x","file_ids":["${own}"]}`)).status).toBe(200);
      // A batch's input file, line by line.
      const line = JSON.stringify({ custom_id: '1', method: 'POST', url: '/v1/responses', body: { model: 'gpt-4o-mini', input: 'x' } });
      const hidden = line.replace('"body":', `"body":{"model":"gpt-4o-mini","input":[{"role":"user","content":[${part}]}]},"body":`);
      const sneaky = await fileOf(aFull, 'batch', `${line}\n${hidden}\n`);
      const refused = await call(aFull, 'POST', '/batches', { input_file_id: sneaky, endpoint: '/v1/responses', completion_window: '24h' });
      expect([refused.status, refused.body.error?.param], refused.text).toEqual([400, 'input_file_id']);
      expect(refused.body.error.message).toContain('Line 2 of the batch input file');
      // A line running another URL than the batch's endpoint (an upstream running each line's own would run what the
      // key's scope was not checked for).
      const elsewhere = await fileOf(aFull, 'batch', `${line}\n`);
      const mismatched = await call(aFull, 'POST', '/batches', { input_file_id: elsewhere, endpoint: '/v1/embeddings', completion_window: '24h' });
      expect([mismatched.status, mismatched.body.error?.param], mismatched.text).toEqual([400, 'input_file_id']);
      expect(mismatched.body.error.message).toContain("not the batch's endpoint");
      // Its url spelled URL is the url to an upstream folding names (found by a later review); in two spellings, refused.
      const shouted = await fileOf(aFull, 'batch', `${line.replace('"url":', '"URL":')}\n`);
      const upper = await call(aFull, 'POST', '/batches', { input_file_id: shouted, endpoint: '/v1/embeddings', completion_window: '24h' });
      expect([upper.status, upper.body.error?.param], upper.text).toEqual([400, 'input_file_id']);
      expect(upper.body.error.message).toContain("not the batch's endpoint");
      const twoUrls = await fileOf(aFull, 'batch', `${line.replace('"url":', '"URL":"/v1/responses","url":')}\n`);
      const urlTwice = await call(aFull, 'POST', '/batches', { input_file_id: twoUrls, endpoint: '/v1/responses', completion_window: '24h' });
      expect([urlTwice.status, urlTwice.body.error?.param], urlTwice.text).toEqual([400, 'input_file_id']);
      // A line's body in another case is the body to an upstream folding names; in two spellings, refused.
      const folded = line.replace('"body":', `"Body":{"model":"gpt-4o-mini","input":[{"role":"user","content":[${part}]}]},"x":`);
      const shifty = await fileOf(aFull, 'batch', `${line}\n${folded}\n`);
      const hiddenBody = await call(aFull, 'POST', '/batches', { input_file_id: shifty, endpoint: '/v1/responses', completion_window: '24h' });
      expect([hiddenBody.status, hiddenBody.body.error?.code], hiddenBody.text).toEqual([404, 'not_found']);
      expect(hiddenBody.body.error.message).toContain('Line 2 of the batch input file');
      const both = line.replace('"body":', `"Body":{"model":"gpt-4o-mini","input":"y"},"body":`);
      const twice = await call(aFull, 'POST', '/batches', { input_file_id: await fileOf(aFull, 'batch', `${both}\n`), endpoint: '/v1/responses', completion_window: '24h' });
      expect([twice.status, twice.body.error?.param], twice.text).toEqual([400, 'input_file_id']);
      expect(twice.body.error.message).toMatch(/Line 1 of the batch input file .*'body' twice/);
    });

    it("checks the objects named by every request of a batch's input file before the batch is made", async () => {
      const theirs = await created(bFull, 'POST', '/responses', { model: 'gpt-4o-mini', input: 'secret' });
      const mine = await created(aFull, 'POST', '/responses', { model: 'gpt-4o-mini', input: 'mine' });
      const line = (n: number, body: Record<string, unknown>) => JSON.stringify({ custom_id: String(n), method: 'POST', url: '/v1/responses', body: { model: 'gpt-4o-mini', input: 'x', ...body } });
      const sneaky = await fileOf(aFull, 'batch', `${line(1, { previous_response_id: mine })}\n\n${line(2, { previous_response_id: theirs })}\n`);
      const batch = { input_file_id: sneaky, endpoint: '/v1/responses', completion_window: '24h' };
      const refused = await call(aFull, 'POST', '/batches', batch);
      expect(refused.status).toBe(404);
      expect(refused.body.error).toMatchObject({ code: 'not_found', param: 'input_file_id' });
      expect(refused.body.error.message).toContain(`Line 3 of the batch input file ${sneaky}`);
      expect(up.seen.filter((r) => r.method === 'POST' && r.url === '/v1/batches' && r.body.includes(sneaky))).toHaveLength(0);
      const honest = await fileOf(aFull, 'batch', line(1, { previous_response_id: mine }));
      expect((await call(aFull, 'POST', '/batches', { ...batch, input_file_id: honest })).status).toBe(200);
    });

    it('refuses eval data sources that read the stored objects of every project', async () => {
      const res = await call(aFull, 'POST', '/evals', { name: 'e', data_source_config: { type: 'stored_completions', metadata: {} }, testing_criteria: [] });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('insufficient_permissions');
    });
  });

  describe('lists', () => {
    const page = (key: string, path: string) => call(key, 'GET', path);

    it('pages through only the caller’s objects, whatever lies between, with consistent cursors both ways', async () => {
      const mine: string[] = [];
      for (let i = 0; i < 5; i++) {
        mine.push(await created(aFull, 'POST', '/vector_stores', { name: `a${i}` }));
        for (let j = 0; j < 7; j++) await created(bFull, 'POST', '/vector_stores', { name: `b${i}.${j}` });
      }
      const newestFirst = [...mine].reverse();
      const seenIds: string[] = [];
      let after = '';
      for (let n = 0; n < 10; n++) {
        const res = await page(aReadOnly, `/vector_stores?limit=2${after ? `&after=${after}` : ''}`);
        expect(res.status).toBe(200);
        seenIds.push(...res.body.data.map((o: { id: string }) => o.id));
        expect(res.body.first_id).toBe(res.body.data[0]?.id ?? null);
        expect(res.body.last_id).toBe(res.body.data.at(-1)?.id ?? null);
        if (!res.body.has_more) break;
        after = res.body.last_id;
      }
      // A's are the newest five (after any made by earlier tests), every one listed once, in order.
      const all = await listIds(aFull, '/vector_stores?limit=100');
      expect(all.slice(0, 5)).toEqual(newestFirst);
      expect(seenIds).toEqual(all);
      const asc = await page(aFull, '/vector_stores?order=asc&limit=3');
      expect(asc.body.data.map((o: { id: string }) => o.id)).toEqual([...all].reverse().slice(0, 3));
      expect(asc.body.has_more).toBe(true);
      const back = await page(aFull, `/vector_stores?limit=2&before=${newestFirst[3]}`);
      expect(back.body.data.map((o: { id: string }) => o.id)).toEqual(newestFirst.slice(1, 3));
      // A cursor naming another project's object is a missing object.
      const theirs = await page(bFull, '/vector_stores?limit=1');
      await expectHidden(aFull, 'GET', `/vector_stores?after=${theirs.body.data[0].id}`);
    });

    it('stops reading the upstream once the caller owns nothing further down the list', async () => {
      const only = await created(aFull, 'POST', '/assistants', { model: 'gpt-4o-mini' });
      for (let i = 0; i < 30; i++) await created(bFull, 'POST', '/assistants', { model: 'gpt-4o-mini' });
      const before = up.seen.length;
      const newest = await page(aFull, '/assistants?limit=5');
      expect(newest.body.data.map((o: { id: string }) => o.id)).toContain(only);
      expect(newest.body.has_more).toBe(false);
      // 31 assistants, 5 a page: the scan went past the 30 of B to A's, then asked the table and stopped.
      expect(up.seen.length - before).toBeLessThanOrEqual(3);
      const mineFirst = await created(aFull, 'POST', '/assistants', { model: 'gpt-4o-mini' });
      const before2 = up.seen.length;
      const top = await page(aFull, '/assistants?limit=1');
      expect(top.body.data.map((o: { id: string }) => o.id)).toEqual([mineFirst]);
      expect(top.body.has_more).toBe(true);
      expect(up.seen.length - before2).toBe(1);
    });
  });

  describe('objects made outside Tollgate', () => {
    it('are invisible to every project key until an operator assigns one, which is audited and can be moved or undone', async () => {
      const outside = up.seed('files', { filename: 'legacy.jsonl', purpose: 'batch' });
      const thread = up.seed('chatkit/threads', { title: 'support' });
      for (const key of [aFull, aReadOnly, bFull]) {
        await expectHidden(key, 'GET', `/files/${outside.id}`);
        await expectHidden(key, 'GET', `/chatkit/threads/${thread.id}`);
        expect(await listIds(key, '/files?limit=1000')).not.toContain(outside.id);
        expect(await listIds(key, '/chatkit/threads')).not.toContain(thread.id);
      }
      const assigned = await t.api('POST', `${ORG}/projects/${projectA}/upstream_objects`, { body: { id: outside.id } });
      expect(assigned.status).toBe(200);
      expect(assigned.body).toMatchObject({ object: 'organization.project.upstream_object', id: outside.id, type: 'file', project_id: projectA, source: 'assigned' });
      expect((await call(aReadOnly, 'GET', `/files/${outside.id}`)).status).toBe(200);
      expect(await listIds(aFull, '/files?limit=1000')).toContain(outside.id);
      await expectHidden(bFull, 'GET', `/files/${outside.id}`);
      const audit = await t.api('GET', `${ORG}/audit_logs?event_types[]=upstream_object.assigned&resource_ids[]=${outside.id}`);
      expect(audit.body.data[0]).toMatchObject({ type: 'upstream_object.assigned', project: { id: projectA } });
      expect(audit.body.data[0]['upstream_object.assigned']).toMatchObject({ id: outside.id, type: 'file', previous_project_id: null });

      // Moved to B: A loses it at once.
      expect((await t.api('POST', `${ORG}/projects/${projectB}/upstream_objects`, { body: { id: outside.id, type: 'file' } })).status).toBe(200);
      await expectHidden(aFull, 'GET', `/files/${outside.id}`);
      expect((await call(bFull, 'GET', `/files/${outside.id}`)).status).toBe(200);
      const moved = await t.api('GET', `${ORG}/audit_logs?event_types[]=upstream_object.assigned&resource_ids[]=${outside.id}`);
      expect(moved.body.data[0]['upstream_object.assigned'].previous_project_id).toBe(projectA);
      const listed = await t.api('GET', `${ORG}/projects/${projectB}/upstream_objects?type=file&limit=100`);
      expect(listed.body.data.map((o: { id: string }) => o.id)).toContain(outside.id);
      // What the list does not filter by, and any query or body member where a route takes none, is refused.
      const unknown = { code: 'unknown_parameter' };
      expect((await t.api('GET', `${ORG}/projects/${projectB}/upstream_objects?project_id=${projectA}`)).body.error).toMatchObject({ ...unknown, param: 'project_id' });
      expect((await t.api('GET', `${ORG}/projects/${projectB}/upstream_objects?type=bogus`)).body.error).toMatchObject({ code: 'invalid_value', param: 'type' });
      expect((await t.api('POST', `${ORG}/projects/${projectB}/upstream_objects?force=1`, { body: { id: outside.id } })).body.error).toMatchObject({ ...unknown, param: 'force' });
      expect((await t.api('DELETE', `${ORG}/projects/${projectB}/upstream_objects/${outside.id}?soft=1`)).body.error).toMatchObject({ ...unknown, param: 'soft' });

      // Unassigned: nobody's again.
      expect((await t.api('DELETE', `${ORG}/projects/${projectB}/upstream_objects/${outside.id}`)).status).toBe(200);
      await expectHidden(bFull, 'GET', `/files/${outside.id}`);
      expect((await t.api('DELETE', `${ORG}/projects/${projectB}/upstream_objects/${outside.id}`)).status).toBe(404);

      // ChatKit threads are only ever made outside: assigned, they are listed and served.
      expect((await t.api('POST', `${ORG}/projects/${projectA}/upstream_objects`, { body: { id: thread.id, type: 'chatkit_thread' } })).status).toBe(200);
      expect(await listIds(aFull, '/chatkit/threads')).toEqual([thread.id]);
      expect((await call(aFull, 'GET', `/chatkit/threads/${thread.id}/items`)).status).toBe(200);
    });

    it('are assigned, listed and unassigned with the CLI', async () => {
      const outside = up.seed('vector_stores', { name: 'legacy' });
      const cli = async (...args: string[]) => {
        let out = '';
        let err = '';
        const code = await runCli(['node', 'tollgate', '--server', t.url, '--admin-key', t.adminKey, ...args], { env: {}, out: (x) => (out += x), err: (x) => (err += x) });
        return { code, out, err };
      };
      const assigned = await cli('objects', 'assign', outside.id, '--project', 'A');
      expect(assigned.code, assigned.err).toBe(0);
      expect(assigned.out).toContain(`Assigned vector_store ${outside.id} to ${projectA}`);
      expect((await call(aFull, 'GET', `/vector_stores/${outside.id}`)).status).toBe(200);
      const listed = await cli('--json', 'objects', 'list', '--project', 'A', '--type', 'vector_store');
      expect(JSON.parse(listed.out).data.map((o: { id: string }) => o.id)).toContain(outside.id);
      const table = await cli('objects', 'list', '--project', projectA);
      expect(table.out).toMatch(new RegExp(`${outside.id}\\s+vector_store\\s+assigned`));
      expect((await cli('objects', 'unassign', outside.id, '--project', 'A')).code).toBe(0);
      await expectHidden(aFull, 'GET', `/vector_stores/${outside.id}`);
      const untyped = await cli('objects', 'assign', 'msg_1', '--project', 'A');
      expect(untyped.code).toBe(1);
      expect(untyped.err).toContain("give 'type'");
    });

    it('refuses an assignment it cannot type, to an unknown project, or with a bad id', async () => {
      expect((await t.api('POST', `${ORG}/projects/${projectA}/upstream_objects`, { body: { id: 'msg_123' } })).body.error.code).toBe('missing_required_parameter');
      expect((await t.api('POST', `${ORG}/projects/${projectA}/upstream_objects`, { body: { id: 'file x' } })).body.error.code).toBe('invalid_value');
      expect((await t.api('POST', `${ORG}/projects/${projectA}/upstream_objects`, { body: { id: 'file-1', type: 'spaceship' } })).body.error.code).toBe('invalid_value');
      expect((await t.api('POST', `${ORG}/projects/proj_nope/upstream_objects`, { body: { id: 'file-1' } })).status).toBe(404);
      expect((await t.api('POST', `${ORG}/projects/${projectA}/upstream_objects`, { key: aFull, body: { id: 'file-1' } })).status).toBe(403);
    });
  });
});

describeEachDatabase('recording upstream objects', (backend) => {
  it('refuses to deliver an object whose owner cannot be recorded, and names it for the operator', async () => {
    const up = await startFakeObjectsUpstream();
    const t = await serverFor(backend, up);
    try {
      const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k' } })).body.value;
      await sql`drop table upstream_objects`.execute(t.server.runtime.database.db);
      const res = await fetch(`${t.url}/v1/vector_stores`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{"name":"x"}' });
      expect(res.status).toBe(503);
      const body = await res.json();
      const made = [...(up.objects.get('vector_stores')?.keys() ?? [])];
      expect(made).toHaveLength(1);
      expect(body.error).toMatchObject({ code: 'service_unavailable', type: 'server_error' });
      expect(body.error.message).toContain(made[0]);
      // A stream is cut before the event that names the object.
      const stream = await fetch(`${t.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', input: 'hi', stream: true }),
      });
      const text = await stream.text();
      expect(text).not.toContain('resp_');
      expect(text).toContain('upstream_error');
    } finally {
      await t.close();
      await up.close();
    }
  });

  it("sends a project's mapped OpenAI-Project upstream, and no other project's", async () => {
    const up = await startFakeObjectsUpstream();
    const first = await serverFor(backend, up, {}, { keepSchema: true });
    const mapped = (await first.api('POST', `${ORG}/projects`, { body: { name: 'mapped' } })).body.id;
    const keyOf = async (project: string) => (await first.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'k' } })).body.value;
    const mappedKey = await keyOf(mapped);
    const otherKey = await keyOf(first.defaultProjectId);
    await first.server.close();
    const t = await serverFor(backend, up, {}, { schema: first.schema, dataDir: first.dataDir, projects: { [mapped]: 'proj_upstream_mapped' } });
    try {
      for (const [key, expected] of [
        [mappedKey, 'proj_upstream_mapped'],
        [otherKey, undefined],
      ] as const) {
        up.seen.length = 0;
        const res = await fetch(`${t.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'openai-project': '' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
        });
        expect(res.status).toBe(200);
        expect(up.seen[0].headers['openai-project']).toBe(expected);
      }
    } finally {
      await t.close();
      await up.close();
    }
  });

  it("reaches every instance: an operator's assignment takes effect on the others within the change feed's poll", async () => {
    const up = await startFakeObjectsUpstream();
    const one = await serverFor(backend, up, {}, { keepSchema: true });
    // Another instance on the same database, with a data dir of its own (one server per data dir): on SQLite, the
    // first's database file.
    const shared: Record<string, string> = backend.name === 'sqlite' ? { DATABASE_URL: `sqlite:${join(one.dataDir, 'tollgate.db')}` } : {};
    const two = await serverFor(backend, up, shared, { schema: one.schema, keepSchema: true });
    try {
      const project = (await one.api('POST', `${ORG}/projects`, { body: { name: 'P' } })).body.id;
      const key = (await one.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'k' } })).body.value;
      const get = async (id: string) => (await fetch(`${two.url}/v1/files/${id}`, { headers: { authorization: `Bearer ${key}` } })).status;
      const until = async (id: string, status: number) => {
        const t0 = performance.now();
        while ((await get(id)) !== status) {
          // The poll is 200 ms here; the margin is for a loaded machine (without the feed it never happens).
          if (performance.now() - t0 > 20_000) throw new Error(`${id} never answered ${status} on the other instance`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      const moved = up.seed('files', {});
      const later = up.seed('files', {});
      expect((await one.api('POST', `${ORG}/projects/${project}/upstream_objects`, { body: { id: moved.id } })).status).toBe(200);
      await until(moved.id, 200); // now cached as the project's on the other instance
      expect(await get(later.id)).toBe(404); // and this one cached as nobody's
      expect((await one.api('POST', `${ORG}/projects/${one.defaultProjectId}/upstream_objects`, { body: { id: moved.id } })).status).toBe(200);
      expect((await one.api('POST', `${ORG}/projects/${project}/upstream_objects`, { body: { id: later.id } })).status).toBe(200);
      await until(moved.id, 404);
      await until(later.id, 200);
    } finally {
      await two.server.close();
      await one.close();
      await up.close();
    }
  }, 60_000);
});
