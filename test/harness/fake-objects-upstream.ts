import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SeenRequest } from './fake-upstream.js';

// An upstream account holding objects, for the isolation tests: every stateful collection of the OpenAI API with
// create, retrieve, list (after/before/limit/order, has_more, first_id/last_id), modify and delete, and children
// scoped to their parent (a child of another parent is a 404, as OpenAI answers). It knows nothing of projects: like
// the real account, it serves every object to whoever asks.

type Obj = Record<string, unknown> & { id: string; created_at: number };

interface Kind {
  prefix: string;
  object: string;
  /** The API's default list order. */
  order?: 'asc' | 'desc';
}

const KINDS: Record<string, Kind> = {
  files: { prefix: 'file-', object: 'file' },
  uploads: { prefix: 'upload_', object: 'upload' },
  batches: { prefix: 'batch_', object: 'batch' },
  responses: { prefix: 'resp_', object: 'response' },
  'chat/completions': { prefix: 'chatcmpl-', object: 'chat.completion', order: 'asc' },
  vector_stores: { prefix: 'vs_', object: 'vector_store' },
  assistants: { prefix: 'asst_', object: 'assistant' },
  threads: { prefix: 'thread_', object: 'thread' },
  'threads/runs': { prefix: 'thread_', object: 'thread' },
  'fine_tuning/jobs': { prefix: 'ftjob-', object: 'fine_tuning.job' },
  containers: { prefix: 'cntr_', object: 'container' },
  conversations: { prefix: 'conv_', object: 'conversation' },
  evals: { prefix: 'eval_', object: 'eval', order: 'asc' },
  videos: { prefix: 'video_', object: 'video' },
  'videos/characters': { prefix: 'char_', object: 'video.character' },
  'videos/edits': { prefix: 'video_', object: 'video' },
  'videos/extensions': { prefix: 'video_', object: 'video' },
  skills: { prefix: 'skill_', object: 'skill' },
  'chatkit/sessions': { prefix: 'cksess_', object: 'chatkit.session' },
  'chatkit/threads': { prefix: 'cthr_', object: 'chatkit.thread' },
  'audio/voice_consents': { prefix: 'cons_', object: 'audio.voice_consent' },
  'audio/voices': { prefix: 'voice_', object: 'audio.voice' },
  'realtime/calls': { prefix: 'rtc_', object: 'realtime.call' },
  models: { prefix: 'ft:gpt-4o-mini:org::', object: 'model' },
};

export interface FakeObjectsUpstream {
  url: string;
  seen: SeenRequest[];
  /** Objects by collection, then id. */
  objects: Map<string, Map<string, Obj>>;
  /** An object made directly at the upstream (before or outside Tollgate). */
  seed(collection: string, fields?: Record<string, unknown>): Obj;
  /** Answers given instead of the account's, by `METHOD /v1/path` (a rate limit, a malformed object). */
  overrides: Map<string, { status: number; headers?: Record<string, string>; body: string }>;
  close(): Promise<void>;
}

