import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, connect, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundTokens } from '../src/core/estimate.js';
import { maxInputTokens } from '../src/core/model-limits.js';
import { RATE_LIMIT_UNLIMITED } from '../src/core/project-rate-limits.js';
import type { RedisLimitStore } from '../src/infra/redis-limit-store.js';
import { describeEachDatabase, describeWithRedis } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

const ORG = '/v1/organization';
// tollgate-echo priced at $1,000 per 1M tokens: one token costs 1,000,000 nano-dollars.
const PRICE_NANO_PER_TOKEN = 1_000_000;
/** Tokens an echo answer to `chat()` really uses (8 prompt + 1 completion), whatever its max_tokens. */
const REAL_TOKENS = 9;

/**
 * Tokens a hard spend cap reserves for `chat()` with these extras: the body's input bounded from above (its UTF-8
 * bytes, every token being at least one) and its max_tokens; settled to REAL_TOKENS once answered.
 */
function reservedTokens(extra: Record<string, unknown> = {}): number {
  const r = boundTokens({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1, ...extra }, '/chat/completions', 16_384, maxInputTokens('tollgate-echo'));
  return r.input + r.output;
}

/** chat()'s extra for tests whose arithmetic uses a reservation of max_tokens 5. */
const FIVE = { max_tokens: 5 };

/** How many calls, one after another, a hard cap of `capTokens` admits: each needs room for its reservation. */
function sequentialFits(capTokens: number, reserved: number, alreadyUsed = 0): number {
  return capTokens < alreadyUsed + reserved ? 0 : Math.floor((capTokens - alreadyUsed - reserved) / REAL_TOKENS) + 1;
}

function pricedConfig(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tollgate-lim-')), 'tollgate.config.json');
  writeFileSync(file, JSON.stringify({ pricing: { 'tollgate-echo': { input: 1000, cached_input: 1000, output: 1000 } } }));
  return file;
}

