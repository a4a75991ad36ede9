import { createHash, randomUUID } from 'node:crypto';
import { contentText, countChatPromptTokens, countTokens, tokenPieces } from './tokenizer.js';
import { bufferedBody } from './body.js';
import type { Upstream, UpstreamRequest, UpstreamResponse } from './types.js';

export const ECHO_MODEL = 'tollgate-echo';

// The built-in model when no upstream is configured: deterministic, offline, with real token counts and streaming,
// so the whole flow (keys, scopes, metering, limits) works on a fresh machine.

const json = (status: number, body: unknown): UpstreamResponse => ({
  statusCode: status,
  headers: { 'content-type': 'application/json' },
  body: bufferedBody([Buffer.from(JSON.stringify(body))]),
});

const notFound = (message: string, code = 'model_not_found') =>
  json(404, { error: { message, type: 'invalid_request_error', param: 'model', code } });

function sse(events: unknown[]): UpstreamResponse {
  const chunks = events.map((e) => Buffer.from(e === '[DONE]' ? 'data: [DONE]\n\n' : `data: ${JSON.stringify(e)}\n\n`));
  return { statusCode: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8' }, body: bufferedBody(chunks) };
}

function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: string; content?: unknown };
    if (m?.role === 'user') return contentText(m.content);
  }
  return '';
}

/** A deterministic unit vector from the text's SHA-256 (16 dimensions). */
function embed(text: string): number[] {
  const h = createHash('sha256').update(text).digest();
  const v = Array.from({ length: 16 }, (_, i) => h[i] / 255 - 0.5);
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => Number((x / norm).toFixed(6)));
}

export class EchoUpstream implements Upstream {
  readonly name = 'echo';
  readonly models = [ECHO_MODEL];
  readonly totalTimeoutMs = 60_000;

  /** `clock`: the injected clock (milliseconds), for the answers' `created` times. */
  constructor(private readonly clock: () => number) {}

  async send(req: UpstreamRequest): Promise<UpstreamResponse> {
    let body: Record<string, unknown> = {};
    try {
      const parsed = req.body?.length ? JSON.parse(req.body.toString('utf8')) : {};
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed;
    } catch {
      return json(400, { error: { message: 'The request body is not valid JSON.', type: 'invalid_request_error', param: null, code: 'invalid_json' } });
    }
    if (req.method === 'GET' && req.path === '/models') {
      return json(200, { object: 'list', data: [{ id: ECHO_MODEL, object: 'model', created: 1_735_689_600, owned_by: 'tollgate' }] });
    }
    if (req.method !== 'POST') return notFound(`Unknown request URL: ${req.method} /v1${req.path}`, 'unknown_url');
    if (body.model !== ECHO_MODEL) {
      return notFound(
        `The model '${String(body.model)}' does not exist. No upstream is configured, so only the built-in '${ECHO_MODEL}' model answers (set OPENAI_API_KEY or TOLLGATE_CONFIG).`,
      );
    }
    const created = Math.floor(this.clock() / 1000);
    switch (req.path) {
      case '/chat/completions':
        return this.chat(body, created);
      case '/completions':
        return this.completion(body, created);
      case '/embeddings':
        return this.embeddings(body);
      case '/responses':
        return this.responses(body, created);
      default:
        return notFound(`Unknown request URL: POST /v1${req.path}`, 'unknown_url');
    }
  }

  private async chat(body: Record<string, unknown>, created: number): Promise<UpstreamResponse> {
    const text = lastUserText(body.messages);
    const prompt = await countChatPromptTokens(body.messages);
    const completion = await countTokens(text);
    const usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: 0 } };
    const id = `chatcmpl-${randomUUID()}`;
    if (!body.stream) {
      return json(200, {
        id,
        object: 'chat.completion',
        created,
        model: ECHO_MODEL,
        choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
        usage,
      });
    }
    const base = { id, object: 'chat.completion.chunk', created, model: ECHO_MODEL };
    const events: unknown[] = [{ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }];
    for (const piece of await tokenPieces(text)) events.push({ ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] });
    events.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
    if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage) events.push({ ...base, choices: [], usage });
    events.push('[DONE]');
    return sse(events);
  }

  private async completion(body: Record<string, unknown>, created: number): Promise<UpstreamResponse> {
    const text = Array.isArray(body.prompt) ? body.prompt.map(String).join('\n') : String(body.prompt ?? '');
    const n = await countTokens(text);
    const usage = { prompt_tokens: n, completion_tokens: n, total_tokens: 2 * n };
    const id = `cmpl-${randomUUID()}`;
    if (!body.stream) {
      return json(200, { id, object: 'text_completion', created, model: ECHO_MODEL, choices: [{ index: 0, text, logprobs: null, finish_reason: 'stop' }], usage });
    }
    const base = { id, object: 'text_completion', created, model: ECHO_MODEL };
    const events: unknown[] = (await tokenPieces(text)).map((p) => ({ ...base, choices: [{ index: 0, text: p, logprobs: null, finish_reason: null }] }));
    events.push({ ...base, choices: [{ index: 0, text: '', logprobs: null, finish_reason: 'stop' }] });
    if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage) events.push({ ...base, choices: [], usage });
    events.push('[DONE]');
    return sse(events);
  }

  private async embeddings(body: Record<string, unknown>): Promise<UpstreamResponse> {
    const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? '')];
    let tokens = 0;
    for (const i of inputs) tokens += await countTokens(i);
    return json(200, {
      object: 'list',
      data: inputs.map((text, index) => ({ object: 'embedding', index, embedding: embed(text) })),
      model: ECHO_MODEL,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }

  private async responses(body: Record<string, unknown>, created: number): Promise<UpstreamResponse> {
    const text = typeof body.input === 'string' ? body.input : lastUserText(body.input);
    const input = await countTokens(typeof body.input === 'string' ? body.input : JSON.stringify(body.input ?? ''));
    const output = await countTokens(text);
    const id = `resp_${randomUUID().replace(/-/g, '')}`;
    const message = { type: 'message', id: `msg_${id.slice(5)}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] };
    const usage = { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output };
    const response = { id, object: 'response', created_at: created, status: 'completed', model: ECHO_MODEL, output: [message], usage };
    if (!body.stream) return json(200, response);
    const events: unknown[] = [
      { type: 'response.created', sequence_number: 0, response: { ...response, status: 'in_progress', output: [], usage: null } },
    ];
    let seq = 1;
    for (const piece of await tokenPieces(text)) {
      events.push({ type: 'response.output_text.delta', sequence_number: seq++, item_id: message.id, output_index: 0, content_index: 0, delta: piece });
    }
    events.push({ type: 'response.completed', sequence_number: seq, response });
    return sse(events);
  }

  async close(): Promise<void> {}
}
