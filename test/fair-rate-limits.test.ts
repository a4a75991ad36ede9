import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A provider's 429 took the key it was sent with out of rotation, for every model and every client, and the request
// went on to the next key. Found by a review: one Tollgate key holding nothing but its own request could take every
// key of a provider away from everyone. A request too large for the limit ("Request too large for gpt-4o … Limit
// 30000, Requested 52000", Anthropic's "… of 8,000 output tokens per minute" for a max_tokens over it) gets that 429
// from every key, and cooled each one; a client exhausting one model cooled the key for all models. Now a 429 the
// request brought on itself is answered as it is (no key cooled, no other key or fallback tried), the key's limit
// cools it for that model only, and an account out of quota sets the key aside for every request, reported.

const KEYS = { A: 'sk-prov-aaaa', B: 'sk-prov-bbbb', C: 'sk-prov-cccc' };
/** The id an answer carries to tell which key served it: the key's name, not the key (a key in an answer is cleared). */
const servedBy = (key: string) => `served by ${Object.entries(KEYS).find(([, v]) => v === key)?.[0] ?? '?'}`;

interface Up {
  server: Server;
  url: string;
  /** `${key} ${model}` of every request. */
  seen: string[];
  /** `${key} ${model}` pairs whose limit is reached: a 429 "Rate limit reached" with a retry-after. */
  limited: Set<string>;
  /** Keys whose account is out of quota. */
  broke: Set<string>;
}

async function startProvider(): Promise<Up> {
  const up: Up = { server: null as unknown as Server, url: '', seen: [], limited: new Set(), broke: new Set() };
  up.server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { model?: string; max_tokens?: number; messages?: unknown };
    const key = String(req.headers['x-api-key'] ?? String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
    const model = String(body.model);
    up.seen.push(`${key} ${model}`);
    const json = (status: number, answer: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(answer));
    };
    const limits = { 'x-ratelimit-limit-tokens': '30000', 'x-ratelimit-remaining-tokens': '30000', 'x-ratelimit-reset-tokens': '0s', 'retry-after': '60' };
    if (req.url === '/v1/messages') {
      // Anthropic counts max_tokens against output tokens per minute up front.
      if ((body.max_tokens ?? 0) > 8000) {
        const message = 'This request would exceed the rate limit for your organization (0dccdde6) of 8,000 output tokens per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.';
        return json(429, { type: 'error', error: { type: 'rate_limit_error', message } }, { 'retry-after': '60', 'anthropic-ratelimit-output-tokens-limit': '8000', 'anthropic-ratelimit-output-tokens-remaining': '8000' });
      }
      return json(200, { id: servedBy(key), type: 'message', role: 'assistant', model, content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 3, output_tokens: 1 } });
    }
    if (up.broke.has(key)) {
      return json(429, { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } });
    }
    if (JSON.stringify(body.messages ?? '').includes('HUGE')) {
      const message = `Request too large for ${model} in organization org-abc on tokens per min (TPM): Limit 30000, Requested 52000. The input or output tokens must be reduced in order to run successfully.`;
      return json(429, { error: { message, type: 'tokens', param: null, code: 'rate_limit_exceeded' } }, limits);
    }
    if (up.limited.has(`${key} ${model}`)) {
      const message = `Rate limit reached for ${model} in organization org-abc on tokens per min (TPM): Limit 30000, Used 29990, Requested 20. Please try again in 60s.`;
      return json(429, { error: { message, type: 'tokens', param: null, code: 'rate_limit_exceeded' } }, { ...limits, 'x-ratelimit-remaining-tokens': '10' });
    }
    json(200, { id: servedBy(key), object: 'chat.completion', created: 1, model, choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } });
  });
  await new Promise<void>((r) => up.server.listen(0, '127.0.0.1', r));
  up.url = `http://127.0.0.1:${(up.server.address() as AddressInfo).port}/v1`;
  return up;
}

