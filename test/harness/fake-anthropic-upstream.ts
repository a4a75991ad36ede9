import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ANTHROPIC_CACHED, ANTHROPIC_COMPACTED, ANTHROPIC_PLAIN, ANTHROPIC_STREAM_COMPACTED, ANTHROPIC_STREAM_TEXT, ANTHROPIC_STREAM_TOOLS, ANTHROPIC_TOOL_USE, anthropicSse } from './provider-payloads.js';
import type { SeenRequest } from './fake-upstream.js';

/**
 * A fake of Anthropic's Messages API for tests: checks the provider key (`x-api-key`) and `anthropic-version` as
 * Anthropic does, records every request, and answers with the provider-shaped payloads of provider-payloads.ts. The
 * model picks the behaviour: plain (the default), `…cached…` (cache writes and reads in its usage), a request offering
 * a get_weather tool gets a tool_use answer, one asking for server-side compaction (`context_management`) an answer
 * whose usage lists the compaction step apart, `claude-error400`, `claude-overloaded` (529), `claude-refuses-key` (401: the provider
 * refuses Tollgate's key), `claude-cutoff` (a stream that ends before message_stop).
 *
 * Its usage names the speed the answer ran at, as Anthropic's does (`usage.speed`, a stream's in message_start):
 * `fast` for a request asking `speed: "fast"`, `standard` for any other speed asked, none when it asks none. A request's
 * `metadata.user_id` (an OpenAI client's `user`) may say otherwise: `fake-speed:fast`, `fake-speed:standard` (fast
 * capacity ran out), `fake-speed:none` (a usage without a speed), `fake-usage:none` (an answer without any usage),
 * `fake-searches:N` (the answer ran N web searches and a web fetch: `usage.server_tool_use`, a stream's in
 * message_delta, cumulative, message_start's naming none yet).
 * It keeps a Files API of the one account: upload, list (every file), metadata, content and delete.
 */
