import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';

// The floor for any Node gateway that checks a key: node:http in, the presented key's SHA-256 looked up in a Map (the
// least a key gateway does), the provider's key put in its place, one keep-alive undici Pool out, answers streamed
// through. Run as a child process: `node --import tsx bench/bare-proxy.ts <upstream origin> [keys file]` prints
// `LISTENING <port>`; the keys file holds the valid keys, one per line (without one, every key is let through
// unhashed: the floor of a proxy that checks nothing).

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'proxy-connection', 'upgrade', 'te', 'trailer']);

function withoutHopByHop(h: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');

/** The key a request presents: `Authorization: Bearer …` or `x-api-key` (Anthropic's clients). */
function presentedKey(headers: Record<string, string | string[] | undefined>): string {
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7);
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey : '';
}

/**
 * Starts the bare proxy on 127.0.0.1 in front of `upstream` (an origin such as http://127.0.0.1:1234). With `keys`,
 * a request whose key is not among them is answered 401, and the upstream sees `upstreamKey` instead of the client's.
 */
export function startBareProxy(upstream: string, port = 0, keys?: readonly string[], upstreamKey = 'sk-bare-proxy-upstream'): Promise<Server> {
  const pool = new Pool(upstream, { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });
  const known = keys ? new Map(keys.map((k, i) => [sha256(k), { id: `key_${i}` }])) : null;
  const server = createServer({ keepAliveTimeout: 60_000 }, async (req, res) => {
    try {
      const headers = withoutHopByHop(req.headers);
      if (known) {
        if (!known.get(sha256(presentedKey(headers)))) {
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key","param":null}}');
          return;
        }
        // The provider's key where the client put its own (Anthropic's clients: x-api-key).
        if (headers['x-api-key'] !== undefined) headers['x-api-key'] = upstreamKey;
        else headers.authorization = `Bearer ${upstreamKey}`;
      }
      // The request body is read whole (as every gateway does to see the model); the answer is streamed chunk by
      // chunk. Measured on the bench machine: piping `req` into undici and `pipeline()` out cost 2x the CPU.
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const up = await pool.request({ method: req.method as 'POST', path: req.url ?? '/', headers, body: Buffer.concat(chunks) });
      res.writeHead(up.statusCode, withoutHopByHop(up.headers));
      for await (const c of up.body) if (!res.write(c)) await once(res, 'drain');
      res.end();
    } catch {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    }
  });
  server.on('close', () => void pool.close());
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const upstream = process.argv[2];
  if (!upstream) throw new Error('usage: bare-proxy.ts <upstream origin> [keys file]');
  const keysFile = process.argv[3];
  const keys = keysFile ? readFileSync(keysFile, 'utf8').split('\n').filter(Boolean) : undefined;
  const server = await startBareProxy(upstream, 0, keys);
  const addr = server.address();
  process.stdout.write(`LISTENING ${typeof addr === 'object' && addr ? addr.port : 0}\n`);
  process.on('SIGTERM', () => process.exit(0));
}
