import { describe, expect, it } from 'vitest';
import { answerObjects, eventObjects } from './object-answers.js';
import { typeOfId } from './object-families.js';
import { type PlanInput, planObjects } from './object-plan.js';
import { requestRefs } from './object-refs.js';

const plan = (method: string, endpoint: string, o: Partial<PlanInput> = {}) =>
  planObjects({ method, endpoint, search: '', body: null, model: null, ...o });
const ids = (p: ReturnType<typeof plan>) => p?.named.map((r) => `${r.type}:${r.id}`) ?? [];

describe('planObjects', () => {
  describe('model calls', () => {
    it('leaves a chat completion that stores nothing and names no object alone', () => {
      const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'file-abc please' }, { role: 'assistant', content: null }] };
      expect(plan('POST', '/chat/completions', { body, model: 'gpt-4o' })).toBeNull();
      expect(plan('POST', '/embeddings', { body: { model: 'x', input: 'file-abc' } })).toBeNull();
    });

    it('records a stored chat completion and checks the files and fine-tuned model it names', () => {
      const body = { store: true, messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-A' } }] }] };
      const p = plan('POST', '/chat/completions', { body, model: 'ft:gpt-4o:org::x' });
      expect(p?.creates).toEqual({ type: 'chat_completion', from: 'id' });
      expect(ids(p)).toEqual(['file:file-A', 'model:ft:gpt-4o:org::x']);
      expect(ids(plan('POST', '/embeddings', { model: 'ft:emb:x' }))).toEqual(['model:ft:emb:x']);
    });

    it('records a response unless store is false, and checks what its body names at any depth', () => {
      const body = {
        previous_response_id: 'resp_1',
        conversation: { id: 'conv_1' },
        tools: [{ type: 'file_search', vector_store_ids: ['vs_1', 'vs_2'] }, { type: 'code_interpreter', container: 'cntr_1' }],
        input: [
          { role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }, { type: 'input_image', file_id: 'file-2' }] },
          { type: 'item_reference', id: 'msg_1' },
          // A container's file belongs to its container; metadata is free text.
          { type: 'message', content: [{ type: 'output_text', annotations: [{ type: 'container_file_citation', container_id: 'cntr_1', file_id: 'cfile_1' }] }] },
        ],
        metadata: { file_id: 'file-not-a-reference' },
      };
      const p = plan('POST', '/responses', { body });
      expect(p?.creates).toEqual({ type: 'response', from: 'id' });
      expect(ids(p).sort()).toEqual(
        ['response:resp_1', 'conversation:conv_1', 'vector_store:vs_1', 'vector_store:vs_2', 'container:cntr_1', 'container:cntr_1', 'file:file-1', 'file:file-2', 'item:msg_1'].sort(),
      );
      expect(plan('POST', '/responses', { body: { store: false, input: 'hi' } })).toBeNull();
    });

    it('checks every file_id but a container file cited beside its container: no sibling member or type tag alone exempts one', () => {
      // A file_id beside a container_id turned the file check off (found by an outside review): A read B's file through
      // its own container.
      expect(ids(plan('POST', '/containers/cntr_A/files', { body: { file_id: 'file-B', container_id: 'cntr_A' } })).sort()).toEqual(['container:cntr_A', 'container:cntr_A', 'file:file-B']);
      expect(ids(plan('POST', '/responses', { body: { input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-B', container_id: 'cntr_A' }] }] } })).sort()).toEqual(
        ['container:cntr_A', 'file:file-B'].sort(),
      );
      const cite = (annotation: Record<string, unknown>) =>
        ids(plan('POST', '/responses', { body: { input: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'x', annotations: [annotation] }] }] } })).sort();
      // A cited container file: its container is checked in its stead.
      expect(cite({ type: 'container_file_citation', container_id: 'cntr_A', file_id: 'cfile_1' })).toEqual(['container:cntr_A']);
      // Not a container file's id, not a citation, or no container: a file like any other.
      expect(cite({ type: 'container_file_citation', container_id: 'cntr_A', file_id: 'file-B' })).toEqual(['container:cntr_A', 'file:file-B']);
      expect(cite({ type: 'file_citation', container_id: 'cntr_A', file_id: 'cfile_1' })).toEqual(['container:cntr_A', 'file:cfile_1']);
      expect(cite({ type: 'container_file_citation', file_id: 'cfile_1' })).toEqual(['file:cfile_1']);
      expect(cite({ type: 'container_file_citation', container_id: '', file_id: 'cfile_1' })).toEqual(['file:cfile_1']);
      // Multipart fields are held to the same rule.
      expect(ids(plan('POST', '/containers/cntr_A/files', { body: Object.assign(Object.create(null), { file_id: 'file-B', container_id: 'cntr_A' }) }))).toContain('file:file-B');
    });
  });

  describe('paths', () => {
    it('names the object of /{collection}/{id}/…, decoded as the upstream reads it', () => {
      expect(ids(plan('GET', '/files/file-A/content'))).toEqual(['file:file-A']);
      expect(ids(plan('GET', '/files/file%2DA'))).toEqual(['file:file-A']);
      expect(ids(plan('GET', '/files/file%zz'))).toEqual(['file:file%zz']);
      expect(ids(plan('GET', '/threads/thread_1/runs/run_1/steps'))).toEqual(['thread:thread_1']);
      expect(ids(plan('DELETE', '/vector_stores/vs_1/files/file-A'))).toEqual(['vector_store:vs_1', 'file:file-A']);
      expect(ids(plan('POST', '/fine_tuning/jobs/ftjob-1/cancel'))).toEqual(['fine_tuning_job:ftjob-1']);
      expect(ids(plan('POST', '/realtime/calls/rtc_1/hangup'))).toEqual(['realtime_call:rtc_1']);
      expect(ids(plan('DELETE', '/models/ft%3Agpt-4o%3Aorg%3A%3Ax'))).toEqual(['model:ft:gpt-4o:org::x']);
      expect(plan('DELETE', '/files/file-A')?.deletes).toEqual({ type: 'file', id: 'file-A', param: null });
      expect(plan('DELETE', '/threads/thread_1/messages/msg_1')?.deletes).toBeNull();
    });

    it("marks the parts of the path's own resource: a vector store's record of a file, a Messages request's container", () => {
      const parts = (p: ReturnType<typeof plan>) => p?.named.filter((r) => r.part).map((r) => `${r.type}:${r.id}`) ?? [];
      for (const method of ['GET', 'POST', 'DELETE']) expect(parts(plan(method, '/vector_stores/vs_1/files/file-A'))).toEqual(['file:file-A']);
      expect(parts(plan('GET', '/vector_stores/vs_1/files/file-A/content'))).toEqual([]);
      expect(parts(plan('POST', '/vector_stores/vs_1/files', { body: { file_id: 'file-A' } }))).toEqual([]);
      const container = { model: 'claude-sonnet-4-5', container: 'container_011A', messages: [] };
      expect(parts(plan('POST', '/messages', { body: container, format: 'anthropic' }))).toEqual(['container:container_011A']);
      expect(parts(plan('POST', '/messages/batches', { body: { requests: [{ params: container }] }, format: 'anthropic' }))).toEqual(['container:container_011A']);
      expect(parts(plan('POST', '/responses', { body: { model: 'gpt-4o', tools: [{ type: 'code_interpreter', container: 'cntr_1' }] } }))).toEqual([]);
    });

    it('reads every spelling of a path as an upstream that resolves it would', () => {
      for (const spelling of ['/files/file-A/../file-B', '/chat/completions/../../files/file-B', '/files/file-A/%2e%2e/file-B', '//files//file-B/', '/files\\file-B', '/files/file-A%2F..%2Ffile-B', '/embeddings/../files/./file-B']) {
        expect(ids(plan('GET', spelling)), spelling).toContain('file:file-B');
      }
      expect(plan('POST', '/chat/completions/', { body: { store: true } })?.creates).toEqual({ type: 'chat_completion', from: 'id' });
      expect(plan('POST', '/chat//completions', { body: { store: false } })).toBeNull();
      expect(plan('POST', '/./responses', { body: {} })?.creates).toEqual({ type: 'response', from: 'id' });
    });

    it('knows the collection actions that are not ids', () => {
      expect(plan('POST', '/threads/runs', { body: { assistant_id: 'asst_1' } })).toMatchObject({
        creates: { type: 'thread', from: 'thread_id' },
        named: [{ type: 'assistant', id: 'asst_1', param: 'assistant_id' }],
      });
      expect(plan('POST', '/uploads/upload_1/complete', { body: { part_ids: ['part_1'] } })).toMatchObject({
        creates: { type: 'file', from: 'file.id' },
        named: [{ type: 'upload', id: 'upload_1' }],
      });
      expect(plan('POST', '/videos/edits', { body: { video: { id: 'video_1' } } })).toMatchObject({ creates: { type: 'video' }, named: [{ type: 'video', id: 'video_1' }] });
      expect(plan('POST', '/videos/video_1/remix')?.creates).toEqual({ type: 'video', from: 'id' });
      expect(plan('POST', '/responses/input_tokens', { body: { input: 'x' } })).toBeNull();
    });

    it('plans a filtered list, checking its cursors', () => {
      const cursors = { after: 'after', before: 'before' };
      expect(plan('GET', '/files')?.list).toEqual({ type: 'file', order: 'desc', direction: 'after', filtered: false, cursors });
      expect(plan('GET', '/chat/completions', { search: '?model=gpt-4o' })?.list).toEqual({ type: 'chat_completion', order: 'asc', direction: 'after', filtered: true, cursors });
      const p = plan('GET', '/vector_stores', { search: '?order=asc&before=vs_9&limit=5' });
      expect(p?.list).toEqual({ type: 'vector_store', order: 'asc', direction: 'before', filtered: false, cursors });
      expect(ids(p)).toEqual(['vector_store:vs_9']);
      expect(ids(plan('GET', '/batches', { search: '?after=batch_1&after=batch_2' }))).toEqual(['batch:batch_1', 'batch:batch_2']);
    });

    it("plans Anthropic's message batches: their paths, and a list paged by after_id/before_id", () => {
      const p = plan('GET', '/messages/batches', { search: '?before_id=msgbatch_9&limit=5' });
      expect(p?.list).toEqual({ type: 'message_batch', order: 'desc', direction: 'before', filtered: false, cursors: { after: 'after_id', before: 'before_id' } });
      expect(ids(p)).toEqual(['message_batch:msgbatch_9']);
      expect(ids(plan('GET', '/messages/batches/msgbatch_1/results'))).toEqual(['message_batch:msgbatch_1']);
      expect(plan('POST', '/messages/batches', { body: { requests: [] } })?.creates).toEqual({ type: 'message_batch', from: 'id' });
      expect(plan('DELETE', '/messages/batches/msgbatch_1')?.deletes).toEqual({ type: 'message_batch', id: 'msgbatch_1', param: null });
      expect(plan('POST', '/messages', { body: { model: 'claude-sonnet-4-5', messages: [] } })).toBeNull();
      expect(plan('GET', '/messages/batches', { format: 'anthropic' })?.refusal).toBeNull();
    });

    it("refuses Anthropic's list of a collection both APIs have (paged by a token no filter can follow); its objects are checked by id", () => {
      for (const endpoint of ['/files', '/skills']) {
        expect(plan('GET', endpoint, { format: 'anthropic', search: '?limit=5' })?.refusal).toContain('cannot be filtered');
        expect(plan('GET', endpoint)?.refusal).toBeNull();
      }
      expect(ids(plan('GET', '/files/file_011A/content', { format: 'anthropic' }))).toEqual(['file:file_011A']);
      expect(plan('POST', '/files', { format: 'anthropic' })?.creates).toEqual({ type: 'file', from: 'id' });
      expect(plan('DELETE', '/files/file_011A', { format: 'anthropic' })?.deletes).toEqual({ type: 'file', id: 'file_011A', param: null });
    });
  });

  describe('bodies', () => {
    it('finds every body field of the API that names an object', () => {
      expect(ids(plan('POST', '/batches', { body: { input_file_id: 'file-1' } }))).toEqual(['file:file-1']);
      expect(ids(plan('POST', '/fine_tuning/jobs', { body: { training_file: 'file-1', validation_file: 'file-2', model: 'ft:base:x' } }))).toEqual([
        'file:file-1',
        'file:file-2',
        'model:ft:base:x',
      ]);
      expect(ids(plan('POST', '/assistants', { body: { tool_resources: { code_interpreter: { file_ids: ['file-1'] }, file_search: { vector_store_ids: ['vs_1'], vector_stores: [{ file_ids: ['file-2'] }] } } } })).sort()).toEqual(
        ['file:file-1', 'file:file-2', 'vector_store:vs_1'].sort(),
      );
      expect(ids(plan('POST', '/threads/thread_1/messages', { body: { attachments: [{ file_id: 'file-1' }], content: [{ type: 'image_file', image_file: { file_id: 'file-2' } }] } })).sort()).toEqual(
        ['thread:thread_1', 'file:file-1', 'file:file-2'].sort(),
      );
      expect(ids(plan('POST', '/evals/eval_1/runs', { body: { data_source: { type: 'jsonl', source: { type: 'file_id', id: 'file-1' } } } }))).toEqual(['eval:eval_1', 'file:file-1']);
      expect(ids(plan('POST', '/images/edits', { body: { images: [{ file_id: 'file-1' }], mask: { file_id: 'file-2' } } })).sort()).toEqual(['file:file-1', 'file:file-2']);
      expect(ids(plan('POST', '/audio/speech', { body: { voice: { id: 'voice_1' } } }))).toEqual(['voice:voice_1']);
      expect(plan('POST', '/audio/speech', { body: { voice: 'alloy' } })).toBeNull();
      expect(ids(plan('POST', '/audio/voices', { body: { name: 'x', consent: 'cons_1' } }))).toEqual(['voice_consent:cons_1']);
      expect(ids(plan('POST', '/containers', { body: { file_ids: ['file-1'], skills: [{ skill_id: 'skill_1' }] } })).sort()).toEqual(['file:file-1', 'skill:skill_1']);
      expect(ids(plan('POST', '/realtime/client_secrets', { body: { session: { prompt: { id: 'pmpt_1', variables: { doc: { type: 'input_file', file_id: 'file-1' } } } } } }))).toEqual(['file:file-1']);
    });

    it('finds objects named in the query string too, where an upstream may read parameters', () => {
      expect(ids(plan('POST', '/batches', { query: { input_file_id: 'file-q' }, body: { endpoint: '/v1/x' } }))).toEqual(['file:file-q']);
      expect(ids(plan('POST', '/chat/completions', { query: { previous_response_id: 'resp_q' }, body: { messages: [] } }))).toEqual(['response:resp_q']);
    });

    it('refuses eval data sources that query stored objects of every project', () => {
      expect(plan('POST', '/evals', { body: { data_source_config: { type: 'stored_completions', metadata: {} } } })?.refusal).toMatch(/every project/);
      expect(plan('POST', '/evals/eval_1/runs', { body: { data_source: { type: 'responses', source: { type: 'responses', model: 'x' } } } })?.refusal).toMatch(/every project/);
      expect(plan('POST', '/evals', { body: { data_source_config: { type: 'custom', item_schema: {} } } })?.refusal).toBeNull();
    });

    it('walks a deeply nested body without exhausting the stack', () => {
      let body: unknown = { file_id: 'file-deep' };
      for (let i = 0; i < 100_000; i++) body = [body];
      expect(requestRefs(body)).toEqual([{ type: 'file', id: 'file-deep', param: 'file_id' }]);
    });
  });
});

