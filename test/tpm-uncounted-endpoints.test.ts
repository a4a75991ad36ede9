import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A TPM limit cannot count the tokens of a request that runs a model it does not name (a batch, a realtime client
// secret) or that is billed outside the answers the gateway meters (assistants runs, fine-tuning, background
// responses, Anthropic's message batches): such a request is refused under one, 403, as per-model limits refuse it.
// Found by an outside review: they were forwarded with a TPM charge of 0 (a batch passed a 10 TPM limit). Requests
// that run no model stay served.

const ORG = '/v1/organization';
let up: Server;
/** What the upstream was asked, `METHOD /path`. */
const seen: string[] = [];

async function startUpstream(): Promise<string> {
  up = createServer(async (req, res) => {
    for await (const _ of req);
    seen.push(`${req.method} ${req.url?.split('?')[0]}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    const path = req.url ?? '';
    if (req.method === 'GET') return res.end(JSON.stringify({ object: 'list', data: [], first_id: null, last_id: null, has_more: false }));
    if (path.startsWith('/v1/files')) return res.end(JSON.stringify({ id: 'file-up1', object: 'file', bytes: 3, filename: 'a.jsonl', purpose: 'batch' }));
    if (path.startsWith('/v1/vector_stores')) return res.end(JSON.stringify({ id: `vs_${seen.length}`, object: 'vector_store' }));
    // Each object made a new id: one id made twice would be another project's.
    const id = seen.length;
    if (path.startsWith('/v1/messages/batches')) return res.end(JSON.stringify({ id: `msgbatch_${id}`, type: 'message_batch', processing_status: 'in_progress' }));
    return res.end(JSON.stringify({ id: `obj_${id}`, object: 'batch', status: 'validating' }));
  });
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(up.address() as AddressInfo).port}/v1`;
}

describe('a TPM limit and requests whose tokens it cannot count', () => {
  let t: TestServer;
  beforeAll(async () => {
    const base = await startUpstream();
    const file = gatewayConfigFile({
      providers: [
        { name: 'oai', base_url: base, api_key_env: 'UP_KEY' },
        { name: 'ant', kind: 'anthropic', base_url: base, api_key_env: 'UP_KEY' },
      ],
      default_provider: 'oai',
      routes: { 'gpt-*': 'oai', 'claude-*': 'ant' },
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
    for (const [id, type] of [
      ['file-in', 'file'],
      ['asst_1', 'assistant'],
    ]) {
      const r = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/upstream_objects`, { body: { id, type } });
      expect(r.status, r.text).toBeLessThan(300);
    }
  });
  afterAll(async () => {
    await t?.close();
    up?.close();
  });
  const newKey = async (body: Record<string, unknown>, project = t.defaultProjectId) =>
    (await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'tpm', ...body } })).body.value as string;
  const send = (key: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${t.url}/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  const uncounted: Record<string, [string, unknown, Record<string, string>?]> = {
    'a batch': ['/batches', { input_file_id: 'file-in', endpoint: '/v1/chat/completions', completion_window: '24h' }],
    "Anthropic's message batch": [
      '/messages/batches',
      { requests: [{ custom_id: 'a', params: { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] } }] },
      { 'anthropic-version': '2023-06-01' },
    ],
    'an assistants run': ['/threads/runs', { assistant_id: 'asst_1', model: 'gpt-4o' }],
    'a realtime client secret': ['/realtime/client_secrets', { session: { type: 'realtime', model: 'gpt-realtime' } }],
    'a fine-tuning job': ['/fine_tuning/jobs', { model: 'gpt-4o-mini', training_file: 'file-in' }],
    'a background response': ['/responses', { model: 'gpt-4o', input: 'hi', background: true, max_output_tokens: 5 }],
  };

  it('refuses each, under a key TPM limit, before forwarding it', async () => {
    const key = await newKey({ rate_limits: { max_tokens_per_1_minute: 10 } });
    for (const [name, [path, body, headers]] of Object.entries(uncounted)) {
      const before = seen.length;
      const r = await send(key, 'POST', path, body, headers);
      expect(r.status, name).toBe(403);
      const error = (await r.json()).error;
      // In the client's API: Anthropic's shape on its paths.
      const code = error.code ?? error.details?.error_code;
      expect(code, name).toBe('insufficient_permissions');
      expect(error.message, name).toContain("This API key's token limit (tokens per min (TPM)) cannot count this request");
      expect(seen.length, name).toBe(before);
    }
  });

  it("refuses them under a project's limit for every model too, and serves them without a TPM limit", async () => {
    const project = (await t.api('POST', `${ORG}/projects`, { body: { name: 'tpm-wide' } })).body.id as string;
    const rl = await t.api('POST', `${ORG}/projects/${project}/rate_limits`, { body: { model: '*', max_tokens_per_1_minute: 1000 } });
    expect(rl.status, rl.text).toBeLessThan(300);
    const own = await t.api('POST', `${ORG}/projects/${project}/upstream_objects`, { body: { id: 'file-in2', type: 'file' } });
    expect(own.status, own.text).toBeLessThan(300);
    const wide = await newKey({}, project);
    const batch = await send(wide, 'POST', '/batches', { input_file_id: 'file-in2', endpoint: '/v1/chat/completions', completion_window: '24h' });
    expect(batch.status).toBe(403);
    expect((await batch.json()).error.message).toContain("This key's project's token limit");
    // Only requests and money: served.
    const rpm = await newKey({ rate_limits: { max_requests_per_1_minute: 100 } });
    for (const [name, [path, body, headers]] of Object.entries(uncounted)) {
      const r = await send(rpm, 'POST', path, body, headers);
      expect(r.status, `${name}: ${await r.clone().text()}`).toBe(200);
    }
  });

  it('keeps serving what runs no model under a TPM limit: lists, uploads, vector stores, the models', async () => {
    const key = await newKey({ rate_limits: { max_tokens_per_1_minute: 10 } });
    for (const path of ['/models', '/files', '/batches', '/vector_stores']) {
      const r = await send(key, 'GET', path);
      expect(r.status, path).toBe(200);
    }
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob(['{}\n']), 'a.jsonl');
    const upload = await fetch(`${t.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    expect(upload.status, await upload.clone().text()).toBe(200);
    const store = await send(key, 'POST', '/vector_stores', { name: 'docs' });
    expect(store.status, await store.clone().text()).toBe(200);
    // A `model` in user data is no model run (found by a review of this check: refused 403 "runs a model").
    const labelled = await send(key, 'POST', '/vector_stores', { name: 'docs', metadata: { model: 'gpt-4o' } });
    expect(labelled.status, await labelled.clone().text()).toBe(200);
    const attributed = await send(key, 'POST', `/vector_stores/${(await store.json()).id}/files`, { file_id: 'file-in', attributes: { model: 'gpt-4o' } });
    expect(attributed.status, await attributed.clone().text()).toBe(200);
    // Creating an assistant stores its model and runs none, with or without the vector store its file search makes
    // (which the provider indexes as it does a vector store's files): both served, as a vector store is.
    const assistant = await send(key, 'POST', '/assistants', { model: 'gpt-4o', tools: [{ type: 'file_search' }] });
    expect(assistant.status, await assistant.clone().text()).toBe(200);
    const withStore = await send(key, 'POST', '/assistants', { model: 'gpt-4o', tools: [{ type: 'file_search' }], tool_resources: { file_search: { vector_stores: [{ file_ids: ['file-in'] }] } } });
    expect(withStore.status, await withStore.clone().text()).toBe(200);
  });
});
