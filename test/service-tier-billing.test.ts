import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { costNanoUsd, DEFAULT_PRICES } from '../src/core/pricing.js';
import { describeEachDatabase } from './harness/backends.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A key pays for the tier it used (docs/metering.md, "Service tiers"): OpenAI's priority processing costs twice the
// standard rates and flex half, and before this Tollgate billed and reserved both at the standard rates, so a key
// with a hard cap got twice the priority work its cap allowed. Driven by the official openai client.

const ORG = '/v1/organization';

/** 1,000 input tokens (200 cached) and 500 output in every answer but the one without usage. */
const TOKENS = { input: 1000, cached: 200, output: 500 };
const chatUsage = { prompt_tokens: 1000, prompt_tokens_details: { cached_tokens: 200 }, completion_tokens: 500, total_tokens: 1500 };
const responseUsage = { input_tokens: 1000, input_tokens_details: { cached_tokens: 200 }, output_tokens: 500, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 1500 };

/** gpt-5: standard $1.25 / $0.125 / $10, priority $2.50 / $0.25 / $20, flex $0.625 / $0.0625 / $5 per 1M. */
const GPT5 = { standard: 800 * 1250 + 200 * 125 + 500 * 10_000, priority: 800 * 2500 + 200 * 250 + 500 * 20_000, flex: 800 * 625 + 200 * 62.5 + 500 * 5000 };

/**
 * An upstream answering tiers as OpenAI does: `fast` runs as `priority`, a tier asked for is named back, nothing asked
 * runs at `default`, except for `gpt-5-mini`, whose project's default tier is priority (its `auto` and nothing run
 * as `priority`). `gpt-5.1`'s answers carry no usage.
 */
