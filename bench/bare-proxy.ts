import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';

// The floor for any Node gateway: node:http in, one keep-alive undici Pool out, no checks, answers streamed through.
// Run as a child process: `node --import tsx bench/bare-proxy.ts <upstream origin>` prints `LISTENING <port>`.

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'proxy-connection', 'upgrade', 'te', 'trailer']);

function withoutHopByHop(h: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

/** Starts the bare proxy on 127.0.0.1 in front of `upstream` (an origin such as http://127.0.0.1:1234). */
export function startBareProxy(upstream: string, port = 0): Promise<Server> {
  const pool = new Pool(upstream, { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });
  const server = createServer({ keepAliveTimeout: 60_000 }, async (req, res) => {
    try {
      // The request body is read whole (as every gateway does to see the model); the answer is streamed chunk by
      // chunk. Measured on the bench machine: piping `req` into undici and `pipeline()` out cost 2x the CPU.
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const up = await pool.request({ method: req.method as 'POST', path: req.url ?? '/', headers: withoutHopByHop(req.headers), body: Buffer.concat(chunks) });
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
  if (!upstream) throw new Error('usage: bare-proxy.ts <upstream origin>');
  const server = await startBareProxy(upstream);
  const addr = server.address();
  process.stdout.write(`LISTENING ${typeof addr === 'object' && addr ? addr.port : 0}\n`);
  process.on('SIGTERM', () => process.exit(0));
}
