import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness/server.js';

// The gateway checks the key on a request's headers before it reads a byte of its body. Found by an outside review:
// the body was read first (up to TOLLGATE_BODY_LIMIT, 10 MiB, waiting up to the idle timeout between bytes), so a caller
// with no key at all could make an instance hold 10 MiB per connection it opened, and parse it, before being told 401.

const ORG = '/v1/organization';
/** Far longer than any test here waits: a refusal that came only when the body stalled would fail the test. */
const IDLE_MS = 60_000;
/** The answer to a refused request comes at once; this bound only fails when it waited for the body. */
const ANSWERED_WITHIN_MS = 10_000;
const DECLARED = 5 * 1024 * 1024;

interface RawAnswer {
  head: string;
  body: string;
  /** Whether the server closed the connection after answering. */
  closed: boolean;
}

describe('a request without a valid key is refused on its headers, its body never read', () => {
  let t: TestServer;
  let projectKey: string;

  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_BODY_IDLE_TIMEOUT_MS: String(IDLE_MS) } });
    projectKey = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k' } })).body.value;
  });
  afterAll(async () => {
    await t?.close();
  });

  /**
   * Sends a request's headers and the first bytes of a body it declares far larger, never the rest; resolves with
   * the answer once the server has answered and closed, or rejects after ANSWERED_WITHIN_MS.
   */
  function sendHeadersOnly(path: string, headers: string[], chunked = false): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const s = net.connect(Number(new URL(t.url).port), '127.0.0.1');
      let text = '';
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`no answer within ${ANSWERED_WITHIN_MS} ms: ${JSON.stringify(text.slice(0, 200))}`));
      }, ANSWERED_WITHIN_MS);
      s.on('data', (c) => {
        text += c.toString('latin1');
      });
      s.on('error', () => {});
      s.on('close', () => {
        clearTimeout(timer);
        const at = text.indexOf('\r\n\r\n');
        resolve({ head: text.slice(0, at), body: text.slice(at + 4), closed: true });
      });
      const length = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${DECLARED}`;
      const start = chunked ? `${(1024).toString(16)}\r\n${'{'.padEnd(1024, ' ')}\r\n` : `{"model":"gpt-4o","messages":[`;
      s.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${length}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${start}`);
    });
  }

  const statusOf = (a: RawAnswer) => Number(a.head.split(' ')[1]);
  const jsonOf = (a: RawAnswer) => {
    // A chunked answer's body is framed: take the JSON between its first and last brace.
    const from = a.body.indexOf('{');
    return JSON.parse(a.body.slice(from, a.body.lastIndexOf('}') + 1));
  };

  it.each([
    ['no key', [] as string[]],
    ['a key no instance issued', ['Authorization: Bearer sk-tg-proj-notarealkeyatallnotarealkeyatallnotarealkey00']],
    ['a malformed key', ['Authorization: Bearer hello']],
    ['two different keys', ['Authorization: Bearer sk-tg-a', 'x-api-key: sk-tg-b']],
  ])('%s: 401 at once on a declared length, and the connection closes', async (_what, headers) => {
    const answer = await sendHeadersOnly('/v1/chat/completions', headers);
    expect(statusOf(answer)).toBe(401);
    expect(answer.head.toLowerCase()).toContain('connection: close');
    expect(jsonOf(answer).error.code).toBe(headers.length === 0 ? 'missing_api_key' : 'invalid_api_key');
    expect(answer.closed).toBe(true);
  });

  it('a key header sent twice naming different keys is refused, whichever header (Node keeps only the first Authorization)', async () => {
    for (const name of ['Authorization', 'x-api-key', 'api-key']) {
      const value = (k: string) => (name === 'Authorization' ? `Bearer ${k}` : k);
      const answer = await sendHeadersOnly('/v1/chat/completions', [`${name}: ${value(projectKey)}`, `${name}: ${value('sk-tg-proj-someotherkey')}`]);
      expect(statusOf(answer), name).toBe(401);
      expect(jsonOf(answer).error.message, name).toContain('two different API keys');
    }
  });

  it('a key header sent twice naming the same key is served', async () => {
    const body = JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'hi' }] });
    for (const name of ['Authorization', 'x-api-key']) {
      const value = name === 'Authorization' ? `Bearer ${projectKey}` : projectKey;
      const status = await new Promise<number>((resolve) => {
        const s = net.connect(Number(new URL(t.url).port), '127.0.0.1');
        let text = '';
        s.on('data', (c: Buffer) => {
          text += c.toString('latin1');
          if (text.includes('\r\n')) {
            resolve(Number(text.split(' ')[1]));
            s.destroy();
          }
        });
        s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n${name}: ${value}\r\n${name}: ${value}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      });
      expect(status, name).toBe(200);
    }
  });

  it('a chunked body is not read either', async () => {
    const answer = await sendHeadersOnly('/v1/embeddings', ['Authorization: Bearer sk-tg-nope'], true);
    expect(statusOf(answer)).toBe(401);
    expect(answer.head.toLowerCase()).toContain('connection: close');
  });

  it("Anthropic's paths answer in Anthropic's shape, as early", async () => {
    const answer = await sendHeadersOnly('/v1/messages', ['x-api-key: sk-tg-nope', 'anthropic-version: 2023-06-01']);
    expect(statusOf(answer)).toBe(401);
    expect(jsonOf(answer)).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it('an admin key and a mismatched OpenAI-Organization are refused before the body too', async () => {
    const admin = await sendHeadersOnly('/v1/chat/completions', [`Authorization: Bearer ${t.adminKey}`]);
    expect(statusOf(admin)).toBe(403);
    const mismatched = await sendHeadersOnly('/v1/chat/completions', [`Authorization: Bearer ${projectKey}`, 'OpenAI-Organization: org-someoneelse']);
    expect(statusOf(mismatched)).toBe(401);
    expect(jsonOf(mismatched).error.code).toBe('mismatched_organization');
  });

  it('a valid key still has its body read and forwarded, and its connection kept', async () => {
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${projectKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('connection')).not.toBe('close');
    expect((await res.json()).object).toBe('chat.completion');
  });

  it('a request refused for its key but carrying no body keeps its connection', async () => {
    const res = await fetch(`${t.url}/v1/models`, { headers: { authorization: 'Bearer sk-tg-nope' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('connection')).not.toBe('close');
  });

  it.each([
    ['/auth/login', 64 * 1024],
    ['/auth/signup', 64 * 1024],
    ['/auth/invites/lookup', 64 * 1024],
    ['/auth/password', 64 * 1024],
    ['/v1/secret-scanning/reports', 1024 * 1024],
  ])('%s, open to anyone, reads at most its own small limit (413 past it)', async (path, limit) => {
    const sized = (n: number) => JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(n) });
    const over = await fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: sized(limit + 1) });
    expect(over.status).toBe(413);
    // Chunked, without a declared length: cut when it passes the limit as well.
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 4; i++) c.enqueue(new TextEncoder().encode(' '.repeat(limit / 2)));
        c.close();
      },
    });
    const chunked = await fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
    // Within it, the route answers on its merits (refused for what it says, never for its size).
    const within = await fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: sized(limit - 1024) });
    expect(within.status).not.toBe(413);
    expect(within.status).toBeLessThan(500);
  });

  describe('a key that changes while its body arrives is checked again before the request is forwarded', () => {
    /** Sends the headers and the first bytes of a chat body, then, after `between`, the rest; resolves with the answer. */
    async function bodyAfter(key: string, between: () => Promise<void>): Promise<{ status: number; body: string }> {
      const body = JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'written after the change' }] });
      const s = net.connect(Number(new URL(t.url).port), '127.0.0.1');
      let text = '';
      s.on('data', (c) => {
        text += c.toString('latin1');
      });
      const closed = new Promise<void>((r) => s.on('close', () => r()));
      s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body.slice(0, 5)}`);
      await new Promise((r) => setTimeout(r, 100));
      await between();
      s.end(body.slice(5));
      await closed;
      return { status: Number(text.split(' ')[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) };
    }
    const key = async (extra: Record<string, unknown> = {}) => (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'held', ...extra } })).body as { id: string; value: string };

    it('revoked: 401, not forwarded', async () => {
      const k = await key();
      const answer = await bodyAfter(k.value, async () => {
        expect((await t.api('DELETE', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}`)).status).toBe(200);
      });
      expect(answer.status).toBe(401);
      expect(answer.body).not.toContain('written after the change');
    });

    it('made read-only: 403', async () => {
      const k = await key();
      const answer = await bodyAfter(k.value, async () => {
        expect((await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}`, { body: { permissions: 'read_only' } })).status).toBe(200);
      });
      expect(answer.status).toBe(403);
    });

    it("another key's change does not refuse it; nothing changed, it goes through", async () => {
      const k = await key();
      const other = await key();
      const answer = await bodyAfter(k.value, async () => {
        await t.api('DELETE', `${ORG}/projects/${t.defaultProjectId}/api_keys/${other.id}`);
      });
      expect(answer.status).toBe(200);
      expect((await bodyAfter(k.value, async () => {})).status).toBe(200);
    });
  });
});
