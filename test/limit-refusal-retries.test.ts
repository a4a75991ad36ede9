import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundTokens } from '../src/core/estimate.js';
import { describeWithRedis } from './harness/backends.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// What a spend limit's 429 tells a client, in process and on Redis: the rate headers of the state the refused request
// left unchanged, and `x-should-retry: false` when nothing in flight can make room for it before the period resets
// (OpenAI's SDKs retried such a refusal twice; found by an outside review), but not while requests in flight hold
// reservations whose settling may let it through.

const ORG = '/v1/organization';
const MODEL = 'm-refusals';
/** $1,000 per 1M tokens: a token costs a tenth of a cent. */
const PRICING = { [MODEL]: { input: 1000, output: 1000 } };
/** What the upstream reports for an answer, unless the prompt asks it to hold: 40 prompt tokens and one answered. */
const SPENT_TOKENS = 41;
const body = (content: string) => ({ model: MODEL, messages: [{ role: 'user' as const, content }], max_tokens: 1 });
/** Tokens a hard cap reserves for `body('go')` (its bounded input and max_tokens). */
const reserved = (() => {
  const b = boundTokens(body('go'), '/chat/completions', 16_384, 1_000_000);
  return b.input + b.output;
})();
/** A spend limit (cents) one such reservation fits in, with less than a spent request's worth of room beside it. */
const capCents = Math.ceil((reserved + 5) / 10);

/** An OpenAI upstream; a prompt "hold" is answered once `release()` is called, and costs two tokens. */
function upstream() {
  let release: () => void = () => {};
  let held = new Promise<void>((r) => (release = r));
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const asked = JSON.parse(Buffer.concat(chunks).toString() || '{}');
    const hold = asked.messages?.[0]?.content === 'hold';
    if (hold) await held;
    const usage = hold ? { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } : { prompt_tokens: SPENT_TOKENS - 1, completion_tokens: 1, total_tokens: SPENT_TOKENS };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: asked.model, choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage }));
  });
  return {
    server,
    release: () => {
      release();
      held = new Promise<void>((r) => (release = r));
    },
  };
}

function suite(redisUrl: string | null) {
  let t: TestServer;
  let up: ReturnType<typeof upstream>;
  beforeAll(async () => {
    up = upstream();
    await new Promise<void>((r) => up.server.listen(0, '127.0.0.1', r));
    const file = gatewayConfigFile({
      providers: [{ name: 'up', base_url: `http://127.0.0.1:${(up.server.address() as AddressInfo).port}/v1`, api_key_env: 'UP_KEY' }],
      routes: { 'm-*': 'up' },
      pricing: PRICING,
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000', ...(redisUrl ? { REDIS_URL: redisUrl } : {}) } });
  });
  afterAll(async () => {
    up?.release();
    await t?.close();
    up?.server.close();
  });
  const newKey = async (extra: Record<string, unknown>) =>
    (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'refusals', spend_limit: { threshold_amount: capCents }, ...extra } })).body;
  const post = (key: string, content: string) =>
    fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body(content)) });
  /** OpenAI's client with its default two retries, counting the requests it sends (`seen` also called with each answer). */
  const client = (key: string, seen: (r: Response) => void = () => {}) => {
    const sent = { count: 0 };
    const sdk = new OpenAI({
      apiKey: key,
      baseURL: `${t.url}/v1`,
      maxRetries: 2,
      fetch: async (url, init) => {
        sent.count++;
        const r = await fetch(url, init);
        seen(r);
        return r;
      },
    });
    return { sdk, sent };
  };

  it('reports the request limit as the refused request left it', async () => {
    const k = await newKey({ rate_limits: { max_requests_per_1_minute: 10 } });
    const ok = await post(k.value, 'go');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-ratelimit-remaining-requests')).toBe('9');
    const resetAfterOne = ok.headers.get('x-ratelimit-reset-requests');
    for (let i = 0; i < 2; i++) {
      const refused = await post(k.value, 'go');
      expect(refused.status).toBe(429);
      expect((await refused.json()).error.code).toBe('api_key_spend_limit_exceeded');
      // Not charged: still 9, and the reset of one request used (6 s), not of two.
      expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('9');
      expect(refused.headers.get('x-ratelimit-reset-requests')).toBe(resetAfterOne);
    }
  });

  it("tells OpenAI's client not to retry a spend limit that nothing in flight can free", async () => {
    const k = await newKey({});
    expect((await post(k.value, 'go')).status).toBe(200);
    const { sdk, sent } = client(k.value);
    const err = await sdk.chat.completions.create(body('go')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('api_key_spend_limit_exceeded');
    expect((err as InstanceType<typeof OpenAI.RateLimitError>).headers.get('x-should-retry')).toBe('false');
    expect((err as Error).message).toContain('retrying will not help');
    expect(sent.count).toBe(1);
  });

  it('lets the client retry while a request in flight holds the room it needs, and the retry gets through', async () => {
    const k = await newKey({});
    const inFlight = post(k.value, 'hold');
    // Admitted once the upstream is asked: wait until the cap is seen held.
    let first: Response | null = null;
    for (let i = 0; i < 100 && first === null; i++) {
      const r = await post(k.value, 'go');
      if (r.status === 429) first = r;
      else await new Promise((res) => setTimeout(res, 20));
    }
    if (first === null) throw new Error('the request in flight never held the cap');
    expect(first.headers.get('x-should-retry')).toBeNull();
    expect((await first.json()).error.message).toContain('in flight');
    // The SDK is refused while the held request runs, and retries; the held request ends before its retry.
    const { sdk, sent } = client(k.value, (r) => {
      if (r.status === 429) up.release();
    });
    const answer = await sdk.chat.completions.create(body('go'));
    expect(answer.choices[0].message.content).toBe('ok');
    expect(sent.count).toBe(2);
    expect((await inFlight).status).toBe(200);
  });

  it('keeps retrying for a rate limit that refills', async () => {
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'rpm', rate_limits: { max_requests_per_1_minute: 1 } } })).body;
    expect((await post(k.value, 'go')).status).toBe(200);
    const refused = await post(k.value, 'go');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-should-retry')).toBeNull();
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });
}

describe('a spend limit refusal in process', () => suite(null));
describeWithRedis('a spend limit refusal', (redisUrl) => suite(redisUrl));
