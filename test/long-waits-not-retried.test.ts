import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness/server.js';

// A rate limit refusal whose wait is long (an RPD's day, a project RPD's hours, a TPM bucket deep in debt) tells the
// SDKs not to retry it: OpenAI's Node SDK sleeps whatever retry-after-ms says, unbounded, and Anthropic's up to 24.8
// days, inside one create() call (its request timeout does not cover the sleep). Found by a review: an RPD refusal
// held the openai client for 24 hours. A short wait (an RPM's seconds) is still retried, as OpenAI's own are.

const ORG = '/v1/organization';
const chat = { model: 'tollgate-echo', messages: [{ role: 'user' as const, content: 'hi' }] };

describe('rate limit refusals and the SDKs’ retries', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const keyWith = async (rate_limits: Record<string, number>) =>
    (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k', rate_limits } })).body.value as string;
  /** The call's outcome, or 'still waiting' when it has not settled within `ms`. */
  const within = <T>(p: Promise<T>, ms: number) =>
    Promise.race([p.then(() => 'answered', (e: unknown) => e), new Promise((r) => setTimeout(() => r('still waiting'), ms))]);

  it('a daily limit’s refusal says x-should-retry: false, and the SDKs give up at once', async () => {
    const key = await keyWith({ max_requests_per_1_day: 1 });
    const openai = new OpenAI({ apiKey: key, baseURL: `${t.url}/v1` });
    await openai.chat.completions.create(chat);
    const raw = await fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(chat) });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('x-should-retry')).toBe('false');
    // The wait is still told, for a client that reads it.
    expect(Number(raw.headers.get('retry-after'))).toBeGreaterThan(60);
    expect(await within(openai.chat.completions.create(chat), 10_000)).toBeInstanceOf(OpenAI.RateLimitError);
    const anthropic = new Anthropic({ apiKey: key, baseURL: t.url });
    expect(await within(anthropic.messages.create({ ...chat, max_tokens: 5 }), 10_000)).toBeInstanceOf(Anthropic.RateLimitError);
  });

  it('a per-minute limit’s refusal is left to the SDKs to retry', async () => {
    const key = await keyWith({ max_requests_per_1_minute: 1 });
    const first = await fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(chat) });
    expect(first.status).toBe(200);
    const raw = await fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(chat) });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('x-should-retry')).toBeNull();
    expect(Number(raw.headers.get('retry-after-ms'))).toBeLessThanOrEqual(60_000);
  });
});
