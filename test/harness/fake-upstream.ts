import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the fake upstream received. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface FakeUpstream {
  url: string;
  port: number;
  seen: SeenRequest[];
  /** Background responses by id: how many times each was retrieved (the third retrieval and later see it finished). */
  background: Map<string, number>;
  /** Requests whose client went away before the answer ended. */
  aborted: string[];
  close(): Promise<void>;
}

const usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18, prompt_tokens_details: { cached_tokens: 3 } };

/** A finished background response's usage: 1,000 input and 100,000 output tokens. */
export const BACKGROUND_USAGE = { input_tokens: 1000, input_tokens_details: { cached_tokens: 0 }, output_tokens: 100_000, total_tokens: 101_000 };
/** Seconds of audio the fake's transcriptions report, and the tokens of its GPT Image answers per image. */
export const TRANSCRIBED_SECONDS = 42;
export const IMAGE_USAGE = { input_tokens: 50, input_tokens_details: { text_tokens: 40, image_tokens: 10 }, output_tokens: 4160 };

/** The text fields of a multipart body (enough for the fake: names and short values). */
function formFields(body: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of body.matchAll(/name="([^"]+)"\r\n\r\n([^\r]*)\r\n/g)) out[m[1]] = m[2];
  return out;
}

/**
 * An OpenAI-compatible upstream for tests: chat completions, embeddings, responses (background ones finish on their
 * second retrieval), images (DALL·E per image, GPT Image with usage), speech, transcriptions (seconds or tokens, or
 * plain text), and object creations (batches, fine-tuning jobs, runs, vector stores). The requested model picks the behaviour:
 * normal, `slow` (headers after 3 s), `hang` (never answers), `error500` (OpenAI-shaped 500), `html500`,
 * `badjson`, `cutoff` (stream ends without [DONE]; a Responses stream breaks after its first text), `reset` (socket destroyed), `nousage`, `drip` or `gpt-4o-drip` (streams slowly; the latter a name known
 * to show all it generates, whose stream is cut when its client hangs up).
 */
