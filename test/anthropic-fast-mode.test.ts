import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { costNanoUsd, DEFAULT_PRICES } from '../src/core/pricing.js';
import { describeEachDatabase } from './harness/backends.js';
import { startFakeAnthropic, type FakeAnthropic } from './harness/fake-anthropic-upstream.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A key pays for the speed it used (docs/metering.md, "Anthropic's fast mode"): Anthropic bills fast mode at a multiple
// of the model's rates (6× for Opus 4.6), caching multipliers on top, and says in the answer's usage which speed ran.
// Before, Tollgate billed fast answers at the standard rates (a sixth of their cost) and refused fast mode to every
// key with a spend limit. Driven by the official @anthropic-ai/sdk (and the openai client, for a translated request)
// against the fake Anthropic upstream, which names the speed as Anthropic does (test/harness/fake-anthropic-upstream.ts).

const ORG = '/v1/organization';
const PROVIDER_KEY = 'sk-ant-fast-provider';
const OPUS = 'claude-opus-4-6';
const opus = DEFAULT_PRICES[OPUS];

/** The fake's plain answer: 12 input and 12 output tokens; its stream: 25 and 15. Opus 4.6: $5 / $25, fast 6×. */
const PLAIN = { input: 12, cached: 0, output: 12 };
const STREAMED = { input: 25, cached: 0, output: 15 };
const STANDARD = { plain: 12 * 5000 + 12 * 25_000, streamed: 25 * 5000 + 15 * 25_000 };
const FAST = { plain: 12 * 30_000 + 12 * 150_000, streamed: 25 * 30_000 + 15 * 150_000 };

