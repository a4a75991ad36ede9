import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An OpenAI-compatible upstream that answers chat completions to the keys it knows and 401 to any other. */
export interface KeyedUpstream {
  url: string;
  /** The bearer token of every request, in order. */
  keys: string[];
  close(): Promise<void>;
}

export async function startKeyedUpstream(valid: readonly string[]): Promise<KeyedUpstream> {
  const keys: string[] = [];
  const server: Server = createServer(async (req, res) => {
    for await (const _ of req) {
      // drain
    }
    const key = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    keys.push(key);
    res.setHeader('content-type', 'application/json');
    if (!valid.includes(key)) {
      res.writeHead(401);
      res.end(JSON.stringify({ error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }));
      return;
    }
    res.end(
      JSON.stringify({
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 1,
        model: 'rt-model',
        choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    keys,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

