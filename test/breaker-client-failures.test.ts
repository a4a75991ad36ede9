import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness/server.js';

// The circuit breaker is shared by every client of a provider (issue 20 §3), so what opens it must speak of the
// provider's health, never of one client's own requests: a non-streamed generation long enough to outrun the first-byte
// timeout, a request the provider answers 500 (it may be about the request), a client that hangs up. One key doing any
// of these over and over leaves the provider open to the others; the same failures from several keys, or failures no
// client chooses (503, a reset, no connection), still open it.

const ORG = '/v1/organization';
const FAILURES = 3;

/** The fake provider: answers by what the request asks (a long generation is slow to its headers, and so on). */
async function fakeProvider(): Promise<{ server: Server; url: string; seen: number }> {
  const f = { server: createServer(), url: '', seen: 0 };
  f.server.on('request', async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { model: string; max_tokens?: number; messages?: Array<{ content: string }> };
    f.seen++;
    const content = body.messages?.[0]?.content ?? '';
    const answer = () => {
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
    };
    if (content === 'reset') return void req.socket.destroy();
    if (content === 'crash' || content === 'down') {
      const status = content === 'crash' ? 500 : 503;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `says ${status}`, type: 'server_error', code: null } }));
      return;
    }
    // A long generation, not streamed: nothing comes back until it is done (here, past the first-byte timeout).
    if ((body.max_tokens ?? 0) > 10_000) return void setTimeout(answer, 3000);
    answer();
  });
  await new Promise<void>((r) => f.server.listen(0, '127.0.0.1', r));
  f.url = `http://127.0.0.1:${(f.server.address() as AddressInfo).port}/v1`;
  return f;
}

describe('the circuit breaker is not opened by one client', () => {
  let up: Awaited<ReturnType<typeof fakeProvider>>;
  let t: TestServer;
  const keys: string[] = [];
  // Each case has a provider (and so a breaker) of its own, reached by a model routed to it.
  const CASES = ['slow', 'crash', 'hangup', 'slow-many', 'down', 'reset'] as const;
  const chat = (key: string, model: string, extra: Record<string, unknown> = {}, content = 'hi') =>
    t.api('POST', '/v1/chat/completions', { key, body: { model, messages: [{ role: 'user', content }], ...extra } });

  beforeAll(async () => {
    up = await fakeProvider();
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-breaker-'));
    const file = join(dir, 'tollgate.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        providers: CASES.map((name) => ({ name, base_url: up.url, api_key_env: 'UP_KEY', timeouts: { first_byte_ms: 300 }, circuit_breaker: { failures: FAILURES, cool_off_ms: 60_000 } })),
        routes: Object.fromEntries(CASES.map((name) => [`model-${name}`, name])),
      }),
    );
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
    for (let i = 0; i < FAILURES + 1; i++) keys.push((await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: `k${i}` } })).body.value);
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });

  const circuit = async (provider: string) => {
    const m = (await (await fetch(`${t.url}/metrics`)).text()).match(new RegExp(`tollgate_provider_circuit_open\\{provider="${provider}"\\} ([0-9.]+)`));
    return Number(m?.[1]);
  };

  it('one key’s long non-streamed generations that outrun the first-byte timeout leave the provider open to others', async () => {
    // Sent together: undici's first-byte timer ticks about every half second.
    const slow = await Promise.all(Array.from({ length: FAILURES + 1 }, () => chat(keys[0], 'model-slow', { max_tokens: 32_000 })));
    expect(slow.map((r) => r.body.error?.code)).toEqual(Array(FAILURES + 1).fill('upstream_timeout'));
    expect(await circuit('slow')).toBe(0);
    const other = await chat(keys[1], 'model-slow');
    expect(other.status).toBe(200);
  });

  it('one key’s requests the provider answers 500 leave it open to others', async () => {
    for (let i = 0; i < FAILURES + 1; i++) expect((await chat(keys[0], 'model-crash', {}, 'crash')).status).toBe(500);
    expect(await circuit('crash')).toBe(0);
    expect((await chat(keys[1], 'model-crash')).status).toBe(200);
  });

  it('a client that hangs up on its requests says nothing of the provider', async () => {
    for (let i = 0; i < FAILURES + 1; i++) {
      const ac = new AbortController();
      const sent = fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        signal: ac.signal,
        headers: { authorization: `Bearer ${keys[0]}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'model-hangup', max_tokens: 32_000, messages: [{ role: 'user', content: 'hi' }] }),
      });
      setTimeout(() => ac.abort(), 50);
      await expect(sent).rejects.toThrow();
    }
    // Let the gateway see the hang-ups before looking.
    await new Promise((r) => setTimeout(r, 50));
    expect(await circuit('hangup')).toBe(0);
    expect((await chat(keys[1], 'model-hangup')).status).toBe(200);
  });

  it('timeouts from as many different keys as the breaker’s failures, with no answer between, open it', async () => {
    // Each of all but one key, twice: repeats by the same key count once.
    const first = await Promise.all(keys.slice(0, FAILURES - 1).flatMap((k) => [k, k]).map((k) => chat(k, 'model-slow-many', { max_tokens: 32_000 })));
    expect(first.map((r) => r.body.error?.code)).toEqual(Array(2 * (FAILURES - 1)).fill('upstream_timeout'));
    expect(await circuit('slow-many')).toBe(0);
    expect((await chat(keys[FAILURES - 1], 'model-slow-many', { max_tokens: 32_000 })).body.error?.code).toBe('upstream_timeout');
    expect(await circuit('slow-many')).toBe(1);
    const open = await chat(keys[FAILURES], 'model-slow-many');
    expect(open.status).toBe(503);
    expect(open.body.error.code).toBe('upstream_unavailable');
  });

  it('failures no client chooses (503, a reset before an answer) open it whoever sees them', async () => {
    for (let i = 0; i < FAILURES; i++) expect((await chat(keys[0], 'model-down', {}, 'down')).status).toBe(503);
    expect(await circuit('down')).toBe(1);
    for (let i = 0; i < FAILURES; i++) expect((await chat(keys[0], 'model-reset', {}, 'reset')).status).toBe(502);
    expect(await circuit('reset')).toBe(1);
    expect((await chat(keys[1], 'model-reset')).body.error.code).toBe('upstream_unavailable');
  });
});
