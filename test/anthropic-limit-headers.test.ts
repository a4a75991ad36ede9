import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness/server.js';

// Tollgate's own limits speak the client's API in their headers: Anthropic's clients read
// `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}` (the reset an RFC 3339 time), as Anthropic answers
// them, on its 429s and on the answers it lets through. Found by an outside review: /v1/messages answered OpenAI's
// `x-ratelimit-*` names only (resets as `1m0s`), which no Anthropic client reads. OpenAI's names stay beside them.

const ORG = '/v1/organization';
const NOW = Date.UTC(2026, 11, 4, 10, 0, 0);

describe("Tollgate's limits on Anthropic's Messages API", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' }, { clock: () => NOW });
  });
  afterAll(async () => {
    await t?.close();
  });

  const keyWith = async (rate_limits: object) =>
    (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'limited', rate_limits } })).body as { value: string };
  const messages = (key: string) =>
    fetch(`${t.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tollgate-echo', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    });

  it("a 429 and the answer before it carry Anthropic's rate-limit headers, resets in RFC 3339 from the clock", async () => {
    const key = await keyWith({ max_requests_per_1_minute: 1, max_tokens_per_1_minute: 10_000 });
    const first = await messages(key.value);
    expect(first.status).toBe(200);
    expect(first.headers.get('anthropic-ratelimit-requests-limit')).toBe('1');
    expect(first.headers.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    expect(first.headers.get('anthropic-ratelimit-requests-reset')).toBe('2026-12-04T10:01:00Z');
    expect(first.headers.get('anthropic-ratelimit-tokens-limit')).toBe('10000');
    expect(first.headers.get('anthropic-ratelimit-tokens-reset')).toMatch(/^2026-12-04T10:0\d:\d\dZ$/);
    const second = await messages(key.value);
    expect(second.status).toBe(429);
    expect(second.headers.get('anthropic-ratelimit-requests-limit')).toBe('1');
    expect(second.headers.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    expect(second.headers.get('anthropic-ratelimit-requests-reset')).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(second.headers.get('anthropic-ratelimit-requests-reset')).toBe('2026-12-04T10:01:00Z');
    expect(second.headers.get('retry-after')).toBe('60');
    // OpenAI's names stay for clients that read them.
    expect(second.headers.get('x-ratelimit-limit-requests')).toBe('1');
    expect((await second.json()).error.type).toBe('rate_limit_error');
  });

  it("OpenAI's clients get OpenAI's names only", async () => {
    const key = await keyWith({ max_requests_per_1_minute: 1 });
    const chat = () =>
      fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'hi' }] }),
      });
    const first = await chat();
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('1');
    expect(first.headers.get('anthropic-ratelimit-requests-limit')).toBeNull();
    const second = await chat();
    expect(second.status).toBe(429);
    expect(second.headers.get('x-ratelimit-reset-requests')).toBe('1m0s');
    expect(second.headers.get('anthropic-ratelimit-requests-limit')).toBeNull();
  });
});