describe("a provider's 429 takes a key away only as far as it is about that key", () => {
  let up: Up;
  let t: TestServer;
  let key: string;
  const chat = (model: string, content = 'hi', extra: Record<string, unknown> = {}) =>
    t.api('POST', '/v1/chat/completions', { key, body: { model, messages: [{ role: 'user', content }], ...extra } });
  const metric = async (name: string, credential: string, provider = 'pooled') => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const m = text.match(new RegExp(`${name}\\{provider="${provider}",credential="${credential}"\\} (\\d+)`));
    return m ? Number(m[1]) : null;
  };
  const attempts = (from: number, model: string) => up.seen.slice(from).filter((s) => s.endsWith(` ${model}`));

  beforeAll(async () => {
    up = await startProvider();
    const file = gatewayConfigFile({
      providers: [
        { name: 'pooled', base_url: up.url, credentials: [{ api_key_env: 'PROV_A' }, { api_key_env: 'PROV_B' }] },
        { name: 'alt', base_url: up.url, api_key_env: 'PROV_C' },
        { name: 'claude', kind: 'anthropic', base_url: up.url, credentials: [{ api_key_env: 'PROV_A' }, { api_key_env: 'PROV_B' }] },
      ],
      routes: {
        'gpt-4o': { provider: 'pooled', fallbacks: [{ provider: 'alt' }] },
        'gpt-4.1': { provider: 'alt', fallbacks: [{ provider: 'pooled' }] },
        'claude-*': 'claude',
      },
      default_provider: 'pooled',
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, PROV_A: KEYS.A, PROV_B: KEYS.B, PROV_C: KEYS.C } });
    key = (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'client' } })).body.value;
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });
  beforeEach(() => {
    up.limited.clear();
    up.broke.clear();
  });

  it('a request too large for the limit gets its 429 as the provider said it, from one key: both keys go on serving', async () => {
    const from = up.seen.length;
    const r = await chat('gpt-4o', 'HUGE');
    expect(r.status).toBe(429);
    expect(r.body.error.message).toMatch(/^Request too large for gpt-4o/);
    expect(r.body.error.code).toBe('rate_limit_exceeded');
    // Not retried on the other key, nor on the route's fallback: each would say the same.
    expect(attempts(from, 'gpt-4o')).toHaveLength(1);
    // Streamed, and many at once: still one attempt each, nothing cooled.
    const stream = await chat('gpt-4o', 'HUGE', { stream: true });
    expect(stream.status).toBe(429);
    const many = await Promise.all(Array.from({ length: 10 }, () => chat('gpt-4o', 'HUGE')));
    expect(many.map((m) => m.status)).toEqual(Array(10).fill(429));
    expect(attempts(from, 'gpt-4o')).toHaveLength(12);
    for (const c of ['PROV_A', 'PROV_B']) expect(await metric('tollgate_provider_credential_cool_downs_total', c)).toBe(0);
    // Every other request still goes to both keys, by weight.
    const served = new Set<string>();
    for (let i = 0; i < 24; i++) {
      const ok = await chat('gpt-4o');
      expect(ok.status).toBe(200);
      served.add(ok.body.id);
    }
    expect([...served].sort()).toEqual([servedBy(KEYS.A), servedBy(KEYS.B)]);
  });

  it("a provider with one key: its request-too-large 429 does not go round the route's fallbacks", async () => {
    const from = up.seen.length;
    const r = await chat('gpt-4.1', 'HUGE');
    expect(r.status).toBe(429);
    expect(r.body.error.message).toMatch(/^Request too large for gpt-4.1/);
    expect(attempts(from, 'gpt-4.1')).toEqual([`${KEYS.C} gpt-4.1`]);
    // Its key's limit reached still falls back (the pooled provider serves it).
    up.limited.add(`${KEYS.C} gpt-4.1`);
    const fell = await chat('gpt-4.1');
    expect(fell.status).toBe(200);
    expect([servedBy(KEYS.A), servedBy(KEYS.B)]).toContain(fell.body.id);
  });

  it("Anthropic's 429 for a max_tokens over the output limit, natively and translated: answered once, no key cooled", async () => {
    const from = up.seen.length;
    const native = await t.api('POST', '/v1/messages', { key, body: { model: 'claude-sonnet-4-5', max_tokens: 64_000, messages: [{ role: 'user', content: 'hi' }] } });
    expect(native.status).toBe(429);
    expect(native.body.error.type).toBe('rate_limit_error');
    expect(native.body.error.message).toMatch(/8,000 output tokens per minute/);
    const translated = await chat('claude-sonnet-4-5', 'hi', { max_tokens: 64_000, stream: true });
    expect(translated.status).toBe(429);
    expect(translated.body.error.message).toMatch(/8,000 output tokens per minute/);
    expect(attempts(from, 'claude-sonnet-4-5')).toHaveLength(2);
    for (const c of ['PROV_A', 'PROV_B']) expect(await metric('tollgate_provider_credential_cool_downs_total', c, 'claude')).toBe(0);
    const served = new Set<string>();
    for (let i = 0; i < 24; i++) {
      const ok = await t.api('POST', '/v1/messages', { key, body: { model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] } });
      expect(ok.status).toBe(200);
      served.add(ok.body.id);
    }
    expect([...served].sort()).toEqual([servedBy(KEYS.A), servedBy(KEYS.B)]);
  });

  it("a key's limit reached for one model cools it for that model only, and the request fails over as before", async () => {
    up.limited.add(`${KEYS.A} gpt-4o-mini`);
    const cooled = (await metric('tollgate_provider_credential_cool_downs_total', 'PROV_A')) as number;
    const from = up.seen.length;
    for (let i = 0; i < 24; i++) {
      const r = await chat('gpt-4o-mini');
      expect(r.status).toBe(200);
      expect(r.body.id).toBe(servedBy(KEYS.B));
    }
    // Tried with key A once (the pick is random): cooled for gpt-4o-mini after it, for the 60 s the provider said.
    expect(attempts(from, 'gpt-4o-mini').filter((s) => s.startsWith(KEYS.A))).toEqual([`${KEYS.A} gpt-4o-mini`]);
    expect(await metric('tollgate_provider_credential_cool_downs_total', 'PROV_A')).toBe(cooled + 1);
    expect(await metric('tollgate_provider_credential_usable', 'PROV_A')).toBe(1);
    // Key A still serves gpt-4o's clients.
    const served = new Set<string>();
    for (let i = 0; i < 24; i++) served.add((await chat('gpt-4o')).body.id);
    expect(served).toContain(servedBy(KEYS.A));
  });

  it('a key whose account is out of quota is set aside for every request, reported, and the requests go to the other key', async () => {
    up.broke.add(KEYS.B);
    const from = up.seen.length;
    // Until a request has met key B (each picks a key at random: ten could all pick A, one time in 1,024; then the
    // gpt-4o-mini requests below, with A cooling for that model since the test before, would meet B first and get its
    // 429 with no usable key left to go on to).
    for (let i = 0; i < 200 && !up.seen.slice(from).some((s) => s.startsWith(KEYS.B)); i++) expect((await chat('gpt-4o')).status).toBe(200);
    for (const model of [...Array(10).fill('gpt-4o'), ...Array(10).fill('gpt-4o-mini'), 'o3', 'o3']) {
      const r = await chat(model);
      expect(r.status, model).toBe(200);
      expect(r.body.id).toBe(servedBy(KEYS.A));
    }
    expect(up.seen.slice(from).filter((s) => s.startsWith(KEYS.B)).length).toBeLessThanOrEqual(1);
    expect(await metric('tollgate_provider_credential_usable', 'PROV_B')).toBe(0);
    const entries = (await t.api('GET', '/v1/organization/audit_logs?event_types=provider_credential.set_aside')).body.data as Array<Record<string, { credential: string; status: number; scope: string }>>;
    const quota = entries.map((e) => e['provider_credential.set_aside']).filter((e) => e.credential === 'PROV_B' && e.status === 429);
    expect(quota).toHaveLength(1);
    expect(quota[0].scope).toBe('*');
    // Every key out of quota: the request is still tried once, and the client gets the provider's 429.
    up.broke.add(KEYS.A);
    const r = await chat('gpt-4o-mini');
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe('insufficient_quota');
  });
});