describeEachDatabase("billing Anthropic's fast mode", (backend) => {
  let up: FakeAnthropic;
  let t: TestServer;
  /** An hour ago by the server's clock (the injected one), where the usage and costs queries start. */
  const started = () => Math.floor(t.server.runtime.deps.clock() / 1000) - 3600;

  beforeAll(async () => {
    up = await startFakeAnthropic(PROVIDER_KEY);
    const config = {
      providers: [{ name: 'anthropic', kind: 'anthropic', base_url: up.url, api_key_env: 'FAST_ANT_KEY' }],
      routes: { 'claude-*': 'anthropic' },
      default_provider: 'anthropic',
      pricing: {
        // A model the fake answers with cache writes and reads, priced as Opus 4.6 with its fast multiple.
        'claude-opus-cached': { input: 5, cached_input: 0.5, cache_write_input: 6.25, cache_write_1h_input: 10, output: 25, fast: 6 },
        // Opus 5.5 has no published fast rate: an operator gives it one.
        'claude-opus-5-5': { input: 4, cached_input: 0.2, cache_write_input: 5, cache_write_1h_input: 8, output: 20, fast: 2 },
      },
    };
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: gatewayConfigFile(config), FAST_ANT_KEY: PROVIDER_KEY } });
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  const newKey = async (spendLimitCents?: number): Promise<{ id: string; value: string }> =>
    (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'fast', ...(spendLimitCents ? { spend_limit: { threshold_amount: spendLimitCents, interval: 'month' } } : {}) } })).body;
  const anthropic = (key: { value: string }) => new Anthropic({ apiKey: key.value, baseURL: t.url, maxRetries: 0, timeout: 15_000 });
  const openai = (key: { value: string }) => new OpenAI({ apiKey: key.value, baseURL: `${t.url}/v1`, maxRetries: 0 });
  /** The key's billed usage events, oldest first. */
  const eventsOf = async (keyId: string) => {
    await t.server.gateway.usage.flush();
    const rows = await t.server.runtime.database.db
      .selectFrom('usage_events')
      .select(['model', 'cost_nanousd', 'input_tokens', 'cached_tokens', 'output_tokens', 'outcome', 'unpriced', 'streamed', 'created_at_ms', 'id'])
      .where('api_key_id', '=', keyId)
      .orderBy('created_at_ms')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ model: r.model, cost: Number(r.cost_nanousd), tokens: { input: r.input_tokens, cached: r.cached_tokens, output: r.output_tokens }, outcome: r.outcome, unpriced: Number(r.unpriced), streamed: Number(r.streamed) }));
  };
  const hello = { model: OPUS, max_tokens: 256, messages: [{ role: 'user' as const, content: 'Hello, Claude' }] };
  const fast = { ...hello, speed: 'fast' as const };
  const beta = { headers: { 'anthropic-beta': 'fast-mode-2026-02-01' } };
  /** A streamed message read to its end. */
  const streamed = async (client: Anthropic, body: Record<string, unknown>) => {
    const stream = await client.messages.create({ ...(body as typeof hello), stream: true }, beta);
    for await (const _ of stream);
  };

  it('bills an answer that ran fast at the fast rates, buffered and streamed, in the usage events and the Costs API', async () => {
    const key = await newKey();
    const client = anthropic(key);
    const message = await client.messages.create(fast, beta);
    expect(message.usage.speed).toBe('fast');
    await streamed(client, fast);
    // The .stream() helper reads message_start's usage as the SDK does.
    const final = await client.messages.stream(fast, beta).finalMessage();
    expect(final.usage.speed).toBe('fast');
    const events = await eventsOf(key.id);
    expect(events.map((e) => [e.tokens, e.cost, e.streamed, e.unpriced])).toEqual([
      [PLAIN, FAST.plain, 0, 0],
      [STREAMED, FAST.streamed, 1, 0],
      [STREAMED, FAST.streamed, 1, 0],
    ]);
    expect(FAST.plain).toBe(6 * STANDARD.plain);
    // The Costs API reports what was billed, its line items in the same proportions.
    const costs = await t.api('GET', `${ORG}/costs?start_time=${started()}&api_key_ids=${key.id}&group_by=line_item`);
    expect(costs.status, costs.text).toBe(200);
    const items: Record<string, number> = {};
    for (const r of costs.body.data.flatMap((b: { results: Array<{ line_item: string; amount: { value: number } }> }) => b.results)) {
      items[r.line_item] = (items[r.line_item] ?? 0) + Math.round(r.amount.value * 1e9);
    }
    expect(Object.values(items).reduce((a, b) => a + b, 0)).toBe(FAST.plain + 2 * FAST.streamed);
    expect(items[`${OPUS}, output`]).toBe(6 * (12 + 2 * 15) * 25_000);
  });

  it('bills what the answer says ran: a fast request answered at the standard speed at the standard rates, an unasked fast answer at the fast ones', async () => {
    const key = await newKey();
    const client = anthropic(key);
    // Fast capacity ran out: Anthropic ran it, and bills it, at the standard speed.
    const standard = await client.messages.create({ ...fast, metadata: { user_id: 'fake-speed:standard' } }, beta);
    expect(standard.usage.speed).toBe('standard');
    await streamed(client, { ...fast, metadata: { user_id: 'fake-speed:standard' } });
    // A usage that names no speed ran at the standard one.
    await client.messages.create({ ...fast, metadata: { user_id: 'fake-speed:none' } }, beta);
    // Not asked, and run fast all the same: billed as it ran.
    await client.messages.create({ ...hello, metadata: { user_id: 'fake-speed:fast' } });
    await streamed(client, { ...hello, metadata: { user_id: 'fake-speed:fast' } });
    // Asked with Anthropic's standard value, and run at it.
    await client.messages.create({ ...hello, speed: 'standard' });
    expect((await eventsOf(key.id)).map((e) => e.cost)).toEqual([STANDARD.plain, STANDARD.streamed, STANDARD.plain, FAST.plain, FAST.streamed, STANDARD.plain]);
  });

  it('bills an answer without usage by the tokenizer at the speed it was reserved at', async () => {
    const key = await newKey();
    const client = anthropic(key);
    await client.messages.create({ ...fast, metadata: { user_id: 'fake-usage:none' } }, beta);
    await streamed(client, { ...fast, metadata: { user_id: 'fake-usage:none' } });
    await client.messages.create({ ...hello, metadata: { user_id: 'fake-usage:none' } });
    const events = await eventsOf(key.id);
    expect(events).toHaveLength(3);
    // Opus 4.6's rates are whole nano-dollars a token: fast is exactly 6× the standard cost.
    for (const [i, multiple] of [[0, 6], [1, 6], [2, 1]] as const) {
      expect(events[i].tokens.input + events[i].tokens.output, String(i)).toBeGreaterThan(0);
      expect(events[i].cost, String(i)).toBe(multiple * costNanoUsd(opus, events[i].tokens));
    }
  });

  it('stacks the caching multipliers on the fast rates', async () => {
    const key = await newKey();
    const message = await anthropic(key).messages.create({ ...fast, model: 'claude-opus-cached' }, beta);
    expect(message.usage).toMatchObject({ input_tokens: 50, cache_creation_input_tokens: 2048, cache_read_input_tokens: 10_000, output_tokens: 14, speed: 'fast' });
    // Fast input $30/M, cache reads $3 (0.1×), 5-minute writes $37.50 (1.25×), output $150.
    const [event] = await eventsOf(key.id);
    expect(event.tokens).toEqual({ input: 50 + 2048 + 10_000, cached: 10_000, output: 14 });
    expect(event.cost).toBe(50 * 30_000 + 10_000 * 3000 + 2048 * 37_500 + 14 * 150_000);
  });

  it('lets a spend-limited key use fast mode on a model with fast rates, reserved at them under its hard cap', async () => {
    // $1: at the fast $150/M, 7,000 output tokens ($1.05) do not fit, 6,000 ($0.90) do; at the standard $25/M, 7,000 do.
    const key = await newKey(100);
    const client = anthropic(key);
    const sent = up.seen.length;
    const err = await client.messages.create({ ...fast, max_tokens: 7000 }, beta).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect((err as { error: { error: { details?: { error_code: string } } } }).error.error.details?.error_code).toBe('api_key_spend_limit_exceeded');
    expect(up.seen.length).toBe(sent);
    await client.messages.create({ ...hello, max_tokens: 7000 });
    await client.messages.create({ ...fast, max_tokens: 6000 }, beta);
    await streamed(client, { ...fast, max_tokens: 6000 });
    expect((await eventsOf(key.id)).filter((e) => e.outcome === 'ok').map((e) => e.cost)).toEqual([STANDARD.plain, FAST.plain, FAST.streamed]);
    // An operator's fast multiple counts the same: Opus 5.5 at 2× of $4 / $20.
    await client.messages.create({ ...fast, model: 'claude-opus-5-5' }, beta);
    expect((await eventsOf(key.id)).at(-1)?.cost).toBe(2 * (12 * 4000 + 12 * 20_000));
  });

  it('refuses fast mode to a spend-limited key for a model without fast rates, or spelled otherwise, never forwarded; bills it at the standard rates, flagged, to others', async () => {
    const capped = anthropic(await newKey(10_000));
    const sent = up.seen.length;
    const cases: Array<[string, unknown]> = [
      ['claude-fable-5-2', 'fast'],
      ['claude-sonnet-4-6', 'fast'],
      [OPUS, 'FAST'],
      [OPUS, 'Fast'],
      [OPUS, 1],
      [OPUS, true],
    ];
    for (const [model, speed] of cases) {
      const err = await capped.messages.create({ ...hello, model, speed } as never, beta).catch((e: unknown) => e);
      expect(err, `${model} ${String(speed)}`).toBeInstanceOf(Anthropic.PermissionDeniedError);
      const body = (err as { error: { error: { message: string; details?: { error_code: string } } } }).error.error;
      expect(body.details?.error_code).toBe('endpoint_not_metered');
      expect(body.message).toContain('fast mode');
    }
    expect(up.seen.length).toBe(sent);
    // Regional inference is still billed at a multiple Tollgate does not model: refused too.
    const geo = await capped.messages.create({ ...fast, inference_geo: 'us' } as never, beta).catch((e: unknown) => e);
    expect(geo).toBeInstanceOf(Anthropic.PermissionDeniedError);
    // A key without a limit: forwarded; an answer that ran fast without fast rates is billed at the standard rates and
    // counted as unpriced.
    const free = await newKey();
    await anthropic(free).messages.create({ ...fast, model: 'claude-fable-5-2' }, beta);
    const [event] = await eventsOf(free.id);
    expect(event).toMatchObject({ model: 'claude-fable-5-2', cost: costNanoUsd(DEFAULT_PRICES['claude-fable-5-2'], PLAIN), unpriced: 1 });
    // Run at the standard speed, it is priced.
    await anthropic(free).messages.create({ ...fast, model: 'claude-fable-5-2', metadata: { user_id: 'fake-speed:standard' } }, beta);
    expect((await eventsOf(free.id)).at(-1)).toMatchObject({ cost: costNanoUsd(DEFAULT_PRICES['claude-fable-5-2'], PLAIN), unpriced: 0 });
  });

  it('an OpenAI client calling Claude cannot ask for fast mode, but an answer that ran fast is billed at the fast rates', async () => {
    const key = await newKey();
    const sdk = openai(key);
    const chat = { model: OPUS, messages: [{ role: 'user' as const, content: 'Hello, Claude' }] };
    const sent = up.seen.length;
    const err = await sdk.chat.completions.create({ ...chat, speed: 'fast' } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toMatch(/speed/);
    expect(up.seen.length).toBe(sent);
    await sdk.chat.completions.create({ ...chat, user: 'fake-speed:fast' });
    const stream = await sdk.chat.completions.create({ ...chat, user: 'fake-speed:fast', stream: true });
    for await (const _ of stream);
    await sdk.chat.completions.create(chat);
    expect((await eventsOf(key.id)).filter((e) => e.outcome === 'ok').map((e) => e.cost)).toEqual([FAST.plain, FAST.streamed, STANDARD.plain]);
  });

  it('refuses to start on a config whose fast multiple is not a number of at least 1', async () => {
    for (const fastMultiple of [0.5, 0, '6', { input: 30, output: 150 }]) {
      const file = gatewayConfigFile({ pricing: { 'claude-opus-4-6': { input: 5, output: 25, fast: fastMultiple } } });
      await expect(startTestServer(backend, { env: { TOLLGATE_CONFIG: file } }), JSON.stringify(fastMultiple)).rejects.toThrow(/pricing\.claude-opus-4-6\.fast/);
    }
  });
});