async function receiver() {
  const got: Array<{ headers: Record<string, unknown>; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const chat = (t: TestServer, key: string, extra: Record<string, unknown> = {}) =>
  fetch(`${t.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1, ...extra }),
  });

describeEachDatabase('limits and budgets', (backend) => {
  let t: TestServer;
  let now = Date.UTC(2026, 10, 30, 23, 58, 0);
  beforeAll(async () => {
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: pricedConfig() }, clock: () => now });
  });
  afterAll(async () => t?.close());
  const newKey = async (body: Record<string, unknown>, project = t.defaultProjectId) =>
    (await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'lim', ...body } })).body;

  it('stores key limits and returns them by get and list', async () => {
    const k = await newKey({ rate_limits: { max_requests_per_1_minute: 10 }, spend_limit: { threshold_amount: 500 }, request_quota: { max_requests: 1000, interval: 'month' } });
    const got = (await t.api('GET', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}`)).body;
    expect(got).toMatchObject({ rate_limits: { max_requests_per_1_minute: 10 }, spend_limit: { threshold_amount: 500 }, request_quota: { max_requests: 1000, interval: 'month' } });
    const upd = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}`, { body: { spend_limit: null } });
    expect(upd.body.spend_limit).toBeNull();
    expect(upd.body.request_quota).toMatchObject({ max_requests: 1000 });
    const bad = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { request_quota: { max_requests: 0 } } });
    expect(bad.status).toBe(400);
    const badInterval = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { spend_limit: { threshold_amount: 1, interval: 'fortnight' } } });
    expect(badInterval.status).toBe(400);
  });

  it('enforces a key RPM with OpenAI headers, a 429 naming the limit, and a sliding refill', async () => {
    const k = await newKey({ rate_limits: { max_requests_per_1_minute: 3 } });
    const seen: Array<string | null> = [];
    for (let i = 0; i < 3; i++) {
      const r = await chat(t, k.value);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-limit-requests')).toBe('3');
      seen.push(r.headers.get('x-ratelimit-remaining-requests'));
    }
    expect(seen).toEqual(['2', '1', '0']);
    const refused = await chat(t, k.value);
    expect(refused.status).toBe(429);
    const body = await refused.json();
    expect(body.error).toMatchObject({ code: 'rate_limit_exceeded', type: 'rate_limit_error' });
    expect(body.error.message).toContain('requests per min (RPM): Limit 3');
    expect(Number(refused.headers.get('retry-after'))).toBe(20);
    const sdk = await new OpenAI({ apiKey: k.value, baseURL: `${t.url}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'tollgate-echo', messages: [] }).catch((e) => e);
    expect(sdk).toBeInstanceOf(OpenAI.RateLimitError);
    now += 20_000; // one request refills every 20 s
    expect((await chat(t, k.value)).status).toBe(200);
    expect((await chat(t, k.value)).status).toBe(429);
  });

  it('tells a refused client to retry when every refusing limit lets it through, not when the first one does', async () => {
    // An RPM and an RPD both used up: the minute's limit frees up in 30 s, the day's in 12 h. Retrying after 30 s
    // was another 429 (found by a review); the answer names the day's limit and its wait.
    const k = await newKey({ rate_limits: { max_requests_per_1_minute: 2, max_requests_per_1_day: 2 } });
    for (let i = 0; i < 2; i++) expect((await chat(t, k.value)).status).toBe(200);
    const refused = await chat(t, k.value);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(11 * 3600);
    expect((await refused.json()).error.message).toContain('requests per day (RPD)');
    expect(refused.headers.get('x-ratelimit-reset-requests')).toMatch(/h/);
    now += 30_000;
    expect((await chat(t, k.value)).status).toBe(429);
    now += retryAfter * 1000 - 30_000;
    expect((await chat(t, k.value)).status).toBe(200);
  });

  it('applies project-wide and per-model limits across keys', async () => {
    const p = (await t.api('POST', `${ORG}/projects`, { body: { name: 'limited' } })).body.id;
    const rl = await t.api('POST', `${ORG}/projects/${p}/rate_limits`, { body: { model: 'tollgate-echo', max_requests_per_1_minute: 2 } });
    expect(rl.body).toMatchObject({ object: 'project.rate_limit', id: 'rl-tollgate-echo', model: 'tollgate-echo', max_requests_per_1_minute: 2 });
    const list = await t.api('GET', `${ORG}/projects/${p}/rate_limits`);
    expect(list.body.data).toEqual([rl.body]); // the one model this instance answers, now with its limit
    const a = await newKey({}, p);
    const b = await newKey({}, p);
    expect((await chat(t, a.value)).status).toBe(200);
    expect((await chat(t, b.value)).status).toBe(200);
    const r = await chat(t, a.value);
    expect(r.status).toBe(429);
    expect((await r.json()).error.message).toContain(`project ${p} for tollgate-echo`);
    const mod = await t.api('POST', `${ORG}/projects/${p}/rate_limits/${rl.body.id}`, { body: { max_requests_per_1_minute: 100 } });
    expect(mod.body.max_requests_per_1_minute).toBe(100);
    expect((await chat(t, b.value)).status).toBe(200);
    const dup = await t.api('POST', `${ORG}/projects/${p}/rate_limits`, { body: { model: 'tollgate-echo', max_requests_per_1_minute: 1 } });
    expect(dup.status).toBe(409);
    const empty = await t.api('POST', `${ORG}/projects/${p}/rate_limits`, { body: { model: 'gpt-4o' } });
    expect(empty.status).toBe(400);
    expect(empty.body.error.message).toContain('at least one of');
  });

  it('reserves TPM from max_tokens and settles to the real count', async () => {
    const k = await newKey({ rate_limits: { max_tokens_per_1_minute: 100 } });
    const first = await chat(t, k.value, { max_tokens: 80 });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit-tokens')).toBe('100');
    // Reserved 8 + 80, settled to 9 real tokens: another 80-token request fits now.
    const second = await chat(t, k.value, { max_tokens: 80 });
    expect(second.status).toBe(200);
    const tooBig = await chat(t, k.value, { max_tokens: 500 });
    expect(tooBig.status).toBe(429);
    expect((await tooBig.json()).error.message).toContain('tokens per min (TPM)');
    // It never fits: OpenAI's SDKs are told not to retry it; a request that only has to wait is retried.
    expect(tooBig.headers.get('x-should-retry')).toBe('false');
    const waits = await newKey({ rate_limits: { max_requests_per_1_minute: 1 } });
    expect((await chat(t, waits.value)).status).toBe(200);
    const later = await chat(t, waits.value);
    expect(later.status).toBe(429);
    expect(later.headers.get('x-should-retry')).toBeNull();
  });

  it('reserves TPM for the whole prompt: instructions, tools, a system prompt beside the messages', async () => {
    // Found by an outside review: the estimate read only the messages, so 50 requests at once with 16 KB of
    // instructions each spent 251,400 tokens under a 1,000 TPM limit.
    const k = await newKey({ rate_limits: { max_tokens_per_1_minute: 1000 } });
    const long = 'word '.repeat(4000);
    const tool = { type: 'function', function: { name: 'f', description: long, parameters: { type: 'object' } } };
    for (const extra of [{ tools: [tool] }, { system: long }, { response_format: { type: 'json_schema', json_schema: { name: 's', schema: { description: long } } } }]) {
      const r = await chat(t, k.value, { max_tokens: 16, ...extra });
      expect(r.status, Object.keys(extra)[0]).toBe(429);
      expect((await r.json()).error.message).toContain('Request too large');
      expect(r.headers.get('x-should-retry')).toBe('false');
    }
    expect((await chat(t, k.value, { max_tokens: 16 })).status).toBe(200);
  });

  it("tells OpenAI's client not to retry what retrying cannot fix: a used-up quota, a request larger than the limit", async () => {
    const quota = await newKey({ request_quota: { max_requests: 1, interval: 'total' }, rate_limits: { max_tokens_per_1_minute: 100 } });
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: quota.value, maxRetries: 2 });
    const ask = (max_tokens: number) => client.chat.completions.create({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'hi' }], max_tokens });
    await expect(ask(500)).rejects.toMatchObject({ status: 429 });
    await ask(10);
    await expect(ask(10)).rejects.toMatchObject({ status: 429, code: 'api_key_quota_exceeded' });
    // Each refused once: the client did not ask again.
    await t.server.gateway.usage.flush();
    const refused = await t.server.runtime.database.db.selectFrom('usage_events').select('id').where('api_key_id', '=', quota.id).where('outcome', '=', 'refused').execute();
    expect(refused).toHaveLength(2);
    // A request reserving more than its whole spend limit never fits either (found by an outside review: retried
    // twice, three refusals); one that fits once requests in flight settle is still retried (no header then).
    const budget = await newKey({ spend_limit: { threshold_amount: 45, interval: 'month' } });
    const spender = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: budget.value, maxRetries: 2 });
    await expect(spender.chat.completions.create({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1000 })).rejects.toMatchObject({
      status: 429,
      code: 'api_key_spend_limit_exceeded',
    });
    await t.server.gateway.usage.flush();
    const once = await t.server.runtime.database.db.selectFrom('usage_events').select('id').where('api_key_id', '=', budget.id).where('outcome', '=', 'refused').execute();
    expect(once).toHaveLength(1);
  });

  it('lets exactly N of 200 concurrent requests through a quota of N', async () => {
    const k = await newKey({ request_quota: { max_requests: 50, interval: 'total' } });
    const results = await Promise.all(Array.from({ length: 200 }, () => chat(t, k.value)));
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(50);
    const refused = results.filter((r) => r.status === 429);
    expect(refused).toHaveLength(150);
    const body = await refused[0].json();
    expect(body.error).toMatchObject({ type: 'insufficient_quota', code: 'api_key_quota_exceeded' });
    expect(ok.at(-1)!.headers.get('x-tollgate-remaining-requests-quota')).toMatch(/^\d+$/);
    await t.server.gateway.usage.flush();
    const billed = await t.server.runtime.database.db.selectFrom('usage_events').select('id').where('api_key_id', '=', k.id).where('billable', '=', 1).execute();
    expect(billed).toHaveLength(50);
    const refusedEvents = await t.server.runtime.database.db.selectFrom('usage_events').select('id').where('api_key_id', '=', k.id).where('outcome', '=', 'refused').execute();
    expect(refusedEvents).toHaveLength(150);
  });

  it('lets no more requests through a budget than their reservations fit, under concurrency, and records exactly their cost', async () => {
    // 45 cents = 450 tokens at 1M nano-dollars each. Each request reserves its bounded input and max_tokens and
    // settles to 9 real tokens: one after another, the cap admits a call while spent + its reservation fits.
    const k = await newKey({ spend_limit: { threshold_amount: 45, interval: 'month' } });
    const most = sequentialFits(450, reservedTokens());
    const results = await Promise.all(Array.from({ length: 200 }, () => chat(t, k.value)));
    const ok = results.filter((r) => r.status === 200);
    expect(ok.length).toBeGreaterThan(0);
    expect(ok.length).toBeLessThanOrEqual(most);
    let more = 0;
    while ((await chat(t, k.value)).status === 200) more++;
    expect(ok.length + more).toBe(most);
    await t.server.gateway.usage.flush();
    const rows = await t.server.runtime.database.db.selectFrom('usage_events').select(['cost_nanousd']).where('api_key_id', '=', k.id).where('billable', '=', 1).execute();
    expect(rows.reduce((s, r) => s + Number(r.cost_nanousd), 0)).toBe(most * REAL_TOKENS * PRICE_NANO_PER_TOKEN);
    expect(most * REAL_TOKENS * PRICE_NANO_PER_TOKEN).toBeLessThanOrEqual(45 * 10_000_000);
  });

  it('never overspends when estimates run high, and the recorded spend is the sum of the successes', async () => {
    // Reserved more than the 9 tokens really used (bounded input, max_tokens 5): the cap is never passed.
    const k = await newKey({ spend_limit: { threshold_amount: 45, interval: 'month' } });
    const results = await Promise.all(Array.from({ length: 200 }, () => chat(t, k.value, { max_tokens: 5 })));
    const ok = results.filter((r) => r.status === 200);
    const bodies = await Promise.all(ok.map((r) => r.json()));
    expect(ok.length).toBeGreaterThan(0);
    expect(ok.length).toBeLessThanOrEqual(50);
    const refused = results.filter((r) => r.status === 429);
    expect(refused.length + ok.length).toBe(200);
    expect((await refused[0].json()).error).toMatchObject({ type: 'insufficient_quota', code: 'api_key_spend_limit_exceeded' });
    await t.server.gateway.usage.flush();
    const rows = await t.server.runtime.database.db.selectFrom('usage_events').select(['cost_nanousd']).where('api_key_id', '=', k.id).where('billable', '=', 1).execute();
    const recorded = rows.reduce((s, r) => s + Number(r.cost_nanousd), 0);
    const expected = bodies.reduce((s, b) => s + b.usage.total_tokens * PRICE_NANO_PER_TOKEN, 0);
    expect(rows).toHaveLength(ok.length);
    expect(recorded).toBe(expected);
    expect(recorded).toBeLessThanOrEqual(45 * 10_000_000);
    // Sequentially, the rest of the budget is used up to the last reservation that fits, never more.
    let more = 0;
    for (let i = 0; i < 60; i++) if ((await chat(t, k.value, { max_tokens: 5 })).status === 200) more++;
    expect(ok.length + more).toBe(sequentialFits(450, reservedTokens({ max_tokens: 5 })));
  });

  it('refuses at a project spend limit, tells the remaining budget, fires each spend alert once, signed', async () => {
    const hook = await receiver();
    try {
      const wh = await t.api('POST', `${ORG}/webhooks`, { body: { url: hook.url, event_types: ['budget.threshold_crossed'] } });
      expect(wh.body.secret).toMatch(/^whsec_/);
      expect((await t.api('GET', `${ORG}/webhooks`)).text).not.toContain(wh.body.secret);
      expect((await t.api('GET', `${ORG}/webhooks?event_type=budget.threshold_crossed`)).body.error).toMatchObject({ code: 'unknown_parameter', param: 'event_type' });
      const p = (await t.api('POST', `${ORG}/projects`, { body: { name: 'budgeted' } })).body.id;
      const sl = await t.api('POST', `${ORG}/projects/${p}/spend_limit`, { body: { threshold_amount: 9, currency: 'USD', interval: 'month' } });
      expect(sl.body).toMatchObject({ object: 'project.spend_limit', threshold_amount: 9, currency: 'USD', interval: 'month', enforcement: { status: 'enforcing' } });
      const channel = { type: 'email', recipients: ['ops@example.com', 'cfo@example.com'], subject_prefix: 'Tollgate' };
      const half = await t.api('POST', `${ORG}/projects/${p}/spend_alerts`, { body: { threshold_amount: 4, currency: 'usd', interval: 'month', notification_channel: channel } });
      expect(half.body).toMatchObject({ object: 'project.spend_alert', threshold_amount: 4, currency: 'USD', interval: 'month', notification_channel: channel });
      const full = (await t.api('POST', `${ORG}/projects/${p}/spend_alerts`, { body: { threshold_amount: 9, currency: 'USD', interval: 'month', notification_channel: channel } })).body;
      const k = await newKey({}, p);
      const budgets: string[] = [];
      let status = 200;
      let n = 0;
      while (status === 200 && n < 20) {
        const r = await chat(t, k.value);
        status = r.status;
        if (r.status === 200) budgets.push(r.headers.get('x-tollgate-remaining-budget-usd') ?? '');
        else expect((await r.json()).error).toMatchObject({ type: 'insufficient_quota', code: 'project_spend_limit_exceeded' });
        n++;
      }
      expect(status).toBe(429);
      expect(budgets.length).toBe(sequentialFits(90, reservedTokens())); // 9 cents = 90 tokens' worth
      expect(Number(budgets[0])).toBeGreaterThan(Number(budgets.at(-1)));
      for (let i = 0; i < 3; i++) expect((await chat(t, k.value)).status).toBe(429); // told once, however often refused
      const deadline = Date.now() + 5000;
      while (hook.got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      type Crossed = { 'budget.threshold_crossed': { spend_alert_id: string; threshold_usd: number; threshold_percent: number | null } };
      const audit: Crossed[] = (await t.api('GET', `${ORG}/audit_logs?event_types=budget.threshold_crossed&project_ids=${p}`)).body.data;
      expect(audit.map((e) => e['budget.threshold_crossed'].spend_alert_id).sort()).toEqual([half.body.id, full.id].sort());
      expect(audit.map((e) => e['budget.threshold_crossed'].threshold_usd).sort()).toEqual([0.04, 0.09]);
      expect(hook.got).toHaveLength(2);
      const { headers, body } = hook.got.find((g) => JSON.parse(g.body).data.spend_alert_id === half.body.id)!;
      const [tPart, vPart] = String(headers['x-tollgate-signature']).split(',');
      const ts = tPart.slice(2);
      expect(vPart.slice(3)).toBe(createHmac('sha256', wh.body.secret).update(`${ts}.${body}`).digest('hex'));
      expect(JSON.parse(body)).toMatchObject({
        type: 'budget.threshold_crossed',
        data: { scope: 'project', id: p, project_id: p, threshold_percent: null, threshold_usd: 0.04, limit_usd: 0.09, recipients: channel.recipients, subject_prefix: 'Tollgate' },
      });
      expect(JSON.parse(body).data.spent_usd).toBeGreaterThanOrEqual(0.04);
    } finally {
      await hook.close();
    }
  });

  it('tells spend alerts without any spend limit: a project\'s and the organization\'s, once a month each, never refusing', async () => {
    const hook = await receiver();
    try {
      await t.api('POST', `${ORG}/webhooks`, { body: { url: hook.url, event_types: ['budget.threshold_crossed'] } });
      const p = (await t.api('POST', `${ORG}/projects`, { body: { name: 'alerts only' } })).body.id;
      const body = (cents: number) => ({ threshold_amount: cents, currency: 'USD', interval: 'month', notification_channel: { type: 'email', recipients: ['ops@example.com'] } });
      const project = (await t.api('POST', `${ORG}/projects/${p}/spend_alerts`, { body: body(2) })).body;
      const org = (await t.api('POST', `${ORG}/spend_alerts`, { body: body(1_000_000) })).body;
      expect(org.object).toBe('organization.spend_alert');
      const k = await newKey({}, p);
      // 2 cents = 20 tokens' worth: the third call (27 tokens) crosses it; nothing is refused.
      for (let i = 0; i < 6; i++) {
        const r = await chat(t, k.value);
        expect(r.status).toBe(200);
        expect(r.headers.get('x-tollgate-remaining-budget-usd')).toBeNull();
      }
      const deadline = Date.now() + 5000;
      while (hook.got.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      expect(hook.got.map((g) => JSON.parse(g.body).data.spend_alert_id)).toEqual([project.id]);
      expect(JSON.parse(hook.got[0].body).data).toMatchObject({ scope: 'project', limit_usd: null, threshold_usd: 0.02 });
      // Lowering the organization's alert below what was spent tells it; the project's, already told, stays quiet.
      expect((await t.api('POST', `${ORG}/spend_alerts/${org.id}`, { body: { threshold_amount: 1 } })).body.threshold_amount).toBe(1);
      expect((await chat(t, k.value)).status).toBe(200);
      const later = Date.now() + 5000;
      while (hook.got.length < 2 && Date.now() < later) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      expect(hook.got.map((g) => JSON.parse(g.body).data.spend_alert_id)).toEqual([project.id, org.id]);
      expect(JSON.parse(hook.got[1].body).data).toMatchObject({ scope: 'organization', id: t.orgId, limit_usd: null, threshold_usd: 0.01 });
      await t.api('DELETE', `${ORG}/spend_alerts/${org.id}`);
    } finally {
      await hook.close();
    }
  });

  it('tells monthly alerts of a project whose spend limit is daily, on the month\'s spend', async () => {
    const hook = await receiver();
    try {
      await t.api('POST', `${ORG}/webhooks`, { body: { url: hook.url, event_types: ['budget.threshold_crossed'] } });
      const p = (await t.api('POST', `${ORG}/projects`, { body: { name: 'daily limit' } })).body.id;
      expect((await t.api('POST', `${ORG}/projects/${p}/spend_limit`, { body: { threshold_amount: 1000, currency: 'USD', interval: 'day' } })).status).toBe(200);
      const alert = (await t.api('POST', `${ORG}/projects/${p}/spend_alerts`, { body: { threshold_amount: 1, currency: 'USD', interval: 'month', notification_channel: { type: 'email', recipients: [] } } })).body;
      const k = await newKey({}, p);
      for (let i = 0; i < 2; i++) expect((await chat(t, k.value)).status).toBe(200); // 18 tokens: over 1 cent
      const deadline = Date.now() + 5000;
      while (hook.got.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(JSON.parse(hook.got[0].body).data).toMatchObject({ spend_alert_id: alert.id, scope: 'project', limit_usd: null, period: expect.stringMatching(/^m\d{4}-\d\d$/) });
    } finally {
      await hook.close();
    }
  });

  it('rolls a monthly budget over at the start of the next month', async () => {
    now = Date.UTC(2026, 10, 30, 23, 59, 0);
    // 5 cents = 50 tokens' worth: room for one reservation, not two.
    expect(sequentialFits(50, reservedTokens())).toBe(1);
    const k = await newKey({ spend_limit: { threshold_amount: 5, interval: 'month' } });
    expect((await chat(t, k.value)).status).toBe(200);
    expect((await chat(t, k.value)).status).toBe(429);
    now = Date.UTC(2026, 11, 1, 0, 0, 1);
    expect((await chat(t, k.value)).status).toBe(200);
  });
});

describe('limit store failures', () => {
  it('serves rate-limited keys when the shared store is down (fail-open) but refuses budgeted ones (fail-closed)', async () => {
    const t = await startTestServer({ name: 'sqlite' }, { env: { REDIS_URL: 'redis://127.0.0.1:1', TOLLGATE_CONFIG: pricedConfig() } });
    try {
      const rl = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { rate_limits: { max_requests_per_1_minute: 2 } } })).body;
      const results = [];
      for (let i = 0; i < 3; i++) results.push((await chat(t, rl.value)).status);
      expect(results).toEqual([200, 200, 429]); // counted locally meanwhile
      const budget = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { spend_limit: { threshold_amount: 100 } } })).body;
      const r = await chat(t, budget.value);
      expect(r.status).toBe(503);
      expect((await r.json()).error.code).toBe('service_unavailable');
      const plain = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: {} })).body;
      expect((await chat(t, plain.value)).status).toBe(200);
      // Spend alerts and a watched-only limit refuse nothing, so they do not fail closed either.
      const watched = (await t.api('POST', `${ORG}/projects`, { body: { name: 'watched' } })).body.id;
      const alert = { threshold_amount: 1, currency: 'USD', interval: 'month', notification_channel: { type: 'email', recipients: [] } };
      expect((await t.api('POST', `${ORG}/projects/${watched}/spend_alerts`, { body: alert })).status).toBe(200);
      expect((await t.api('POST', `${ORG}/projects/${watched}/spend_limit`, { body: { threshold_amount: 1, enforcement: { status: 'inactive' } } })).status).toBe(200);
      const inWatched = (await t.api('POST', `${ORG}/projects/${watched}/api_keys`, { body: {} })).body;
      expect((await chat(t, inWatched.value)).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('can be configured the other way round', async () => {
    const t = await startTestServer(
      { name: 'sqlite' },
      { env: { REDIS_URL: 'redis://127.0.0.1:1', TOLLGATE_RATE_LIMIT_FAILURE: 'closed', TOLLGATE_BUDGET_FAILURE: 'open', TOLLGATE_CONFIG: pricedConfig() } },
    );
    try {
      const rl = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { rate_limits: { max_requests_per_1_minute: 2 } } })).body;
      expect((await chat(t, rl.value)).status).toBe(503);
      const budget = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { spend_limit: { threshold_amount: 100 } } })).body;
      expect((await chat(t, budget.value)).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describeWithRedis('starting with Redis', (redisUrl) => {
  it('serves once Redis is connected: the first limited request after start is decided there, not refused', async () => {
    // Redis behind a proxy that holds each new connection 400 ms before passing it on (a Redis slow to reach).
    const target = new URL(redisUrl);
    const slow = createNetServer((client) => {
      client.pause();
      setTimeout(() => {
        const upstream = connect(Number(target.port || 6379), target.hostname, () => {
          client.pipe(upstream).pipe(client);
          client.resume();
        });
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
      }, 400);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const slowUrl = `redis://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    const t = await startTestServer({ name: 'sqlite' }, { env: { REDIS_URL: slowUrl, TOLLGATE_CONFIG: pricedConfig() } });
    try {
      // Checked before any request: a limited request made now would be decided on Redis.
      expect((t.server.gateway as unknown as { limitStore: RedisLimitStore }).limitStore.redis.status).toBe('ready');
      expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
      const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { spend_limit: { threshold_amount: 100 } } })).body;
      expect((await chat(t, k.value)).status).toBe(200);
    } finally {
      await t.close();
      slow.close();
    }
  });
});

describeWithRedis('limits shared by two instances', (redisUrl) => {
  it('two gateways on one Redis let exactly N of 200 concurrent requests through a quota of N, and share an RPM', async () => {
    // Two instances share PostgreSQL and Redis (in one process two SQLite connections would block each other).
    const pgUrl = process.env.TEST_DATABASE_URL;
    if (!pgUrl) throw new Error('this suite needs TEST_DATABASE_URL as well');
    const backend = { name: 'postgres' as const, url: pgUrl };
    const env = { REDIS_URL: redisUrl, TOLLGATE_CONFIG: pricedConfig() };
    const a = await startTestServer(backend, { env, keepSchema: true });
    const b = await startTestServer(backend, { env, schema: a.schema });
    try {
      expect(b.orgId).toBe(a.orgId);
      const k = (await a.api('POST', `${ORG}/projects/${a.defaultProjectId}/api_keys`, { body: { request_quota: { max_requests: 50, interval: 'total' } } })).body;
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => chat(i % 2 ? a : b, k.value)));
      expect(results.filter((r) => r.status === 200)).toHaveLength(50);
      const rl = (await a.api('POST', `${ORG}/projects/${a.defaultProjectId}/api_keys`, { body: { rate_limits: { max_requests_per_1_minute: 4 } } })).body;
      const seq = [];
      for (let i = 0; i < 6; i++) seq.push((await chat(i % 2 ? a : b, rl.value)).status);
      expect(seq).toEqual([200, 200, 200, 200, 429, 429]);
      const budget = (await a.api('POST', `${ORG}/projects/${a.defaultProjectId}/api_keys`, { body: { spend_limit: { threshold_amount: 9 } } })).body;
      // 9 cents = 90 tokens' worth: what the two gateways admit together, at once then one by one, is exactly what
      // one would admit (each call needs room for its reservation).
      const most = sequentialFits(90, reservedTokens());
      const spent = await Promise.all(Array.from({ length: 40 }, (_, i) => chat(i % 2 ? a : b, budget.value)));
      const atOnce = spent.filter((r) => r.status === 200).length;
      expect(atOnce).toBeGreaterThan(0);
      expect(atOnce).toBeLessThanOrEqual(most);
      let more = 0;
      while ((await chat(more % 2 ? a : b, budget.value)).status === 200) more++;
      expect(atOnce + more).toBe(most);
    } finally {
      await a.close();
      await b.close();
    }
  }, 120_000);
});

describe('limits CLI', () => {
  it('sets project, model and key limits and budgets', async () => {
    const { runCli } = await import('../src/cli/main.js');
    const t = await startTestServer({ name: 'sqlite' });
    try {
      let out = '';
      const io = { env: { LOG_LEVEL: 'silent' }, out: (s: string) => (out += s), err: (s: string) => (out += s) };
      const g = ['node', 'tollgate', '--server', t.url, '--admin-key', t.adminKey];
      expect(await runCli([...g, 'limits', 'set', '--rpm', '60', '--tpm', '10000'], io)).toBe(0);
      expect(await runCli([...g, 'limits', 'set', '--model', 'tollgate-echo', '--rpm', '5'], io)).toBe(0);
      expect(await runCli([...g, 'limits', 'set', '--rpm', '30'], io)).toBe(0);
      const list = (await t.api('GET', `${ORG}/projects/${t.defaultProjectId}/rate_limits`)).body.data;
      expect(list).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ model: '*', max_requests_per_1_minute: 30, max_tokens_per_1_minute: 10000 }),
          expect.objectContaining({ model: 'tollgate-echo', max_requests_per_1_minute: 5 }),
        ]),
      );
      expect(await runCli([...g, 'budget', 'set', '--usd', '25', '--alerts', '50,90'], io)).toBe(0);
      expect((await t.api('GET', `${ORG}/projects/${t.defaultProjectId}/spend_limit`)).body).toMatchObject({ threshold_amount: 2500, interval: 'month', enforcement: { status: 'enforcing' } });
      const alertAmounts = async () => (await t.api('GET', `${ORG}/projects/${t.defaultProjectId}/spend_alerts`)).body.data.map((a: { threshold_amount: number }) => a.threshold_amount);
      expect(await alertAmounts()).toEqual([1250, 2250]);
      expect(await runCli([...g, 'budget', 'set', '--usd', '10', '--alerts', '80', '--notify-only'], io)).toBe(0); // replaces them
      expect(await alertAmounts()).toEqual([800]);
      expect((await t.api('GET', `${ORG}/projects/${t.defaultProjectId}/spend_limit`)).body.enforcement).toEqual({ status: 'inactive' });
      out = '';
      expect(await runCli([...g, 'budget', 'set', '--usd', '10', '--interval', 'week', '--alerts', '80'], io)).toBe(1);
      expect(out).toContain('--alerts needs a monthly limit');
      const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'cli' } })).body;
      expect(await runCli([...g, 'budget', 'set', '--key', k.id, '--usd', '1.5', '--requests', '100', '--requests-interval', 'day'], io)).toBe(0);
      expect(await runCli([...g, 'limits', 'set', '--key', k.id, '--rpd', '1000'], io)).toBe(0);
      const key = (await t.api('GET', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}`)).body;
      expect(key).toMatchObject({ spend_limit: { threshold_amount: 150, interval: 'month' }, request_quota: { max_requests: 100, interval: 'day' }, rate_limits: { max_requests_per_1_day: 1000 } });
      out = '';
      expect(await runCli([...g, 'limits', 'set', '--model', 'x'], io)).toBe(1);
      expect(out).toContain('at least one of --rpm');
      out = '';
      expect(await runCli([...g, 'budget', 'set', '--usd', 'lots'], io)).toBe(1);
      expect(out).toContain('--usd expects an amount');
      out = '';
      expect(await runCli([...g, 'limits', 'list'], io)).toBe(0);
      expect(out).toMatch(/MODEL\s+MAX_REQUESTS_PER_1_MINUTE/);
      expect(out).toMatch(/rl-\*\s+\*\s+30\s+10000\s/);
      expect(out).toMatch(/rl-tollgate-echo\s+tollgate-echo\s+5\s+unlimited\s/);
      // A model this instance does not list is added by the CLI (OpenAI's update knows only listed models).
      expect(await runCli([...g, 'limits', 'set', '--model', 'my-own-model', '--rpd', '7'], io)).toBe(0);
      const own = (await t.api('GET', `${ORG}/projects/${t.defaultProjectId}/rate_limits`)).body.data.find((r: { model: string }) => r.model === 'my-own-model');
      expect(own).toMatchObject({ id: 'rl-my-own-model', max_requests_per_1_day: 7, max_requests_per_1_minute: RATE_LIMIT_UNLIMITED });
    } finally {
      await t.close();
    }
  });
});

