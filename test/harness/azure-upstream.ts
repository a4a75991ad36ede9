import { createServer, type Server } from 'node:http';
import { listenOnLoopback } from './provider-config.js';

/** A fake Azure OpenAI resource: every request's URL noted in `seen`, every answer one chat completion with `headers`. */
export interface AzureUpstream {
  server: Server;
  /** Its origin (`http://127.0.0.1:port`), a provider's `base_url`. */
  url: string;
  seen: string[];
  close(): Promise<void>;
}

export async function startAzureUpstream(headers: Record<string, string> = {}): Promise<AzureUpstream> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.url ?? '');
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    res.end(
      JSON.stringify({
        id: 'chatcmpl-az',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-4o',
        choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
      }),
    );
  });
  const url = await listenOnLoopback(server);
  return { server, url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}
