import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';

// A minimal upstream for the gateway bench, OpenAI-compatible on `…/chat/completions` and Anthropic-shaped on
// `…/messages` (Messages API answers and events, with usage): answers instantly, parses no JSON (a regex on the raw
// body decides between the buffered and the streamed answer), so it costs the shared CPU as little as possible. The
// two APIs answer different texts (OPENAI_TEXT, ANTHROPIC_TEXT), so a bench flow can tell which one served it.
// Run as a child process: prints `LISTENING <port>` on stdout once ready.

/** The assistant's text in every answer of the OpenAI-compatible API. */
export const OPENAI_TEXT = 'Hello! How can I help you today?';
/** The assistant's text in every answer of the Messages API. */
export const ANTHROPIC_TEXT = 'Hi! What can I do for you?';
/** The usage both APIs report for every answer (input and output tokens). */
export const UPSTREAM_USAGE = { input: 8, output: 9 } as const;

/** The buffered answers and the whole streams (OpenAI's as asked for usage), for the translation micro-benchmarks. */
export const COMPLETION = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: OPENAI_TEXT }, logprobs: null, finish_reason: 'stop' }],
  usage: { prompt_tokens: UPSTREAM_USAGE.input, completion_tokens: UPSTREAM_USAGE.output, total_tokens: UPSTREAM_USAGE.input + UPSTREAM_USAGE.output },
});

function chunk(delta: Record<string, unknown>, finish: string | null, usageNull: boolean): string {
  const body = { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'gpt-4o-mini', choices: [{ index: 0, delta, finish_reason: finish }] };
  return `data: ${JSON.stringify(usageNull ? { ...body, usage: null } : body)}\n\n`;
}

const streamEvents = (usageNull: boolean) =>
  [
    chunk({ role: 'assistant', content: '' }, null, usageNull),
    chunk({ content: 'Hello' }, null, usageNull),
    chunk({ content: '! How can' }, null, usageNull),
    chunk({ content: ' I help you today?' }, null, usageNull),
    chunk({}, 'stop', usageNull),
  ].join('');
const STREAM_EVENTS = streamEvents(false);
/** As OpenAI streams when asked for usage: every chunk carries "usage":null, and a usage chunk comes last. */
const STREAM_EVENTS_USAGE_NULL = streamEvents(true);
const USAGE_EVENT = `data: ${JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion.chunk',
  created: 1_700_000_000,
  model: 'gpt-4o-mini',
  choices: [],
  usage: { prompt_tokens: UPSTREAM_USAGE.input, completion_tokens: UPSTREAM_USAGE.output, total_tokens: UPSTREAM_USAGE.input + UPSTREAM_USAGE.output },
})}\n\n`;
const DONE_EVENT = 'data: [DONE]\n\n';
export const CHAT_STREAM_WITH_USAGE = STREAM_EVENTS_USAGE_NULL + USAGE_EVENT + DONE_EVENT;

const MESSAGE_USAGE = { input_tokens: UPSTREAM_USAGE.input, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: UPSTREAM_USAGE.output };
export const MESSAGE = JSON.stringify({
  id: 'msg_bench',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5',
  content: [{ type: 'text', text: ANTHROPIC_TEXT }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: MESSAGE_USAGE,
});

const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
const textDelta = (text: string) => event('content_block_delta', { index: 0, delta: { type: 'text_delta', text } });

/** A Messages API stream as Anthropic sends it: input tokens in message_start, output tokens in message_delta. */
const MESSAGE_EVENTS = [
  event('message_start', {
    message: { id: 'msg_bench', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, stop_sequence: null, usage: { ...MESSAGE_USAGE, output_tokens: 1 } },
  }),
  event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
  event('ping', {}),
  textDelta('Hi'),
  textDelta('! What can'),
  textDelta(' I do for you?'),
  event('content_block_stop', { index: 0 }),
];
const MESSAGE_END = [event('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: UPSTREAM_USAGE.output } }), event('message_stop', {})].join('');
const MESSAGE_START = MESSAGE_EVENTS.join('');
export const MESSAGE_STREAM = MESSAGE_START + MESSAGE_END;

const IS_STREAM = /"stream"\s*:\s*true/;
const WANTS_USAGE = /"include_usage"\s*:\s*true/;

/** Anthropic's answers; a request without `anthropic-version` or `x-api-key` is refused as Anthropic refuses it. */
function answerMessages(req: IncomingMessage, res: ServerResponse, body: string): void {
  if (!req.headers['anthropic-version'] || !req.headers['x-api-key']) {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end('{"type":"error","error":{"type":"invalid_request_error","message":"anthropic-version and x-api-key: headers are required"}}');
    return;
  }
  if (!IS_STREAM.test(body)) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(MESSAGE) });
    res.end(MESSAGE);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.write(MESSAGE_START);
  res.end(MESSAGE_END);
}

function answer(req: IncomingMessage, res: ServerResponse, body: string): void {
  if (req.method === 'POST' && req.url?.endsWith('/messages')) {
    answerMessages(req, res, body);
    return;
  }
  if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"not found","type":"invalid_request_error","param":null,"code":"unknown_url"}}');
    return;
  }
  if (!IS_STREAM.test(body)) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(COMPLETION) });
    res.end(COMPLETION);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  // Separate writes, as a real provider sends events one by one (they may still share a TCP segment).
  const wantsUsage = WANTS_USAGE.test(body);
  res.write(wantsUsage ? STREAM_EVENTS_USAGE_NULL : STREAM_EVENTS);
  if (wantsUsage) res.write(USAGE_EVENT);
  res.end(DONE_EVENT);
}

/** Starts the fake upstream on 127.0.0.1 (port 0 picks a free one). */
export function startFakeUpstream(port = 0): Promise<Server> {
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => answer(req, res, body));
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await startFakeUpstream();
  const addr = server.address();
  process.stdout.write(`LISTENING ${typeof addr === 'object' && addr ? addr.port : 0}\n`);
  process.on('SIGTERM', () => process.exit(0));
}