describe('organization spend limit', () => {
  it('caps every project together with organization_spend_limit_exceeded', async () => {
    const t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: pricedConfig() } });
    try {
      const set = await t.api('POST', `${ORG}/spend_limit`, { body: { threshold_amount: 6, interval: 'month' } });
      expect(set.body).toMatchObject({ object: 'organization.spend_limit', organization_id: t.orgId, threshold_amount: 6 });
      const p2 = (await t.api('POST', `${ORG}/projects`, { body: { name: 'second' } })).body.id;
      const a = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: {} })).body;
      const b = (await t.api('POST', `${ORG}/projects/${p2}/api_keys`, { body: {} })).body;
      // 6 cents = 60 tokens' worth: two calls fit with their reservations, the third does not, whichever project sends it.
      expect(sequentialFits(60, reservedTokens(FIVE))).toBe(2);
      expect((await chat(t, a.value, FIVE)).status).toBe(200);
      expect((await chat(t, b.value, FIVE)).status).toBe(200);
      const refused = await chat(t, a.value, FIVE);
      expect(refused.status).toBe(429);
      expect((await refused.json()).error).toMatchObject({ type: 'insufficient_quota', code: 'organization_spend_limit_exceeded' });
      const raised = await t.api('POST', `${ORG}/spend_limit`, { body: { threshold_amount: 100 } });
      expect(raised.body.threshold_amount).toBe(100);
      expect((await chat(t, b.value)).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describeEachDatabase('counters after a restart', (backend) => {
  /** Two servers, one after the other, on the same database (a SQLite file, or one PostgreSQL schema). */
  async function restarted(env: Record<string, string>) {
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-restart-')), 'shared.db');
    const sqliteEnv: Record<string, string> = backend.name === 'sqlite' ? { DATABASE_URL: `sqlite:${file}` } : {};
    const first = await startTestServer(backend, { env: { ...env, ...sqliteEnv }, keepSchema: true });
    return { first, second: () => startTestServer(backend, { env: { ...env, ...sqliteEnv }, schema: first.schema }) };
  }

  it('seeds quotas and key budgets from stored usage, so a restart forgets nothing already spent', async () => {
    const { first, second: start } = await restarted({ TOLLGATE_CONFIG: pricedConfig() });
    let quotaKey: { value: string };
    let totalKey: { value: string };
    let budgetKey: { value: string };
    try {
      quotaKey = (await first.api('POST', `${ORG}/projects/${first.defaultProjectId}/api_keys`, { body: { request_quota: { max_requests: 3, interval: 'month' } } })).body;
      totalKey = (await first.api('POST', `${ORG}/projects/${first.defaultProjectId}/api_keys`, { body: { request_quota: { max_requests: 2, interval: 'total' } } })).body;
      budgetKey = (await first.api('POST', `${ORG}/projects/${first.defaultProjectId}/api_keys`, { body: { spend_limit: { threshold_amount: 6 } } })).body;
      expect(sequentialFits(60, reservedTokens(FIVE))).toBe(2); // 6 cents: two calls, one per run
      expect((await chat(first, quotaKey.value)).status).toBe(200);
      expect((await chat(first, quotaKey.value)).status).toBe(200);
      expect((await chat(first, totalKey.value)).status).toBe(200);
      expect((await chat(first, budgetKey.value, FIVE)).status).toBe(200); // 0.9 of 6 cents spent
    } finally {
      await first.close(); // flushes usage
    }
    const second = await start();
    try {
      expect((await chat(second, quotaKey.value)).status).toBe(200);
      const over = await chat(second, quotaKey.value);
      expect(over.status).toBe(429);
      expect((await over.json()).error.code).toBe('api_key_quota_exceeded');
      expect((await chat(second, totalKey.value)).status).toBe(200);
      expect((await chat(second, totalKey.value)).status).toBe(429);
      expect((await chat(second, budgetKey.value, FIVE)).status).toBe(200); // 1.8 of 6 cents spent
      expect((await chat(second, budgetKey.value, FIVE)).status).toBe(429);
    } finally {
      await second.close();
    }
  });

  it('seeds project and organization budgets from stored usage', async () => {
    const { first, second: start } = await restarted({ TOLLGATE_CONFIG: pricedConfig() });
    let inDefault: { value: string };
    let inSecond: { value: string };
    try {
      const p2 = (await first.api('POST', `${ORG}/projects`, { body: { name: 'second' } })).body.id;
      // The project (5 cents) has room for one call with its reservation; the organization (7 cents) for three.
      expect(sequentialFits(50, reservedTokens(FIVE))).toBe(1);
      expect(sequentialFits(70, reservedTokens(FIVE))).toBe(3);
      expect((await first.api('POST', `${ORG}/projects/${p2}/spend_limit`, { body: { threshold_amount: 5, interval: 'month' } })).status).toBe(200);
      expect((await first.api('POST', `${ORG}/spend_limit`, { body: { threshold_amount: 7, interval: 'month' } })).status).toBe(200);
      inDefault = (await first.api('POST', `${ORG}/projects/${first.defaultProjectId}/api_keys`, { body: {} })).body;
      inSecond = (await first.api('POST', `${ORG}/projects/${p2}/api_keys`, { body: {} })).body;
      expect((await chat(first, inSecond.value, FIVE)).status).toBe(200); // project: 0.9 of 5 cents; organization: 0.9 of 7
      expect((await chat(first, inDefault.value, FIVE)).status).toBe(200); // organization: 1.8 of 7
    } finally {
      await first.close();
    }
    const second = await start();
    try {
      const project = await chat(second, inSecond.value, FIVE); // no room in the project for another reservation
      expect(project.status).toBe(429);
      expect((await project.json()).error.code).toBe('project_spend_limit_exceeded');
      expect((await chat(second, inDefault.value, FIVE)).status).toBe(200); // organization: 2.7 of 7
      const org = await chat(second, inDefault.value, FIVE);
      expect(org.status).toBe(429);
      expect((await org.json()).error.code).toBe('organization_spend_limit_exceeded');
    } finally {
      await second.close();
    }
  });
});