export async function startFakeUpstream(): Promise<FakeUpstream> {
  const seen: SeenRequest[] = [];
  const aborted: string[] = [];
  const background = new Map<string, number>();
  let responseSeq = 0;
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    res.on('close', () => {
      if (!res.writableFinished) aborted.push(req.url ?? '');
    });
    const json = (status: number, obj: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-ratelimit-limit-requests': '10000', 'openai-organization': 'org-provider-secret-org', 'x-request-id': 'req_fake' });
      res.end(JSON.stringify(obj));
    };
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/v1/models') {
      return json(200, { object: 'list', data: ['gpt-4o', 'gpt-4o-mini', 'text-embedding-3-small'].map((id) => ({ id, object: 'model', created: 1, owned_by: 'openai' })) });
    }
    if (req.method === 'GET' && path.startsWith('/v1/files')) return json(200, { object: 'list', data: [] });
    if (req.method === 'GET' && path.startsWith('/v1/responses/')) {
      const id = path.slice('/v1/responses/'.length);
      const seenBefore = background.get(id);
      if (seenBefore === undefined) return json(404, { error: { message: `No response ${id}`, type: 'invalid_request_error', param: null, code: null } });
      background.set(id, seenBefore + 1);
      const done = seenBefore + 1 >= 2;
      const base = { id, object: 'response', created_at: 1, model: 'gpt-4o', background: true };
      if ((req.url ?? '').includes('stream=true')) {
        // Resuming the stream of a background response: its events, ending with response.completed.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', delta: 'Hi', sequence_number: 1 })}\n\n`);
        const completed = { type: 'response.completed', sequence_number: 2, response: { ...base, status: 'completed', output: [], usage: BACKGROUND_USAGE } };
        res.write(`event: response.completed\ndata: ${JSON.stringify(completed)}\n\n`);
        return res.end();
      }
      return json(200, done ? { ...base, status: 'completed', output: [], usage: BACKGROUND_USAGE } : { ...base, status: 'in_progress', output: [], usage: null });
    }
    // A background response's cancellation: the Response, cancelled, with the usage of what it ran.
    if (req.method === 'POST' && /^\/v1\/responses\/[^/]+\/cancel$/.test(path)) {
      const id = path.split('/')[3];
      if (!background.has(id)) return json(404, { error: { message: `No response ${id}`, type: 'invalid_request_error', param: null, code: null } });
      return json(200, { id, object: 'response', created_at: 1, model: 'gpt-4o', background: true, status: 'cancelled', output: [], usage: BACKGROUND_USAGE });
    }
    if (req.method === 'POST' && (path === '/v1/batches' || path === '/v1/fine_tuning/jobs' || path === '/v1/threads/runs' || path === '/v1/vector_stores')) {
      return json(200, { id: `obj_${++responseSeq}`, object: path.split('/')[2], status: 'validating' });
    }
    const contentType = String(req.headers['content-type'] ?? '');
    if (contentType.startsWith('multipart/form-data')) {
      const fields = formFields(body);
      if (path === '/v1/images/edits' || path === '/v1/images/variations') {
        const n = Number(fields.n ?? 1);
        return json(200, { created: 1, data: Array.from({ length: n }, () => ({ url: 'https://images.example/x.png' })) });
      }
      if (path === '/v1/audio/transcriptions' || path === '/v1/audio/translations') {
        if (fields.response_format === 'text') {
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
          return res.end('hello');
        }
        if (fields.model?.startsWith('gpt-')) {
          return json(200, { text: 'hello', usage: { type: 'tokens', input_tokens: 300, input_token_details: { text_tokens: 0, audio_tokens: 300 }, output_tokens: 20, total_tokens: 320 } });
        }
        return json(200, { text: 'hello', usage: { type: 'duration', seconds: TRANSCRIBED_SECONDS } });
      }
      return json(400, { error: { message: 'unexpected multipart body', type: 'invalid_request_error', param: null, code: null } });
    }
    // Other audio bodies (speech aside): answered without reading them (tests look at `seen`).
    if (path.startsWith('/v1/audio/') && path !== '/v1/audio/speech') return json(200, { text: 'hello' });
    let parsed: Record<string, unknown> = {};
    try {
      parsed = body ? JSON.parse(body) : {};
    } catch {
      return json(400, { error: { message: 'bad json', type: 'invalid_request_error', param: null, code: null } });
    }
    const model = String(parsed.model ?? '');
    const dripping = model === 'drip' || model === 'gpt-4o-drip';
    if (model === 'hang') return; // never answer
    if (model === 'slow') await new Promise((r) => setTimeout(r, 3000));
    if (model === 'reset') return req.socket.destroy();
    if (model === 'error500') return json(500, { error: { message: 'The server had an error', type: 'server_error', param: null, code: null } });
    if (model === 'html500') {
      res.writeHead(500, { 'content-type': 'text/html' });
      return res.end('<html><body>Bad gateway</body></html>');
    }
    if (model === 'badjson') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"id": "x", "choices": [');
    }
    if (path === '/v1/images/generations') {
      const n = typeof parsed.n === 'number' ? parsed.n : 1;
      const gptImage = model.startsWith('gpt-image');
      // user 'huge': 3 MiB of base64 per image, so that a few make an answer too large to hold in memory.
      const b64 = parsed.user === 'huge' ? 'A'.repeat(3 * 1024 * 1024) : 'iVBORw0KGgo=';
      const data = Array.from({ length: n }, () => (gptImage || parsed.user === 'huge' ? { b64_json: b64 } : { url: 'https://images.example/x.png' }));
      return json(200, { created: 1, data, ...(gptImage ? { usage: { ...IMAGE_USAGE, output_tokens: IMAGE_USAGE.output_tokens * n, total_tokens: 50 + IMAGE_USAGE.output_tokens * n } } : {}) });
    }
    if (path === '/v1/audio/speech') {
      res.writeHead(200, { 'content-type': 'audio/mpeg' });
      return res.end(Buffer.alloc(2048, 0xff));
    }
    if (path === '/v1/responses') {
      const id = `resp_${++responseSeq}`;
      if (model === 'cutoff' && parsed.stream === true) {
        // A Responses stream that breaks after its first text.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const response = { id, object: 'response', created_at: 1, model, status: 'in_progress', output: [], usage: null };
        const event = (type: string, o: object) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...o })}\n\n`);
        event('response.created', { sequence_number: 0, response });
        event('response.in_progress', { sequence_number: 1, response });
        event('response.output_text.delta', { sequence_number: 2, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Hi', logprobs: [] });
        await new Promise((r) => setTimeout(r, 100));
        return req.socket.destroy();
      }
      if (parsed.background === true) {
        background.set(id, 0);
        return json(200, { id, object: 'response', created_at: 1, model, background: true, status: 'queued', output: [], usage: null });
      }
      return json(200, { id, object: 'response', created_at: 1, model, status: 'completed', output: [], usage: { input_tokens: 11, input_tokens_details: { cached_tokens: 0 }, output_tokens: 7, total_tokens: 18 } });
    }
    if (path === '/v1/embeddings') {
      return json(200, { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], model, usage: { prompt_tokens: 5, total_tokens: 5 } });
    }
    if (path === '/v1/chat/completions') {
      const base = { id: 'chatcmpl-1', created: 1, model };
      if (!parsed.stream) {
        // metadata.completion_tokens asks for a bigger answer (a long one, as a reasoning model's can be).
        const asked = Number((parsed.metadata as { completion_tokens?: string } | undefined)?.completion_tokens);
        const reported = Number.isInteger(asked) && asked > 0 ? { ...usage, completion_tokens: asked, total_tokens: usage.prompt_tokens + asked } : usage;
        return json(200, {
          ...base,
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: 'Hi there!' }, finish_reason: 'stop' }],
          ...(model === 'nousage' ? {} : { usage: reported }),
        });
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-ratelimit-remaining-requests': '9999', 'x-request-id': 'req_fake_stream' });
      const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
      const pieces = ['Hi', ' there', '!'];
      for (const p of pieces) {
        send({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: p }, finish_reason: null }] });
        if (dripping) await new Promise((r) => setTimeout(r, 400));
      }
      if (model === 'cutoff') {
        await new Promise((r) => setTimeout(r, 100));
        return req.socket.destroy();
      }
      if (dripping) {
        for (let i = 0; i < 50 && !res.destroyed; i++) {
          send({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: '.' }, finish_reason: null }] });
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      send({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
      const opts = parsed.stream_options as { include_usage?: boolean } | undefined;
      if (opts?.include_usage && model !== 'nousage') send({ ...base, object: 'chat.completion.chunk', choices: [], usage });
      res.write('data: [DONE]\n\n');
      return res.end();
    }
    return json(404, { error: { message: `Unknown ${path}`, type: 'invalid_request_error', param: null, code: 'unknown_url' } });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    seen,
    aborted,
    background,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A whole chat completion as OpenAI answers it: one choice of `content`, finished, with `usage`. */
export function chatCompletionJson(model: string, content: string, usage: Record<string, unknown>): string {
  return JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
    usage,
  });
}