export interface FakeAnthropic {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

export const FAKE_ANTHROPIC_MODELS = ['claude-sonnet-4-5-20250929', 'claude-haiku-4-5-20251001'];

export async function startFakeAnthropic(secret: string): Promise<FakeAnthropic> {
  const seen: SeenRequest[] = [];
  /** The account's files (its Files API), every project's alike, as in one provider account. */
  const files = new Map<string, Record<string, unknown>>();
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: text });
    const headers = {
      'content-type': 'application/json',
      'request-id': 'req_011CFakeAnthropic',
      'anthropic-organization-id': '0b9a1f0e-provider-org',
      'anthropic-ratelimit-requests-limit': '50',
    };
    const json = (status: number, obj: unknown) => {
      res.writeHead(status, headers);
      res.end(JSON.stringify(obj));
    };
    const error = (status: number, type: string, message: string) => json(status, { type: 'error', error: { type, message }, request_id: 'req_011CFakeAnthropic' });
    /** Anthropic's Files API (beta): upload, metadata, content, delete, and the account's whole list. */
    const filesApi = (method: string, path: string) => {
      const id = path.split('/')[3];
      if (method === 'POST' && path === '/v1/files') {
        const filename = /filename="([^"]*)"/.exec(text)?.[1] ?? 'upload';
        const file = { id: `file_011CFake${files.size + 1}`, type: 'file', filename, mime_type: 'text/plain', size_bytes: text.length, created_at: '2025-09-29T00:00:00Z', downloadable: true };
        files.set(file.id, file);
        return json(200, file);
      }
      if (method === 'GET' && path === '/v1/files') {
        const data = [...files.values()];
        return json(200, { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
      }
      const file = id === undefined ? undefined : files.get(id);
      if (!file) return error(404, 'not_found_error', `File not found: ${id}`);
      if (method === 'GET' && path === `/v1/files/${id}`) return json(200, file);
      if (method === 'GET' && path === `/v1/files/${id}/content`) {
        res.writeHead(200, { ...headers, 'content-type': 'application/octet-stream' });
        return res.end(`content of ${id}`);
      }
      if (method === 'DELETE' && path === `/v1/files/${id}`) {
        files.delete(id);
        return json(200, { id, type: 'file_deleted' });
      }
      return error(405, 'invalid_request_error', 'Method not allowed');
    };
    const sse = (events: string) => {
      res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8' });
      res.end(events);
    };
    if (req.headers['x-api-key'] !== secret) return error(401, 'authentication_error', 'invalid x-api-key');
    if (!req.headers['anthropic-version']) return error(400, 'invalid_request_error', 'anthropic-version: header is required');
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/v1/models') {
      const data = FAKE_ANTHROPIC_MODELS.map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-09-29T00:00:00Z' }));
      return json(200, { data, has_more: false, first_id: data[0].id, last_id: data.at(-1)?.id });
    }
    if (path === '/v1/files' || path.startsWith('/v1/files/')) return filesApi(req.method ?? 'GET', path);
    if (req.method !== 'POST') return error(404, 'not_found_error', 'Not found');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text);
    } catch {
      return error(400, 'invalid_request_error', 'There was an issue with the format or content of your request.');
    }
    if (path === '/v1/messages/count_tokens') return json(200, { input_tokens: 14 });
    if (path !== '/v1/messages') return error(404, 'not_found_error', 'Not found');
    const model = String(body.model);
    if (typeof body.max_tokens !== 'number') return error(400, 'invalid_request_error', 'max_tokens: Field required');
    if (model === 'claude-error400') return error(400, 'invalid_request_error', 'messages.0.content: Input should be a valid list');
    if (model === 'claude-overloaded') return error(529, 'overloaded_error', 'Overloaded');
    if (model === 'claude-refuses-key') return error(401, 'authentication_error', 'invalid x-api-key sk-ant-api03-provider-secret');
    const steer = (body.metadata as { user_id?: unknown } | undefined)?.user_id;
    const speed = steer === 'fake-speed:fast' ? 'fast' : steer === 'fake-speed:standard' ? 'standard' : steer === 'fake-speed:none' || body.speed === undefined ? null : body.speed === 'fast' ? 'fast' : 'standard';
    const noUsage = steer === 'fake-usage:none';
    const searched = typeof steer === 'string' && steer.startsWith('fake-searches:') ? Number(steer.slice('fake-searches:'.length)) : null;
    const serverToolUse = searched === null ? null : { web_search_requests: searched, web_fetch_requests: 1 };
    /** A message with its usage as steered. */
    const answer = (message: Record<string, unknown>) => {
      if (noUsage) return { ...message, usage: undefined };
      const usage = { ...(message.usage as Record<string, unknown>), ...(speed === null ? {} : { speed }), ...(serverToolUse ? { server_tool_use: serverToolUse } : {}) };
      return { ...message, usage };
    };
    /** A stream with its usage as steered: message_start's names the speed; none at all without usage. */
    const steered = (events: string) => {
      if (noUsage) return events.replace(/,"usage":\{[^{}]*\}/g, '');
      const searches = serverToolUse
        ? events
            .replace('"usage":{"input_tokens"', `"usage":{"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"input_tokens"`)
            .replace('"usage":{"output_tokens"', `"usage":{"server_tool_use":${JSON.stringify(serverToolUse)},"output_tokens"`)
        : events;
      return speed === null ? searches : searches.replace('"usage":{', `"usage":{"speed":"${speed}",`);
    };
    const withModel = (sseText: string) => steered(sseText.replaceAll('claude-sonnet-4-5-20250929', model));
    // A request offering the get_weather tool gets it called; any other (Claude Code's own tools included) gets text.
    const tools = Array.isArray(body.tools) && body.tools.some((t) => (t as { name?: unknown })?.name === 'get_weather');
    const compacted = JSON.stringify(body.context_management ?? null).includes('"compact_');
    if (body.stream === true) {
      if (model === 'claude-cutoff') {
        const events = anthropicSse([
          { type: 'message_start', message: { id: 'msg_cut', type: 'message', role: 'assistant', content: [], model, stop_reason: null, stop_sequence: null, usage: { input_tokens: 7, output_tokens: 1 } } },
          { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
          { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Half' } },
        ]);
        res.writeHead(200, { ...headers, 'content-type': 'text/event-stream' });
        res.write(events);
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      return sse(withModel(tools ? ANTHROPIC_STREAM_TOOLS : compacted ? ANTHROPIC_STREAM_COMPACTED : ANTHROPIC_STREAM_TEXT));
    }
    if (tools) return json(200, answer({ ...ANTHROPIC_TOOL_USE, model }));
    if (compacted) return json(200, answer({ ...ANTHROPIC_COMPACTED, model }));
    return json(200, answer({ ...(model.includes('cached') ? ANTHROPIC_CACHED : ANTHROPIC_PLAIN), model }));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    seen,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
