import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startChildServer } from './harness/child-server.js';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer } from './harness/server.js';

// SIGTERM to a real server process (src/main.ts) with streams under way: one that ends within the grace is billed as
// usual; one still running when the grace runs out is cut, and billed once as a client that hung up. Found by a
// durability review: the cut stream's event was built only after the usage recorder had stopped (its metering
// awaits the relay's end and the tokenizer, after the HTTP server had already closed), landed in a log segment
// the process never wrote before it exited, and was lost: the client had a 200 and part of the answer, unbilled.

const ORG = '/v1/organization';
const GRACE_MS = 1500;

/** `gpt-4o-short` streams three pieces 150 ms apart then its usage; `gpt-4o-long` a piece every 100 ms until it is cut (models known
 * to show all they generate: a stream of one that may reason unseen is read on to its usage when cut, docs/metering.md). */
async function startUpstream(): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    const { model } = JSON.parse(text) as { model: string };
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const base = { id: 'c1', object: 'chat.completion.chunk', created: 1, model };
    const piece = (content: string) => res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`);
    for (let i = 0; (model === 'gpt-4o-long' || i < 3) && !res.destroyed && i < 600; i++) {
      piece('word ');
      await new Promise((r) => setTimeout(r, model === 'gpt-4o-long' ? 100 : 150));
    }
    if (res.destroyed) return;
    res.write(`data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 } })}\n\n`);
    res.end('data: [DONE]\n\n');
  });
  return { server, url: `${await listenOnLoopback(server)}/v1` };
}

/** Starts a stream and resolves once its first bytes arrived; `rest` is what the client saw in the end. */
async function startStream(url: string, key: string, model: string): Promise<{ status: number; rest: Promise<string> }> {
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'x' }] }),
  });
  const reader = (r.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  const rest = (async () => {
    let text = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return text.includes('[DONE]') ? 'complete' : 'ended';
        text += Buffer.from(value).toString();
      }
    } catch {
      return 'cut';
    }
  })();
  return { status: r.status, rest };
}

it('SIGTERM: a stream ending within the grace is billed, one cut at its end is billed once as client_aborted (after the next start)', async () => {
  const up = await startUpstream();
  const file = gatewayConfigFile({ providers: [{ name: 'up', base_url: up.url, circuit_breaker: false }] });
  const first = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file } });
  const key = (await first.api('POST', `${ORG}/projects/${first.defaultProjectId}/api_keys`, { body: { name: 'sigterm' } })).body;
  await first.server.close();
  const { dataDir } = first;
  const child = await startChildServer({ TOLLGATE_DATA_DIR: dataDir, TOLLGATE_CONFIG: file, TOLLGATE_SHUTDOWN_GRACE_MS: String(GRACE_MS), LOG_LEVEL: 'error' });
  let again: Awaited<ReturnType<typeof startTestServer>> | null = null;
  try {
    const [short, long] = await Promise.all([startStream(child.url, key.value, 'gpt-4o-short'), startStream(child.url, key.value, 'gpt-4o-long')]);
    expect([short.status, long.status]).toEqual([200, 200]);
    const started = performance.now();
    const code = await child.stop('SIGTERM');
    expect({ code, short: await short.rest, long: await long.rest }, child.output()).toEqual({ code: 0, short: 'complete', long: 'cut' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(GRACE_MS - 100);
    // The next start writes what the last run logged before it serves.
    again = await startTestServer({ name: 'sqlite' }, { dataDir, env: { TOLLGATE_CONFIG: file } });
    const rows = await again.server.runtime.database.db
      .selectFrom('usage_events')
      .select(['model', 'outcome', 'status', 'output_tokens'])
      .where('api_key_id', '=', key.id)
      .orderBy('model')
      .execute();
    expect(rows.map((r) => [r.model, r.outcome, r.status])).toEqual([
      ['gpt-4o-long', 'client_aborted', 200],
      ['gpt-4o-short', 'ok', 200],
    ]);
    // The cut stream is billed for what it delivered (about 15 pieces of one word).
    expect(rows[0].output_tokens).toBeGreaterThan(3);
    expect(rows[1].output_tokens).toBe(3);
    expect(readdirSync(join(dataDir, 'wal'))).toEqual([]);
  } finally {
    if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
    await (again ?? first).close();
    up.server.close();
  }
}, 120_000);
