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
  /** Requests whose client went away before the answer ended. */
  aborted: string[];
  close(): Promise<void>;
}

const usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18, prompt_tokens_details: { cached_tokens: 3 } };

/**
 * An OpenAI-compatible upstream for tests. The requested model picks the behaviour:
 * normal, `slow` (headers after 3 s), `hang` (never answers), `error500` (OpenAI-shaped 500), `html500`,
 * `badjson`, `cutoff` (stream ends without [DONE]), `reset` (socket destroyed), `nousage`, `drip` (streams slowly).
 */
export async function startFakeUpstream(): Promise<FakeUpstream> {
  const seen: SeenRequest[] = [];
  const aborted: string[] = [];
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
    // Transcriptions take multipart/form-data: answered without reading it (tests look at `seen`).
    if (path.startsWith('/v1/audio/')) return json(200, { text: 'hello' });
    let parsed: Record<string, unknown> = {};
    try {
      parsed = body ? JSON.parse(body) : {};
    } catch {
      return json(400, { error: { message: 'bad json', type: 'invalid_request_error', param: null, code: null } });
    }
    const model = String(parsed.model ?? '');
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
    if (path === '/v1/embeddings') {
      return json(200, { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], model, usage: { prompt_tokens: 5, total_tokens: 5 } });
    }
    if (path === '/v1/chat/completions') {
      const base = { id: 'chatcmpl-1', created: 1, model };
      if (!parsed.stream) {
        return json(200, {
          ...base,
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: 'Hi there!' }, finish_reason: 'stop' }],
          ...(model === 'nousage' ? {} : { usage }),
        });
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-ratelimit-remaining-requests': '9999' });
      const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
      const pieces = ['Hi', ' there', '!'];
      for (const p of pieces) {
        send({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: p }, finish_reason: null }] });
        if (model === 'drip') await new Promise((r) => setTimeout(r, 400));
      }
      if (model === 'cutoff') {
        await new Promise((r) => setTimeout(r, 100));
        return req.socket.destroy();
      }
      if (model === 'drip') {
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
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