async function startTierUpstream(): Promise<{ url: string; calls: () => number; close(): Promise<void> }> {
  let calls = 0;
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    calls++;
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    const asked = typeof body.service_tier === 'string' ? body.service_tier : null;
    const tier = asked === 'fast' ? 'priority' : body.model === 'gpt-5-mini' && (asked === null || asked === 'auto') ? 'priority' : (asked ?? 'default');
    const usage = body.model === 'gpt-5.1' ? {} : { usage: chatUsage };
    if (req.url === '/v1/chat/completions') {
      const base = { id: 'chatcmpl-1', created: 1, model: body.model, service_tier: tier, system_fingerprint: 'fp' };
      if (!body.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hi there, how are you', refusal: null }, finish_reason: 'stop', logprobs: null }], ...usage }));
        return;
      }
      const chunk = { ...base, object: 'chat.completion.chunk', usage: null as typeof chatUsage | null };
      const events = [{ ...chunk, choices: [{ index: 0, delta: { role: 'assistant', content: 'hi' }, finish_reason: null }] }, { ...chunk, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }];
      if (body.stream_options?.include_usage) events.push({ ...chunk, choices: [], usage: chatUsage });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`${events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('')}data: [DONE]\n\n`);
      return;
    }
    if (req.url === '/v1/responses') {
      const output = [{ type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'hi', annotations: [] }] }];
      const response = { id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: body.model, output, service_tier: tier, usage: responseUsage };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(response));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"not here","type":"invalid_request_error"}}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return { url, calls: () => calls, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describeEachDatabase('billing by service tier', (backend) => {
  let up: Awaited<ReturnType<typeof startTierUpstream>>;
  let t: TestServer;
  /** An hour ago by the server's clock (the injected one), where the usage and costs queries start. */
  const started = () => Math.floor(t.server.runtime.deps.clock() / 1000) - 3600;

  beforeAll(async () => {
    up = await startTierUpstream();
    const config = {
      providers: [
        { name: 'tiers', base_url: up.url, api_key_env: 'TIER_KEY' },
        // Never reached: a translated request asking for a tier Anthropic does not have is refused before it goes.
        { name: 'claude', kind: 'anthropic', base_url: up.url, api_key_env: 'TIER_KEY' },
      ],
      routes: { 'claude-*': 'claude' },
      default_provider: 'tiers',
      // An operator's own model with tier rates, and one whose override dropped the built-in priority rates.
      pricing: { 'my-tiered': { input: 1, output: 2, priority: { input: 3, cached_input: 0.5, output: 6 } }, 'gpt-5.2': { input: 1.75, cached_input: 0.175, output: 14 } },
    };
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: gatewayConfigFile(config), TIER_KEY: 'sk-tier-provider' } });
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  const newKey = async (spendLimitCents?: number): Promise<{ id: string; value: string }> =>
    (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'tier', ...(spendLimitCents ? { spend_limit: { threshold_amount: spendLimitCents, interval: 'month' } } : {}) } })).body;
  const client = (key: { value: string }) => new OpenAI({ apiKey: key.value, baseURL: `${t.url}/v1`, maxRetries: 0 });
  /** The key's usage events, oldest first: tier and cost. */
  const eventsOf = async (keyId: string) => {
    await t.server.gateway.usage.flush();
    const rows = await t.server.runtime.database.db
      .selectFrom('usage_events')
      .select(['service_tier', 'cost_nanousd', 'input_tokens', 'cached_tokens', 'output_tokens', 'outcome', 'created_at_ms', 'id'])
      .where('api_key_id', '=', keyId)
      .orderBy('created_at_ms')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ tier: r.service_tier, cost: Number(r.cost_nanousd), tokens: { input: r.input_tokens, cached: r.cached_tokens, output: r.output_tokens }, outcome: r.outcome }));
  };
  const chat = { model: 'gpt-5', messages: [{ role: 'user' as const, content: 'hi' }] };

  it('bills priority at priority rates and flex at flex rates, streamed or not, in the usage events and the Costs API', async () => {
    const key = await newKey();
    const sdk = client(key);
    const priority = await sdk.chat.completions.create({ ...chat, service_tier: 'priority' });
    expect(priority.service_tier).toBe('priority');
    await sdk.responses.create({ model: 'gpt-5', input: 'hi', service_tier: 'flex' });
    const stream = await sdk.chat.completions.create({ ...chat, service_tier: 'priority', stream: true, stream_options: { include_usage: true } });
    for await (const _ of stream);
    // `fast` is not in this client's types; OpenAI runs it, and names it, as priority.
    await sdk.chat.completions.create({ ...chat, service_tier: 'fast' as 'priority' });
    await sdk.chat.completions.create(chat);
    const events = await eventsOf(key.id);
    expect(events.map((e) => [e.tier, e.cost])).toEqual([
      ['priority', GPT5.priority],
      ['flex', GPT5.flex],
      ['priority', GPT5.priority],
      ['priority', GPT5.priority],
      ['default', GPT5.standard],
    ]);
    expect(GPT5.priority).toBe(2 * GPT5.standard);
    // The Costs API: the billed total, and its line items split by the tiers' own rates.
    const costs = await t.api('GET', `${ORG}/costs?start_time=${started()}&api_key_ids=${key.id}&group_by=line_item`);
    expect(costs.status, costs.text).toBe(200);
    const items: Record<string, number> = {};
    for (const r of costs.body.data.flatMap((b: { results: Array<{ line_item: string; amount: { value: number } }> }) => b.results)) {
      items[r.line_item] = (items[r.line_item] ?? 0) + Math.round(r.amount.value * 1e9);
    }
    expect(items).toEqual({
      'gpt-5, input': 3 * 800 * 2500 + 800 * 625 + 800 * 1250,
      'gpt-5, cached input': 3 * 200 * 250 + 200 * 62.5 + 200 * 125,
      'gpt-5, output': 3 * 500 * 20_000 + 500 * 5000 + 500 * 10_000,
    });
  });

  it('bills the tier the answer names, over the one asked for: a project whose default tier is priority', async () => {
    const key = await newKey();
    const sdk = client(key);
    await sdk.chat.completions.create({ ...chat, model: 'gpt-5-mini' });
    await sdk.chat.completions.create({ ...chat, model: 'gpt-5-mini', service_tier: 'auto' });
    await sdk.chat.completions.create({ ...chat, model: 'gpt-5-mini', service_tier: 'default' });
    const mini = DEFAULT_PRICES['gpt-5-mini'];
    expect((await eventsOf(key.id)).map((e) => [e.tier, e.cost])).toEqual([
      ['priority', costNanoUsd(mini, TOKENS, 'priority')],
      ['priority', costNanoUsd(mini, TOKENS, 'priority')],
      ['default', costNanoUsd(mini, TOKENS)],
    ]);
    expect(costNanoUsd(mini, TOKENS, 'priority')).toBe(800 * 450 + 200 * 45 + 500 * 3600);
  });

  it('bills an answer without usage by the tokens counted, at its tier', async () => {
    const key = await newKey();
    await client(key).chat.completions.create({ ...chat, model: 'gpt-5.1', service_tier: 'priority' });
    const [e] = await eventsOf(key.id);
    expect(e.tier).toBe('priority');
    expect(e.tokens.output).toBeGreaterThan(0);
    expect(e.cost).toBe(costNanoUsd(DEFAULT_PRICES['gpt-5.1'], e.tokens, 'priority'));
    expect(e.cost).toBe(2 * costNanoUsd(DEFAULT_PRICES['gpt-5.1'], e.tokens));
  });

  it('reserves a request under a hard cap at the rates of the tier it asks for', async () => {
    // $1 a month. 60,000 output tokens of gpt-5 reserve $0.60 at the standard rates and $1.20 at priority's.
    const key = await newKey(100);
    const sdk = client(key);
    const before = up.calls();
    const refused = await sdk.chat.completions.create({ ...chat, service_tier: 'priority', max_completion_tokens: 60_000 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).code).toBe('api_key_spend_limit_exceeded');
    expect((refused as Error).message).toMatch(/reserves up to \$1\.20/);
    const fast = await sdk.chat.completions.create({ ...chat, service_tier: 'fast' as 'priority', max_completion_tokens: 60_000 }).catch((e: unknown) => e);
    expect(fast).toBeInstanceOf(OpenAI.RateLimitError);
    expect(up.calls()).toBe(before);
    // At the standard rates it fits, and so does priority with room for its reservation.
    await sdk.chat.completions.create({ ...chat, service_tier: 'default', max_completion_tokens: 60_000 });
    await sdk.chat.completions.create({ ...chat, service_tier: 'priority', max_completion_tokens: 30_000 });
    // Flex reserves half: 150,000 output tokens are $0.75 at flex rates ($1.50 at the standard ones).
    await sdk.chat.completions.create({ ...chat, service_tier: 'flex', max_completion_tokens: 150_000 });
    expect((await eventsOf(key.id)).filter((e) => e.outcome === 'ok').map((e) => [e.tier, e.cost])).toEqual([
      ['default', GPT5.standard],
      ['priority', GPT5.priority],
      ['flex', GPT5.flex],
    ]);
  });

  it('refuses to a spend-limited key a tier the model has no rates for, in OpenAI’s shape naming service_tier, and bills it at standard rates to others', async () => {
    const capped = await newKey(10_000);
    const sdk = client(capped);
    const before = up.calls();
    const cases: Array<[string, unknown]> = [
      ['gpt-5', 'scale'],
      ['gpt-5', 'ultrafast'],
      ['gpt-5', 'PRIORITY'],
      ['gpt-5', 'Priority'],
      ['gpt-5-pro', 'priority'],
      ['gpt-5-nano', 'fast'],
      // An override that names no priority rates has none.
      ['gpt-5.2', 'priority'],
    ];
    for (const [model, service_tier] of cases) {
      const err = await sdk.chat.completions.create({ ...chat, model, service_tier: service_tier as 'priority' }).catch((e: unknown) => e);
      expect(err, `${model} ${service_tier}`).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('endpoint_not_metered');
      expect((err as InstanceType<typeof OpenAI.APIError>).type).toBe('invalid_request_error');
      expect((err as Error).message).toMatch(/`service_tier`/);
      expect((err as InstanceType<typeof OpenAI.APIError>).param).toBe('service_tier');
    }
    expect(up.calls()).toBe(before);
    // The standard tiers, and flex without flex rates (billed at most at the standard ones), go through.
    await sdk.chat.completions.create({ ...chat, service_tier: 'auto' });
    await sdk.responses.create({ model: 'gpt-5-pro', input: 'hi', service_tier: 'flex' });
    // A key without a limit: forwarded, recorded, billed at the standard rates.
    const free = await newKey();
    await client(free).chat.completions.create({ ...chat, service_tier: 'scale' });
    expect((await eventsOf(free.id)).map((e) => [e.tier, e.cost])).toEqual([['scale', GPT5.standard]]);
    // An OpenAI client asking a Claude model for a tier Anthropic has not cannot dodge through the translation: 400
    // naming it, with or without a spend limit, not forwarded.
    for (const key of [capped, free]) {
      for (const service_tier of ['priority', 'flex', 'scale'] as const) {
        const translated = await client(key).chat.completions.create({ ...chat, model: 'claude-sonnet-4-6', service_tier }).catch((e: unknown) => e);
        expect(translated, service_tier).toBeInstanceOf(OpenAI.BadRequestError);
        expect((translated as Error).message).toMatch(/service_tier/);
      }
    }
    expect(up.calls()).toBe(before + 3);
  });

  it("bills and reserves an operator's model at the tier rates its config gives", async () => {
    const key = await newKey(100);
    const sdk = client(key);
    await sdk.chat.completions.create({ ...chat, model: 'my-tiered', service_tier: 'priority', max_completion_tokens: 1000 });
    await sdk.chat.completions.create({ ...chat, model: 'my-tiered', max_completion_tokens: 1000 });
    expect((await eventsOf(key.id)).map((e) => [e.tier, e.cost])).toEqual([
      ['priority', 800 * 3000 + 200 * 500 + 500 * 6000],
      ['default', 1000 * 1000 + 500 * 2000],
    ]);
    // $1 holds 160,000 output tokens at $6/M, not 170,000; at the standard $2/M both fit.
    const err = await sdk.chat.completions.create({ ...chat, model: 'my-tiered', service_tier: 'priority', max_completion_tokens: 170_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    await sdk.chat.completions.create({ ...chat, model: 'my-tiered', max_completion_tokens: 170_000 });
  });

  it('refuses to start on a config whose tier block is malformed', async () => {
    for (const [price, where] of [
      [{ input: 1, output: 2, priority: { input: 3 } }, /pricing\.my-model\.priority\.output/],
      [{ input: 1, output: 2, flex: { input: 1, output: 1, discount: 0.5 } }, /pricing\.my-model\.flex/],
      [{ input: 1, output: 2, scale: { input: 1, output: 1 } }, /pricing\.my-model/],
    ] as const) {
      const file = gatewayConfigFile({ pricing: { 'my-model': price } });
      await expect(startTestServer(backend, { env: { TOLLGATE_CONFIG: file } })).rejects.toThrow(where);
    }
  });
});
