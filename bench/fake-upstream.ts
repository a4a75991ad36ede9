import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';

// A minimal OpenAI-compatible upstream for the gateway bench: answers instantly, parses no JSON (a regex on the raw
// body decides between the buffered and the streamed answer), so it costs the shared CPU as little as possible.
// Run as a child process: prints `LISTENING <port>` on stdout once ready.

const COMPLETION = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello! How can I help you today?' }, logprobs: null, finish_reason: 'stop' }],
  usage: { prompt_tokens: 8, completion_tokens: 9, total_tokens: 17 },
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
  usage: { prompt_tokens: 8, completion_tokens: 9, total_tokens: 17 },
})}\n\n`;
const DONE_EVENT = 'data: [DONE]\n\n';

const IS_STREAM = /"stream"\s*:\s*true/;
const WANTS_USAGE = /"include_usage"\s*:\s*true/;

function answer(req: IncomingMessage, res: ServerResponse, body: string): void {
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
