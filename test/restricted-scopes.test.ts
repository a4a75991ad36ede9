import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeObjectsUpstream, startFakeObjectsUpstream } from './harness/fake-objects-upstream.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A restricted key reaches what its scopes name, and nothing else through another resource's door: what a request
// makes the provider run beyond its path (an eval run's data source, a model grader), and the objects its body names.
// Scopes do not depend on the database: one SQLite server.

const ORG = '/v1/organization';

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  body: any;
  text: string;
}

describe('restricted keys', () => {
  let up: FakeObjectsUpstream;
  let t: TestServer;

  const newKey = async (restricted: Record<string, string>): Promise<string> => {
    const res = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'scoped', permissions: { restricted } } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.value;
  };
  const call = async (key: string, method: string, path: string, body?: unknown): Promise<Answer> => {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${t.url}/v1${path}`, { method, headers, body: typeof body === 'string' ? body : body !== undefined ? JSON.stringify(body) : undefined });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    return { status: res.status, body: parsed, text };
  };
  /** Refused for the scope named, in OpenAI's shape, and never forwarded. */
  const expectMissing = async (key: string, method: string, path: string, body: unknown, scope: string) => {
    const before = up.seen.length;
    const res = await call(key, method, path, body);
    expect([res.status, res.body?.error?.code], `${method} ${path} ${JSON.stringify(body)}: ${res.text}`).toEqual([403, 'insufficient_permissions']);
    expect(res.body.error.message).toContain(`Missing scope: ${scope}`);
    expect(up.seen.slice(before).filter((r) => r.method === method && r.url.split('?')[0] === `/v1${path}`)).toEqual([]);
  };
  const expectPassed = async (key: string, method: string, path: string, body?: unknown) => {
    const res = await call(key, method, path, body);
    expect(res.status, `${method} ${path} ${JSON.stringify(body)}: ${res.text}`).toBeLessThan(300);
    return res;
  };

  beforeAll(async () => {
    up = await startFakeObjectsUpstream();
    const file = gatewayConfigFile({ providers: [{ name: 'fake', base_url: up.url, api_key_env: 'FAKE_KEY' }] });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, FAKE_KEY: 'sk-provider' } });
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  describe('what a request makes the provider run', () => {
    const scoreModel = { type: 'score_model', name: 's', model: 'gpt-4o-mini', input: [{ role: 'user', content: 'grade {{sample.output_text}}' }] };
    const labelModel = { type: 'label_model', name: 'l', model: 'gpt-4o-mini', input: [], labels: ['a', 'b'], passing_labels: ['a'] };
    const stringCheck = { type: 'string_check', name: 'c', input: '{{sample.output_text}}', reference: 'x', operation: 'eq' };
    const jsonl = { type: 'jsonl', source: { type: 'file_content', content: [{ item: { q: 'x' } }] } };

    it("refuses an eval run's data source that samples a model through a resource the key may not write", async () => {
      const full = await newKey({ evals: 'write' });
      const evalId = (await expectPassed(full, 'POST', '/evals', { name: 'e', data_source_config: { type: 'custom', item_schema: {} }, testing_criteria: [stringCheck] })).body.id;
      const runs = `/evals/${evalId}/runs`;
      const completions = { type: 'completions', model: 'gpt-4o-mini', source: jsonl.source, input_messages: { type: 'template', template: [] } };
      const responses = { type: 'responses', model: 'gpt-4o-mini', source: jsonl.source };
      await expectMissing(full, 'POST', runs, { data_source: completions }, 'chat.completions (write)');
      await expectMissing(full, 'POST', runs, { data_source: responses }, 'responses (write)');
      // Its members in any case, as an upstream folding names reads them; two spellings refused.
      await expectMissing(full, 'POST', runs, { data_source: { ...completions, type: undefined, TYPE: 'completions' } }, 'chat.completions (write)');
      const twice = await call(full, 'POST', runs, { data_source: { ...completions, Type: 'jsonl' } });
      expect([twice.status, twice.body.error.param], twice.text).toEqual([400, 'type']);
      // A type Tollgate does not know may be one that runs a model: no scope can be shown to allow it.
      await expectMissing(full, 'POST', runs, { data_source: { ...completions, type: 'Completions' } }, 'chat.completions (write)');
      // Allowed where the key may write, and a file of rows runs no model.
      await expectPassed(full, 'POST', runs, { data_source: jsonl });
      const chat = await newKey({ evals: 'write', 'chat.completions': 'write' });
      await expectPassed(chat, 'POST', runs, { data_source: completions });
      await expectMissing(chat, 'POST', runs, { data_source: responses }, 'responses (write)');
      await expectPassed(await newKey({ evals: 'write', responses: 'write' }), 'POST', runs, { data_source: responses });
    });

    it("refuses a run of an eval whose stored graders run a model, whoever made the eval", async () => {
      const evalsOnly = await newKey({ evals: 'write' });
      const grading = await newKey({ evals: 'write', 'chat.completions': 'write' });
      const criteria = [stringCheck, { type: 'multi', name: 'm', graders: { a: stringCheck, b: scoreModel }, calculate_output: 'a' }];
      // Made by a key that may run the grader (made, not run: nothing is spent until a run).
      const evalId = (await expectPassed(grading, 'POST', '/evals', { name: 'e', data_source_config: { type: 'custom', item_schema: {} }, testing_criteria: criteria })).body.id;
      await expectMissing(evalsOnly, 'POST', `/evals/${evalId}/runs`, { data_source: jsonl }, 'chat.completions (write)');
      await expectPassed(grading, 'POST', `/evals/${evalId}/runs`, { data_source: jsonl });
      const plain = (await expectPassed(evalsOnly, 'POST', '/evals', { name: 'p', data_source_config: { type: 'custom', item_schema: {} }, testing_criteria: [stringCheck] })).body.id;
      await expectPassed(evalsOnly, 'POST', `/evals/${plain}/runs`, { data_source: jsonl });
    });

    it('refuses a grader run, or reinforcement fine-tuning, whose grader runs a model', async () => {
      const tuner = await newKey({ fine_tuning: 'write', files: 'write' });
      const run = '/fine_tuning/alpha/graders/run';
      for (const grader of [scoreModel, labelModel, { type: 'multi', name: 'm', graders: { a: stringCheck, b: labelModel }, calculate_output: 'a' }, { type: 'multi', name: 'm', graders: scoreModel, calculate_output: 'x' }, { ...scoreModel, type: undefined, Type: 'score_model' }]) {
        await expectMissing(tuner, 'POST', run, { grader, model_sample: 'x' }, 'chat.completions (write)');
      }
      await expectPassed(tuner, 'POST', run, { grader: stringCheck, model_sample: 'x' });
      await expectPassed(tuner, 'POST', run, { grader: { type: 'multi', name: 'm', graders: { a: stringCheck }, calculate_output: 'a' }, model_sample: 'x' });
      await expectPassed(await newKey({ fine_tuning: 'write', 'chat.completions': 'write' }), 'POST', run, { grader: scoreModel, model_sample: 'x' });
      // A fine-tuning job grading every sample with a model.
      const job = (grader: unknown) => ({ model: 'gpt-4o-mini', training_file: 'file-x', method: { type: 'reinforcement', reinforcement: { grader } } });
      await expectMissing(tuner, 'POST', '/fine_tuning/jobs', job(scoreModel), 'chat.completions (write)');
      await expectMissing(tuner, 'POST', '/fine_tuning/jobs', { ...job(scoreModel), method: { type: 'reinforcement', Reinforcement: { GRADER: scoreModel } } }, 'chat.completions (write)');
      const refused = await call(tuner, 'POST', '/fine_tuning/jobs', job(stringCheck));
      expect(refused.body?.error?.code ?? null, refused.text).not.toBe('insufficient_permissions');
    });

    it('refuses resuming a fine-tuning job whose grader runs a model, read from the provider', async () => {
      const grading = await newKey({ fine_tuning: 'write', 'chat.completions': 'write', files: 'write' });
      const form = new FormData();
      form.set('purpose', 'fine-tune');
      form.set('file', new Blob(['{}']), 'train.jsonl');
      const file = ((await (await fetch(`${t.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${grading}` }, body: form })).json()) as { id: string }).id;
      const job = async (method?: unknown) => (await expectPassed(grading, 'POST', '/fine_tuning/jobs', { model: 'gpt-4o-mini', training_file: file, method })).body.id;
      const graded = await job({ type: 'reinforcement', reinforcement: { grader: { type: 'multi', name: 'm', graders: { a: stringCheck, b: scoreModel }, calculate_output: 'a' } } });
      const checked = await job({ type: 'reinforcement', reinforcement: { grader: stringCheck } });
      const supervised = await job();
      const tuner = await newKey({ fine_tuning: 'write' });
      await expectPassed(tuner, 'POST', `/fine_tuning/jobs/${graded}/pause`);
      for (const method of ['POST', 'PUT']) await expectMissing(tuner, method, `/fine_tuning/jobs/${graded}/resume`, undefined, 'chat.completions (write)');
      await expectPassed(grading, 'POST', `/fine_tuning/jobs/${graded}/resume`);
      await expectPassed(tuner, 'POST', `/fine_tuning/jobs/${checked}/resume`);
      await expectPassed(tuner, 'POST', `/fine_tuning/jobs/${supervised}/resume`);
    });

    it("answers a failed read of an eval's graders as the provider did, and a malformed one as the provider's fault", async () => {
      const evalsOnly = await newKey({ evals: 'write' });
      const evalId = (await expectPassed(evalsOnly, 'POST', '/evals', { name: 'e', data_source_config: { type: 'custom', item_schema: {} }, testing_criteria: [stringCheck] })).body.id;
      const read = `GET /v1/evals/${evalId}`;
      const runs = () => up.seen.filter((r) => r.method === 'POST' && r.url === `/v1/evals/${evalId}/runs`).length;
      const run = async () => {
        const before = runs();
        const res = await fetch(`${t.url}/v1/evals/${evalId}/runs`, { method: 'POST', headers: { authorization: `Bearer ${evalsOnly}`, 'content-type': 'application/json' }, body: JSON.stringify({ data_source: jsonl }) });
        const body = (await res.json()) as { error?: { code: string | null; message: string } };
        expect(runs(), 'the run is never forwarded').toBe(before);
        return { status: res.status, retryAfter: res.headers.get('retry-after'), error: body.error };
      };
      try {
        const limited = { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } };
        up.overrides.set(read, { status: 429, headers: { 'retry-after': '7' }, body: JSON.stringify(limited) });
        expect(await run()).toEqual({ status: 429, retryAfter: '7', error: expect.objectContaining({ code: 'rate_limit_exceeded', message: expect.stringContaining('Rate limit reached') }) });
        up.overrides.set(read, { status: 401, body: JSON.stringify({ error: { message: 'Missing scopes: api.evals.read', type: 'invalid_request_error', param: null, code: null } }) });
        // As any answer of the provider refusing its credentials is: the operator's to fix, not the client's (proxy.ts).
        expect(await run()).toMatchObject({ status: 502, error: { code: 'upstream_auth_failed' } });
        // The stored eval names a grader's type in two spellings: the provider's data, not the client's request.
        up.overrides.set(read, { status: 200, body: JSON.stringify({ id: evalId, object: 'eval', testing_criteria: [{ type: 'string_check', Type: 'score_model' }] }) });
        const twice = await run();
        expect([twice.status, twice.error?.code]).toEqual([502, 'upstream_error']);
        expect(twice.error?.message).toContain('could not be read safely');
        // Read up to the gateway's bound, not whole.
        up.overrides.set(read, { status: 200, body: JSON.stringify({ id: evalId, object: 'eval', testing_criteria: [stringCheck], padding: 'x'.repeat(9 * 1024 * 1024) }) });
        expect(await run()).toMatchObject({ status: 502, error: { code: 'upstream_error' } });
      } finally {
        up.overrides.delete(read);
      }
      await expectPassed(evalsOnly, 'POST', `/evals/${evalId}/runs`, { data_source: jsonl });
    });

    it('checks every method that carries a body, as an upstream routing without regard to the method would run it', async () => {
      const tuner = await newKey({ fine_tuning: 'write', files: 'write' });
      const evalsOnly = await newKey({ evals: 'write' });
      const grading = await newKey({ evals: 'write', 'chat.completions': 'write' });
      const plain = (await expectPassed(evalsOnly, 'POST', '/evals', { name: 'p', data_source_config: { type: 'custom', item_schema: {} }, testing_criteria: [stringCheck] })).body.id;
      const graded = (await expectPassed(grading, 'POST', '/evals', { name: 'g', data_source_config: { type: 'custom', item_schema: {} }, testing_criteria: [scoreModel] })).body.id;
      const completions = { type: 'completions', model: 'gpt-4o-mini', source: jsonl.source, input_messages: { type: 'template', template: [] } };
      const batcher = await newKey({ batches: 'write', files: 'read' });
      for (const method of ['PUT', 'PATCH']) {
        await expectMissing(tuner, method, '/fine_tuning/alpha/graders/run', { grader: scoreModel, model_sample: 'x' }, 'chat.completions (write)');
        await expectMissing(tuner, method, '/fine_tuning/jobs', { model: 'gpt-4o-mini', training_file: 'file-x', method: { type: 'reinforcement', reinforcement: { grader: scoreModel } } }, 'chat.completions (write)');
        await expectMissing(evalsOnly, method, `/evals/${plain}/runs`, { data_source: completions }, 'chat.completions (write)');
        // The eval's stored graders too.
        await expectMissing(evalsOnly, method, `/evals/${graded}/runs`, { data_source: jsonl }, 'chat.completions (write)');
        await expectMissing(batcher, method, '/batches', { input_file_id: 'file-x', endpoint: '/v1/chat/completions', completion_window: '24h' }, 'chat.completions (write)');
      }
    });

    // Found by an outside review: a batch's `endpoint` was scoped by its first segment, so
    // `/v1/embeddings/../chat/completions` was checked as embeddings, for an upstream that resolves it to chat.
    it('a batch runs exactly one of the endpoints OpenAI batches, for every key: no other spelling is scoped as another', async () => {
      const embedder = await newKey({ batches: 'write', embeddings: 'write', files: 'read' });
      const all = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'all' } })).body.value as string;
      for (const endpoint of [
        '/v1/embeddings/../chat/completions',
        '/v1/embeddings/%2E%2E/chat/completions',
        '/v1/embeddings/./',
        '/v1/embeddings/',
        '/v1//embeddings',
        '/V1/embeddings',
        '/v1/Embeddings',
        '/v1/embeddings?x=1',
        '/v1/embeddings#x',
        ' /v1/embeddings',
        '/embeddings',
        'v1/embeddings',
        '/v1/embeddings/x',
        '/v1/fim/completions',
        '',
        42,
      ]) {
        for (const key of [embedder, all]) {
          for (const method of ['POST', 'PUT']) {
            const before = up.seen.length;
            const res = await call(key, method, '/batches', { input_file_id: 'file-x', endpoint, completion_window: '24h' });
            expect([res.status, res.body?.error?.code, res.body?.error?.param], `${method} ${JSON.stringify(endpoint)}: ${res.text}`).toEqual([400, 'invalid_value', 'endpoint']);
            expect(up.seen.length).toBe(before);
          }
        }
      }
      for (const endpoint of ['/v1/embeddings', '/v1/chat/completions']) {
        const res = await call(all, 'POST', '/batches', { input_file_id: 'file-x', endpoint, completion_window: '24h' });
        expect(res.body?.error?.param, endpoint).not.toBe('endpoint');
      }
    });

    it('refuses what runs a model named in the query string, as a batch endpoint there is refused', async () => {
      const tuner = await newKey({ fine_tuning: 'write', 'chat.completions': 'write', responses: 'write', evals: 'write' });
      const evalId = (await expectPassed(tuner, 'POST', '/evals', { name: 'e', data_source_config: { type: 'custom', item_schema: {} }, testing_criteria: [stringCheck] })).body.id;
      const completions = { type: 'completions', model: 'gpt-4o-mini', source: jsonl.source };
      for (const [path, query, param, body] of [
        ['/fine_tuning/alpha/graders/run', `grader=${encodeURIComponent(JSON.stringify(scoreModel))}`, 'grader', { model_sample: 'x' }],
        ['/fine_tuning/alpha/graders/run', 'GRADER[type]=score_model', 'grader', { grader: stringCheck, model_sample: 'x' }],
        [`/evals/${evalId}/runs`, `data_source=${encodeURIComponent(JSON.stringify(completions))}`, 'data_source', undefined],
        [`/evals/${evalId}/runs`, 'x=1;data_source[type]=responses', 'data_source', { data_source: jsonl }],
        ['/fine_tuning/jobs', 'method[type]=reinforcement', 'method', { model: 'gpt-4o-mini', training_file: 'file-x' }],
      ] as const) {
        // Refused to every key (which one an upstream reads cannot be known), the key that may run them included.
        for (const key of [tuner, await newKey({ evals: 'write', fine_tuning: 'write' })]) {
          const before = up.seen.length;
          const res = await call(key, 'POST', `${path}?${query}`, body);
          expect([res.status, res.body?.error?.param], `${path}?${query}: ${res.text}`).toEqual([400, param]);
          expect(up.seen.length).toBe(before);
        }
      }
    });
  });

  describe('the objects a request names', () => {
    let full: string;
    let file: string;
    let store: string;
    beforeAll(async () => {
      full = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'full', permissions: 'all' } })).body.value;
      const form = new FormData();
      form.set('purpose', 'assistants');
      form.set('file', new Blob(['secret contents']), 'secret.txt');
      const res = await fetch(`${t.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${full}` }, body: form });
      file = ((await res.json()) as { id: string }).id;
      store = (await expectPassed(full, 'POST', '/vector_stores', { name: 'kb' })).body.id;
      await expectPassed(full, 'POST', `/vector_stores/${store}/files`, { file_id: file });
    });

    it("needs read on another resource's object named in the body or the path", async () => {
      const stores = await newKey({ vector_stores: 'write' });
      await expectMissing(stores, 'GET', `/files/${file}/content`, undefined, 'files (read)');
      // The same file's contents through the vector store: refused as through /files.
      await expectMissing(stores, 'GET', `/vector_stores/${store}/files/${file}/content`, undefined, 'files (read)');
      await expectMissing(stores, 'POST', `/vector_stores/${store}/files`, { file_id: file }, 'files (read)');
      await expectMissing(stores, 'POST', '/vector_stores', { file_ids: [file] }, 'files (read)');
      await expectPassed(stores, 'GET', `/vector_stores/${store}`);
      await expectPassed(stores, 'POST', '/vector_stores', { name: 'empty' });
      const reader = await newKey({ vector_stores: 'write', files: 'read' });
      await expectPassed(reader, 'POST', '/vector_stores', { file_ids: [file] });
      expect((await expectPassed(reader, 'GET', `/vector_stores/${store}/files/${file}/content`)).text).toContain('contents of');

      const threads = await newKey({ threads: 'write' });
      await expectMissing(threads, 'POST', '/threads', { tool_resources: { file_search: { vector_stores: [{ file_ids: [file] }] } } }, 'files (read)');
      // In any case, as an upstream folding names reads it.
      await expectMissing(threads, 'POST', '/threads', { tool_resources: { file_search: { vector_stores: [{ FILE_IDS: [file] }] } } }, 'files (read)');
      await expectMissing(threads, 'POST', '/threads', { tool_resources: { file_search: { vector_store_ids: [store] } } }, 'vector_stores (read)');
      await expectPassed(threads, 'POST', '/threads', {});
      const assistants = await newKey({ assistants: 'write' });
      await expectMissing(assistants, 'POST', '/assistants', { model: 'gpt-4o-mini', tool_resources: { code_interpreter: { file_ids: [file] } } }, 'files (read)');
      await expectPassed(assistants, 'POST', '/assistants', { model: 'gpt-4o-mini' });

      const responses = await newKey({ responses: 'write' });
      const conversation = (await expectPassed(full, 'POST', '/conversations', { items: [{ type: 'message', role: 'user', content: 'private' }] })).body.id;
      await expectMissing(responses, 'GET', `/conversations/${conversation}/items`, undefined, 'conversations (read)');
      await expectMissing(responses, 'POST', '/responses', { model: 'gpt-4o-mini', input: 'x', conversation }, 'conversations (write)');
      await expectMissing(responses, 'POST', '/responses', { model: 'gpt-4o-mini', input: 'x', conversation: { id: conversation } }, 'conversations (write)');
      await expectMissing(responses, 'POST', '/responses', { model: 'gpt-4o-mini', input: [{ role: 'user', content: [{ type: 'input_file', file_id: file }] }] }, 'files (read)');
      await expectMissing(responses, 'POST', '/responses', { model: 'gpt-4o-mini', input: 'x', tools: [{ type: 'file_search', vector_store_ids: [store] }] }, 'vector_stores (read)');
      await expectPassed(responses, 'POST', '/responses', { model: 'gpt-4o-mini', input: 'x' });
    });

    it("leaves out what reads no other resource: a vector store's file record, a count of tokens, a voice used", async () => {
      // A vector store's file below the store is the store's record of it (status, attributes): only its content is the file's.
      const own = (await expectPassed(full, 'POST', '/vector_stores', { name: 'own' })).body.id;
      await expectPassed(full, 'POST', `/vector_stores/${own}/files`, { file_id: file });
      const stores = await newKey({ vector_stores: 'write' });
      expect((await expectPassed(stores, 'GET', `/vector_stores/${own}/files/${file}`)).body.id).toBe(file);
      await expectPassed(stores, 'POST', `/vector_stores/${own}/files/${file}`, { attributes: { topic: 'x' } });
      await expectMissing(stores, 'GET', `/vector_stores/${own}/files/${file}/content`, undefined, 'files (read)');
      await expectPassed(stores, 'DELETE', `/vector_stores/${own}/files/${file}`);
      await expectMissing(await newKey({ files: 'write' }), 'GET', `/vector_stores/${own}/files/${file}`, undefined, 'vector_stores (read)');

      // Counting a response's input tokens writes nothing: a conversation it names is read.
      const conversation = (await expectPassed(full, 'POST', '/conversations', {})).body.id;
      const reader = await newKey({ responses: 'write', conversations: 'read' });
      await expectPassed(reader, 'POST', '/responses/input_tokens', { model: 'gpt-4o-mini', input: 'x', conversation });
      await expectMissing(reader, 'POST', '/responses', { model: 'gpt-4o-mini', input: 'x', conversation }, 'conversations (write)');
      await expectMissing(await newKey({ responses: 'write' }), 'POST', '/responses/input_tokens', { model: 'gpt-4o-mini', input: 'x', conversation }, 'conversations (read)');

      // A custom voice spoken in is used, not read: the request's own scope covers it (its project's, still).
      const voice = up.seed('audio/voices', { name: 'v' }).id;
      expect((await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/upstream_objects`, { body: { id: voice, type: 'voice' } })).status).toBe(200);
      const chat = await newKey({ 'chat.completions': 'write' });
      const spoken = { model: 'gpt-4o-mini', modalities: ['text', 'audio'], audio: { voice, format: 'wav' }, messages: [{ role: 'user', content: 'x' }] };
      await expectPassed(chat, 'POST', '/chat/completions', spoken);
      const stranger = up.seed('audio/voices', { name: 'theirs' }).id;
      expect((await call(chat, 'POST', '/chat/completions', { ...spoken, audio: { voice: stranger, format: 'wav' } })).status).toBe(404);
    });

    it("reads an uploaded file's contents as data, not as the request's parameters", async () => {
      const conversation = (await expectPassed(full, 'POST', '/conversations', {})).body.id;
      const uploader = await newKey({ files: 'write' });
      const upload = async (key: string, path: string, parts: Array<[string, string, string?]>) => {
        const form = new FormData();
        for (const [name, value, filename] of parts) {
          if (filename) form.append(name, new Blob([value]), filename);
          else form.append(name, value);
        }
        const before = up.seen.length;
        const res = await fetch(`${t.url}/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
        const text = await res.text();
        return { status: res.status, text, forwarded: up.seen.length > before };
      };
      // A small JSON document that mentions a conversation is a file like any other.
      const settings = JSON.stringify({ note: 'exported settings', conversation, file_ids: [file] });
      const uploaded = await upload(uploader, '/files', [['purpose', 'user_data'], ['file', settings, 'settings.json']]);
      expect(uploaded.status, uploaded.text).toBe(200);
      // A parameter is still one, in a text part or in a part sent as a file (which some parsers read as the field).
      const container = (await expectPassed(full, 'POST', '/containers', { name: 'c' })).body.id;
      const containers = await newKey({ containers: 'write' });
      for (const parts of [[['file_id', file]], [['file_id', file, 'id.txt']]] as Array<Array<[string, string, string?]>>) {
        const copied = await upload(containers, `/containers/${container}/files`, parts);
        expect([copied.status, copied.forwarded, JSON.parse(copied.text).error?.message], copied.text).toEqual([403, false, expect.stringContaining('Missing scope: files (read)')]);
      }
    });

    it("needs the scopes of what a batch's input lines name", async () => {
      const line = (body: unknown) => `${JSON.stringify({ custom_id: '1', method: 'POST', url: '/v1/responses', body })}\n`;
      const upload = async (content: string) => {
        const form = new FormData();
        form.set('purpose', 'batch');
        form.set('file', new Blob([content]), 'input.jsonl');
        const res = await fetch(`${t.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${full}` }, body: form });
        return ((await res.json()) as { id: string }).id;
      };
      const batcher = await newKey({ batches: 'write', responses: 'write', files: 'read' });
      const naming = await upload(line({ model: 'gpt-4o-mini', input: 'x', tools: [{ type: 'file_search', vector_store_ids: [store] }] }));
      // By any method that may carry a body, as an upstream routing without regard to the method makes the batch.
      for (const method of ['POST', 'PUT', 'PATCH']) {
        await expectMissing(batcher, method, '/batches', { input_file_id: naming, endpoint: '/v1/responses', completion_window: '24h' }, 'vector_stores (read)');
      }
      const plain = await upload(line({ model: 'gpt-4o-mini', input: 'x' }));
      await expectPassed(batcher, 'POST', '/batches', { input_file_id: plain, endpoint: '/v1/responses', completion_window: '24h' });
      // One id named under two types needs the scopes of both: a line naming a conversation's id as a response (read on
      // responses) hid the conversation a later line appends to (write on conversations).
      const conversation = (await expectPassed(full, 'POST', '/conversations', {})).body.id;
      const writer = await newKey({ batches: 'write', responses: 'write', files: 'write' });
      const hiding = await upload(line({ model: 'gpt-4o-mini', input: 'x', previous_response_id: conversation }) + line({ model: 'gpt-4o-mini', input: 'x', conversation }));
      await expectMissing(writer, 'POST', '/batches', { input_file_id: hiding, endpoint: '/v1/responses', completion_window: '24h' }, 'conversations (write)');
      const storeTwice = await upload(line({ model: 'gpt-4o-mini', input: 'x', previous_response_id: store }) + line({ model: 'gpt-4o-mini', input: 'x', tools: [{ type: 'file_search', vector_store_ids: [store] }] }));
      await expectMissing(writer, 'POST', '/batches', { input_file_id: storeTwice, endpoint: '/v1/responses', completion_window: '24h' }, 'vector_stores (read)');
    });
  });

  describe('resources a restricted key can be granted', () => {
    // Every path family of the API a key may call (openapi.yaml), each with a request of its own.
    // A family the API serves by POST alone has no read: its GET is counted as the POST (docs/gateway-paths.md).
    const FAMILIES: Array<{ resource: string; read: string | null; write: { path: string; body: unknown } }> = [
      { resource: 'conversations', read: '/conversations/conv_none/items', write: { path: '/conversations', body: {} } },
      { resource: 'videos', read: '/videos', write: { path: '/videos/characters', body: { name: 'c' } } },
      { resource: 'containers', read: '/containers', write: { path: '/containers', body: { name: 'c' } } },
      { resource: 'skills', read: '/skills', write: { path: '/skills', body: { name: 's' } } },
      { resource: 'chatkit', read: '/chatkit/threads', write: { path: '/chatkit/sessions', body: { user: 'u', workflow: { id: 'wf_1' } } } },
      { resource: 'content_provenance_checks', read: null, write: { path: '/content_provenance_checks', body: {} } },
    ];

    it('grants each, at read and write, and refuses a key without it', async () => {
      for (const f of FAMILIES) {
        const writer = await newKey({ [f.resource]: 'write' });
        const reader = await newKey({ [f.resource]: 'read' });
        const none = await newKey({ models: 'read' });
        if (f.read !== null) {
          for (const key of [writer, reader]) {
            const r = await call(key, 'GET', f.read);
            expect(r.body?.error?.code ?? null, `${f.resource} GET ${f.read}: ${r.text}`).not.toBe('insufficient_permissions');
          }
          await expectMissing(none, 'GET', f.read, undefined, `${f.resource} (read)`);
        } else await expectMissing(reader, 'GET', f.write.path, undefined, `${f.resource} (write)`);
        await expectMissing(reader, 'POST', f.write.path, f.write.body, `${f.resource} (write)`);
        await expectMissing(none, 'POST', f.write.path, f.write.body, `${f.resource} (write)`);
        const w = await call(writer, 'POST', f.write.path, f.write.body);
        expect(w.body?.error?.code ?? null, `${f.resource} POST ${f.write.path}: ${w.text}`).not.toBe('insufficient_permissions');
      }
    });

    it('lets a key granted conversations use one through a response', async () => {
      const conversation = (await expectPassed(await newKey({ conversations: 'write' }), 'POST', '/conversations', {})).body.id;
      const both = await newKey({ responses: 'write', conversations: 'write' });
      await expectPassed(both, 'POST', '/responses', { model: 'gpt-4o-mini', input: 'x', conversation });
      await expectPassed(both, 'GET', `/conversations/${conversation}/items`);
      await expectMissing(await newKey({ responses: 'write', conversations: 'read' }), 'POST', '/responses', { model: 'gpt-4o-mini', input: 'x', conversation }, 'conversations (write)');
    });

    it('takes them in service account scopes', async () => {
      const account = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/service_accounts`, { body: { name: 'sa' } });
      expect(account.status, JSON.stringify(account.body)).toBe(200);
      const key = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/service_accounts/${account.body.id}/api_keys`, { body: { name: 'k', scopes: ['api.conversations.write', 'api.videos.read'] } });
      expect(key.status, JSON.stringify(key.body)).toBe(200);
    });
  });
});