/** Starts the fake account on a free port; its base URL ends in /v1. */
export async function startFakeObjectsUpstream(): Promise<FakeObjectsUpstream> {
  const seen: SeenRequest[] = [];
  const overrides: FakeObjectsUpstream['overrides'] = new Map();
  const objects = new Map<string, Map<string, Obj>>();
  /** Children by parent id and sub-collection (`thread_1/messages`), then child id. */
  const children = new Map<string, Map<string, Obj>>();
  const contents = new Map<string, Buffer>();
  let clock = 1_700_000_000;
  let counter = 0;
  const collection = (name: string) => {
    const m = objects.get(name) ?? new Map<string, Obj>();
    objects.set(name, m);
    return m;
  };
  const make = (name: string, fields: Record<string, unknown> = {}): Obj => {
    const kind = KINDS[name];
    counter++;
    const obj: Obj = { ...fields, id: `${kind.prefix}${String(counter).padStart(6, '0')}x${Math.random().toString(36).slice(2, 8)}`, object: kind.object, created_at: clock++ };
    collection(name).set(obj.id, obj);
    return obj;
  };
  const child = (parent: string, object: string, fields: Record<string, unknown> = {}, id?: string): Obj => {
    counter++;
    const obj: Obj = { ...fields, id: id ?? `${object.split('.')[0]}_${counter}`, object, created_at: clock++ };
    const m = children.get(parent) ?? new Map<string, Obj>();
    children.set(parent, m);
    m.set(obj.id, obj);
    return obj;
  };

  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: raw.toString('utf8') });
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(value));
    };
    const missing = (what: string, id: string) =>
      json(404, { error: { message: `No ${what} found with id '${id}'.`, type: 'invalid_request_error', param: null, code: null } });
    const url = new URL(req.url ?? '/', 'http://fake');
    const override = overrides.get(`${req.method} ${url.pathname}`);
    if (override) {
      res.writeHead(override.status, { 'content-type': 'application/json', ...override.headers });
      res.end(override.body);
      return;
    }
    const path = url.pathname.replace(/^\/v1\//, '');
    let body: Record<string, unknown> = {};
    const type = String(req.headers['content-type'] ?? '');
    if (type.startsWith('multipart/form-data')) body = multipartFields(raw, type);
    else if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return json(400, { error: { message: 'bad json', type: 'invalid_request_error', param: null, code: null } });
      }
    }
    const segments = path.split('/').map(decodeURIComponent);
    const two = `${segments[0]}/${segments[1]}`;
    const name = KINDS[two] ? two : segments[0];
    // Stateless endpoints (speech, image edits, token counts) answer whatever they are sent.
    const stateless = !KINDS[name] || (name === 'responses' && (segments[1] === 'input_tokens' || segments[1] === 'compact'));
    if (stateless) return req.method === 'POST' ? json(200, { object: 'ok' }) : json(404, { error: { message: `Unknown ${path}`, type: 'invalid_request_error', param: null, code: 'unknown_url' } });
    const rest = segments.slice(name.split('/').length);
    const store = collection(name);
    const method = req.method ?? 'GET';

    if (rest.length === 0 && method === 'POST') return create(name, body, res, json);
    if (rest.length === 0 && method === 'GET') return json(200, list([...store.values()], url.searchParams, KINDS[name].order ?? 'desc'));
    const obj = store.get(rest[0]);
    if (!obj) return missing(KINDS[name].object, rest[0]);
    if (rest.length === 1) {
      if (method === 'GET') return json(200, retrieve(name, obj));
      if (method === 'DELETE') {
        store.delete(obj.id);
        return json(200, { id: obj.id, object: `${KINDS[name].object}.deleted`, deleted: true });
      }
      if (method === 'POST') {
        Object.assign(obj, body, { id: obj.id });
        return json(200, obj);
      }
    }
    const sub = rest[1];
    if (name === 'files' && sub === 'content') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return res.end(contents.get(obj.id) ?? Buffer.from(`contents of ${obj.id}`));
    }
    if (name === 'uploads' && sub === 'complete') {
      const file = make('files', { filename: obj.filename, purpose: obj.purpose, bytes: 3 });
      Object.assign(obj, { status: 'completed', file });
      return json(200, obj);
    }
    if (name === 'videos' && sub === 'remix') return json(200, make('videos', { remixed_from_video_id: obj.id, status: 'queued' }));
    if (rest.length === 2 && method === 'POST' && ['cancel', 'hangup', 'accept', 'reject', 'refer', 'pause', 'resume', 'parts'].includes(sub)) {
      return json(200, { ...obj, status: sub === 'cancel' ? 'cancelled' : obj.status });
    }
    // Children: messages of a thread, files of a vector store, items of a conversation, runs of an eval, …
    const parent = `${obj.id}/${sub}`;
    const kids = children.get(parent) ?? new Map<string, Obj>();
    if (rest.length === 2 && method === 'GET') return json(200, list([...kids.values()], url.searchParams, 'desc'));
    if (rest.length === 2 && method === 'POST') {
      if (name === 'vector_stores' && sub === 'files') return json(200, child(parent, 'vector_store.file', { vector_store_id: obj.id }, String(body.file_id)));
      if (name === 'threads' && sub === 'runs') return json(200, child(parent, 'thread.run', { thread_id: obj.id, assistant_id: body.assistant_id, status: 'queued' }));
      return json(200, child(parent, `${sub}.item`, { parent: obj.id }));
    }
    if (rest.length >= 3) {
      const kid = kids.get(rest[2]);
      if (!kid) return missing(sub, rest[2]);
      if (method === 'DELETE') {
        kids.delete(kid.id);
        return json(200, { id: kid.id, object: `${kid.object}.deleted`, deleted: true });
      }
      if (rest[3] === 'content') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        return res.end(`contents of ${kid.id}`);
      }
      return json(200, kid);
    }
    return json(405, { error: { message: 'unsupported', type: 'invalid_request_error', param: null, code: null } });
  });

  /** Tool resources as the upstream keeps them: a vector store made for each of `file_search.vector_stores`, named by id. */
  function madeToolResources(given: unknown): Record<string, unknown> {
    const resources = { ...((given ?? {}) as Record<string, unknown>) };
    const search = resources.file_search as { vector_store_ids?: string[]; vector_stores?: Array<{ file_ids?: string[] }> } | undefined;
    if (search?.vector_stores) {
      const made = search.vector_stores.map((s) => make('vector_stores', { name: null, file_counts: { total: s.file_ids?.length ?? 0 } }).id);
      resources.file_search = { vector_store_ids: [...(search.vector_store_ids ?? []), ...made] };
    }
    return resources;
  }

  /** What a retrieval shows: a batch or fine-tuning job is done by its first retrieval, its output files made then. */
  function retrieve(name: string, obj: Obj): Obj {
    if (name === 'batches' && !obj.output_file_id) {
      Object.assign(obj, { status: 'completed', output_file_id: make('files', { purpose: 'batch_output' }).id, error_file_id: null });
    }
    if (name === 'fine_tuning/jobs' && !obj.fine_tuned_model) {
      const model = make('models', { owned_by: 'org' });
      Object.assign(obj, { status: 'succeeded', fine_tuned_model: model.id, result_files: [make('files', { purpose: 'fine-tune-results' }).id] });
    }
    return obj;
  }

  function create(name: string, body: Record<string, unknown>, res: ServerResponse, json: (s: number, v: unknown, h?: Record<string, string>) => void) {
    const { stream, ...fields } = body;
    if (name === 'chat/completions') {
      const base = { model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }] };
      const obj = body.store === true ? make(name, base) : { id: `chatcmpl-${++counter}`, object: 'chat.completion', created_at: clock++, ...base };
      const usage = { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 };
      if (!stream) return json(200, { ...obj, created: obj.created_at, usage });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ id: obj.id, object: 'chat.completion.chunk', created: obj.created_at, choices: [{ index: 0, delta: { content: 'Hi' } }] })}\n\n`);
      res.write(`data: ${JSON.stringify({ id: obj.id, object: 'chat.completion.chunk', choices: [], usage })}\n\n`);
      res.end('data: [DONE]\n\n');
      return;
    }
    if (name === 'responses') {
      const fieldsOut = { model: body.model, status: 'completed', previous_response_id: body.previous_response_id ?? null, usage: { input_tokens: 3, output_tokens: 1, total_tokens: 4 } };
      const obj = body.store === false ? { id: `resp_${++counter}`, object: 'response', created_at: clock++, ...fieldsOut } : make(name, fieldsOut);
      obj.output = [{ id: `msg_${++counter}`, type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hi', annotations: [] }] }];
      if (!stream) return json(200, obj);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: response.created\ndata: ${JSON.stringify({ type: 'response.created', response: { ...obj, status: 'in_progress', output: [] } })}\n\n`);
      res.write(`event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', delta: 'Hi' })}\n\n`);
      res.end(`event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', response: obj })}\n\n`);
      return;
    }
    if (name === 'threads/runs') {
      const given = (body.thread ?? {}) as Record<string, unknown>;
      const thread = make('threads', { metadata: given.metadata ?? {}, tool_resources: madeToolResources(given.tool_resources) });
      const run = child(`${thread.id}/runs`, 'thread.run', { thread_id: thread.id, assistant_id: body.assistant_id, status: 'queued' });
      if (!stream) return json(200, run);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: thread.created\ndata: ${JSON.stringify(thread)}\n\n`);
      res.write(`event: thread.run.created\ndata: ${JSON.stringify(run)}\n\n`);
      res.end('event: done\ndata: [DONE]\n\n');
      return;
    }
    if (name === 'realtime/calls') {
      const call = make(name, {});
      res.writeHead(201, { 'content-type': 'application/sdp', location: `/v1/realtime/calls/${call.id}` });
      res.end('v=0\r\n');
      return;
    }
    if (name === 'models' || name === 'chatkit/threads') return json(405, { error: { message: 'not here', type: 'invalid_request_error', param: null, code: null } });
    // An assistant or a thread made with `tool_resources.file_search.vector_stores` gets stores made for it.
    if ((name === 'assistants' || name === 'threads') && fields.tool_resources) fields.tool_resources = madeToolResources(fields.tool_resources);
    const obj = make(name === 'videos/edits' || name === 'videos/extensions' ? 'videos' : name, fields);
    if (name === 'files') contents.set(obj.id, Buffer.isBuffer(body._content) ? body._content : Buffer.from(`uploaded ${obj.id}`));
    delete obj._content;
    if (name === 'conversations') for (const item of (body.items as unknown[] | undefined) ?? []) child(`${obj.id}/items`, 'message', item as Record<string, unknown>, `msg_${++counter}`);
    json(200, obj);
  }

  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    seen,
    objects,
    overrides,
    seed: (name, fields = {}) => make(name, fields),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An OpenAI list page: `limit` (default 20), `after`/`before` cursors, `order`. */
function list(all: Obj[], q: URLSearchParams, defaultOrder: 'asc' | 'desc') {
  const order = q.get('order') === 'asc' || q.get('order') === 'desc' ? q.get('order') : defaultOrder;
  const sorted = [...all].sort((a, b) => (order === 'asc' ? a.created_at - b.created_at : b.created_at - a.created_at));
  const limit = Number(q.get('limit') ?? 20);
  let from = 0;
  let to = sorted.length;
  const after = q.get('after');
  const before = q.get('before');
  if (after) from = sorted.findIndex((o) => o.id === after) + 1;
  if (before) to = Math.max(0, sorted.findIndex((o) => o.id === before));
  const data = before ? sorted.slice(Math.max(from, to - limit), to) : sorted.slice(from, from + limit);
  const hasMore = before ? to - limit > from : from + limit < to;
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: hasMore };
}

/** The fields of a multipart body; a file part becomes its filename, its bytes under `_content`. */
function multipartFields(raw: Buffer, type: string): Record<string, unknown> {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(type);
  const out: Record<string, unknown> = {};
  if (!boundary) return out;
  for (const part of raw.toString('latin1').split(`--${boundary[1] ?? boundary[2]}`)) {
    const m = /name="([^"]+)"(?:; filename="([^"]*)")?[\s\S]*?\r\n\r\n([\s\S]*)\r\n$/.exec(part);
    if (!m) continue;
    out[m[1]] = m[2] !== undefined ? m[2] : m[3];
    if (m[2] !== undefined) out._content = Buffer.from(m[3], 'latin1');
  }
  if (typeof out.file === 'string') out.filename = out.file;
  return out;
}
