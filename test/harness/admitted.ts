import type { TestServer } from './server.js';

/** One small chat call of the echo model with `key`: its status and headers (its body read and dropped). */
export async function echoChat(t: Pick<TestServer, 'url'>, key: string): Promise<{ status: number; headers: Headers }> {
  const r = await fetch(`${t.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
    signal: AbortSignal.timeout(15_000),
  });
  await r.arrayBuffer();
  return { status: r.status, headers: r.headers };
}

/** How many of `n` echo calls in a row with `key` were let through. */
export async function admitted(t: Pick<TestServer, 'url'>, key: string, n: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < n; i++) if ((await echoChat(t, key)).status === 200) ok++;
  return ok;
}
