import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listenOnLoopback } from './harness/provider-config.js';
import { defaultProjectKeys, gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';
import { chatCompletionJson } from './harness/fake-upstream.js';

// A client that hangs up while the first answer's body is still arriving gets no other key and no fallback tried
// (docs/providers.md: "no other key is tried (that would start a generation nobody reads, billed to the key)"; "No
// fallback for a client that left"). Found by an outside review: the client-gone check ran before a wait (the dropped
// answer's body drained, a 429's body read to judge it) and was not repeated after it, so the next key or fallback
// was sent anyway, a whole answer read on without its client and billed.

/** How long the failing answers' bodies take after their headers: the client hangs up well before. */
const BODY_MS = 600;
const HANG_UP_MS = 150;

interface Upstream {
  server: Server;
  /** Requests the good key or provider received. */
  good: number;
}

/** One upstream, its behaviour chosen by the key it is sent: sk-slow… 503, sk-slow429… 429 (a key's limit), both with
 * their headers at once and their body BODY_MS later; any other key a chat completion. */
async function startUpstream(): Promise<{ u: Upstream; url: string }> {
  const u: Upstream = { server: createServer(), good: 0 };
  u.server.on('request', async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    const body = JSON.parse(text || '{}') as { model?: string };
    const auth = String(req.headers.authorization ?? '');
    const slow = auth.includes('sk-slow429') ? 429 : auth.includes('sk-slow') ? 503 : 0;
    if (slow !== 0) {
      res.writeHead(slow, { 'content-type': 'application/json', 'retry-after': '1' });
      res.flushHeaders();
      setTimeout(() => {
        const message = slow === 429 ? 'Rate limit reached for gpt-4.1 in organization org-x on requests per min (RPM): Limit 3, Used 3, Requested 1.' : 'overloaded';
        res.end(JSON.stringify({ error: { message, type: slow === 429 ? 'requests' : 'server_error', code: slow === 429 ? 'rate_limit_exceeded' : null } }));
      }, BODY_MS);
      return;
    }
    u.good++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(chatCompletionJson(body.model ?? 'gpt-4o', 'good', { prompt_tokens: 10, completion_tokens: 1000, total_tokens: 1010 }));
  });
  return { u, url: `${await listenOnLoopback(u.server)}/v1` };
}

describe('a client that hung up while the first answer arrived', () => {
  let up: Upstream;
  let t: TestServer;

  beforeAll(async () => {
    const started = await startUpstream();
    up = started.u;
    const file = gatewayConfigFile({
      providers: [
        { name: 'main', base_url: started.url, api_key_env: 'KEY_SLOW' },
        { name: 'main429', base_url: started.url, api_key_env: 'KEY_SLOW429' },
        { name: 'alt', base_url: started.url, api_key_env: 'KEY_GOOD' },
        {
          name: 'pool',
          base_url: started.url,
          credentials: [
            { api_key_env: 'KEY_SLOW', weight: 1000 },
            { api_key_env: 'KEY_GOOD', weight: 1 },
          ],
        },
      ],
      routes: {
        'gpt-4o': { provider: 'main', fallbacks: [{ provider: 'alt' }] },
        'gpt-4.1': { provider: 'main429', fallbacks: [{ provider: 'alt' }] },
        'gpt-4.1-mini': { provider: 'main', fallbacks: [{ model: 'gpt-4.1-nano', provider: 'alt' }] },
        'gpt-4o-mini': 'pool',
      },
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, KEY_SLOW: 'sk-slow-0000', KEY_SLOW429: 'sk-slow429-0000', KEY_GOOD: 'sk-good-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });
  beforeEach(() => {
    up.good = 0;
  });

  /** Sends `body` to `path` with a new key, hangs up after HANG_UP_MS, and returns the key's usage events once written. */
  async function hangUp(path: string, body: Record<string, unknown>) {
    const key = await defaultProjectKeys(t).newKey('hangs-up');
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), HANG_UP_MS);
    const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${key.value}` };
    if (path === '/v1/messages') headers['anthropic-version'] = '2023-06-01';
    await expect(fetch(`${t.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal: abort.signal })).rejects.toThrow();
    clearTimeout(timer);
    await new Promise((r) => setTimeout(r, BODY_MS + 600));
    return usageEventsOf(t, key.id);
  }

  const chat = (model: string) => ({ model, messages: [{ role: 'user', content: 'hi' }] });
  const messages = (model: string) => ({ model, max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });

  it.each([
    ['a route fallback after a 503', '/v1/chat/completions', chat('gpt-4o')],
    ['a route fallback after a key-limit 429 of a one-key provider', '/v1/chat/completions', chat('gpt-4.1')],
    ['a route fallback to another model', '/v1/chat/completions', chat('gpt-4.1-mini')],
    ['another key of a pool after a 503', '/v1/chat/completions', chat('gpt-4o-mini')],
    ['a translated route fallback after a 503', '/v1/messages', messages('gpt-4o')],
    ['a translated route fallback after a key-limit 429', '/v1/messages', messages('gpt-4.1')],
    ['another key of a pool, translated', '/v1/messages', messages('gpt-4o-mini')],
  ])('%s is not tried, and nothing is billed', async (_, path, body) => {
    const events = await hangUp(path, body);
    expect(up.good).toBe(0);
    expect(events).toHaveLength(1);
    // Recorded as the answer that ended it (an error answer whose client left is, as when no fallback is configured).
    expect(events[0]).toMatchObject({ outcome: 'upstream_error', billable: 0, cost_nanousd: 0 });
    expect([429, 503]).toContain(events[0].status);
    expect(events[0].provider).not.toBe('alt');
    expect(events[0].model).toBe(body.model);
    expect(events[0].credential).toBe('KEY_SLOW' + (events[0].status === 429 ? '429' : ''));
  });
});