describe('answers', () => {
  it('reads created objects, a response’s items, and what the upstream made for the caller', () => {
    const response = { id: 'resp_1', created_at: 100, output: [{ id: 'msg_1', type: 'message' }, { id: 'ci_1', type: 'code_interpreter_call', container_id: 'cntr_auto' }] };
    const p = plan('POST', '/responses', { body: { input: 'x' } });
    if (!p) throw new Error('no plan');
    expect(answerObjects(p, response)).toEqual({
      created: [
        { type: 'response', id: 'resp_1', createdAt: 100 },
        { type: 'item', id: 'msg_1', createdAt: null },
        { type: 'item', id: 'ci_1', createdAt: null },
      ],
      produced: [{ type: 'container', id: 'cntr_auto', createdAt: null }],
    });
    const batch = plan('GET', '/batches/batch_1');
    if (!batch) throw new Error('no plan');
    expect(answerObjects(batch, { id: 'batch_1', object: 'batch', input_file_id: 'file-in', output_file_id: 'file-out', error_file_id: null, metadata: { file_id: 'file-x' } }).produced).toEqual([
      { type: 'file', id: 'file-out', createdAt: null },
    ]);
    const upload = plan('POST', '/uploads/upload_1/complete', { body: {} });
    if (!upload) throw new Error('no plan');
    expect(answerObjects(upload, { id: 'upload_1', file: { id: 'file-up', created_at: 5 } }).created).toEqual([{ type: 'file', id: 'file-up', createdAt: 5 }]);
  });

  it("reads a batch's one input file, and refuses one named twice (a repeated field, the query beside the body)", () => {
    expect(plan('POST', '/batches', { body: { input_file_id: 'file-a', endpoint: '/v1/chat/completions' } })?.batchInput).toBe('file-a');
    expect(plan('POST', '/batches', { body: { Input_File_Id: 'file-a' } })?.batchInput).toBe('file-a');
    for (const o of [
      { body: { input_file_id: ['file-a', 'file-b'] } },
      { body: { input_file_id: 'file-a' }, query: { input_file_id: 'file-b' } },
      { body: { input_file_id: 'file-a', INPUT_FILE_ID: 'file-b' } },
      { body: { input_file_id: { id: 'file-a' } } },
    ]) {
      const p = plan('POST', '/batches', o);
      expect(p?.invalid, JSON.stringify(o)).toMatchObject({ param: 'input_file_id' });
      expect(p?.batchInput).toBeNull();
    }
    // The same file twice is one.
    expect(plan('POST', '/batches', { body: { input_file_id: 'file-a' }, query: { input_file_id: 'file-a' } })?.batchInput).toBe('file-a');
  });

  it('reads the objects of streamed events', () => {
    const p = plan('POST', '/threads/runs', { body: {} });
    if (!p) throw new Error('no plan');
    expect(eventObjects(p, 'thread.created', { id: 'thread_1', created_at: 3 }).created).toEqual([{ type: 'thread', id: 'thread_1', createdAt: 3 }]);
    const r = plan('POST', '/responses', { body: {} });
    if (!r) throw new Error('no plan');
    expect(eventObjects(r, 'response.created', { type: 'response.created', response: { id: 'resp_9' } }).created).toEqual([{ type: 'response', id: 'resp_9', createdAt: null }]);
    expect(eventObjects(r, null, { type: 'response.output_text.delta', delta: 'resp_x' })).toEqual({ created: [], produced: [] });
  });

  it("reads the container of a Messages answer only for a request that may make one, and not again once named", () => {
    const messages = (body: Record<string, unknown>) => plan('POST', '/messages', { body: { model: 'claude-sonnet-4-5', messages: [], ...body } });
    // Requests that run no code are not read: client tools, older web search and fetch, no container.
    for (const tools of [[{ name: 'get_weather', input_schema: {} }], [{ type: 'web_search_20250305', name: 'web_search' }], [{ type: 'bash_20250124', name: 'bash' }]]) {
      expect(messages({ tools })).toBeNull();
    }
    expect(messages({ container: null })).toBeNull();
    expect(plan('POST', '/messages/count_tokens', { body: { tools: [{ type: 'code_execution_20250825', name: 'code_execution' }] } })).toBeNull();
    for (const body of [
      { tools: [{ type: 'code_execution_20250825', name: 'code_execution' }] },
      { tools: [{ type: 'web_fetch_20260209', name: 'web_fetch' }] },
      { tools: [{ Type: 'code_execution_20250825', name: 'code_execution' }] },
      { container: { skills: [] } },
    ]) {
      expect(messages(body)?.adoptsContainer, JSON.stringify(body)).toBe(true);
    }
    // Anthropic's own skills are shared names, not objects; a custom skill is checked.
    const skills = messages({ container: { skills: [{ type: 'anthropic', skill_id: 'pptx', version: 'latest' }, { type: 'custom', skill_id: 'skill_01Ab', version: 'latest' }] } });
    expect(ids(skills)).toEqual(['skill:skill_01Ab']);
    expect(ids(messages({ container: { skills: [{ type: 'anthropic', skill_id: 'skill_01Ab' }] } }))).toEqual(['skill:skill_01Ab']);
    // Only a name of Anthropic's shape is shared: any other id sent as `anthropic` is checked.
    for (const id of ['Skill_01Ab', 'abc_123', 'x'.repeat(65), 'pptx/../skill_01Ab']) {
      expect(ids(messages({ container: { skills: [{ type: 'anthropic', skill_id: id }] } })), id).toEqual([`skill:${id}`]);
    }
    const made = messages({ tools: [{ type: 'code_execution_20250825', name: 'code_execution' }] });
    if (!made) throw new Error('no plan');
    const answer = { id: 'msg_1', container: { id: 'container_1', expires_at: '2099-01-01T00:00:00Z' }, content: [{ type: 'tool_use', input: { container_id: 'container_x', file_id: 'file_x' } }] };
    expect(answerObjects(made, answer)).toEqual({ created: [], produced: [{ type: 'container', id: 'container_1', createdAt: null }] });
    expect(eventObjects(made, 'message_start', { type: 'message_start', message: { container: null } }).produced).toEqual([]);
    expect(eventObjects(made, 'message_delta', { type: 'message_delta', delta: { container: { id: 'container_2' } } }).produced).toEqual([{ type: 'container', id: 'container_2', createdAt: null }]);
    const reused = messages({ container: 'container_1' });
    expect(ids(reused)).toEqual(['container:container_1']);
    if (!reused) throw new Error('no plan');
    expect(answerObjects(reused, answer).produced).toEqual([]);
  });

  it('tells an object’s type from its id', () => {
    expect(typeOfId('file-abc')).toBe('file');
    expect(typeOfId('ft:gpt-4o:org::x')).toBe('model');
    expect(typeOfId('msg_1')).toBeNull();
  });
});
