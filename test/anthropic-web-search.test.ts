import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startFakeAnthropic, type FakeAnthropic } from './harness/fake-anthropic-upstream.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A key pays for exactly what it uses (docs/metering.md, "Server tools"): Anthropic bills its web search tool at $10
// per 1,000 searches beside the tokens, and names the searches an answer ran in its usage
// (`server_tool_use.web_search_requests`; a stream's in message_delta, cumulative). Before, Tollgate billed the tokens
// alone: a search was $0.01 Anthropic charged that no event, report or budget saw. Driven by the official
// @anthropic-ai/sdk (and the openai client, translated) against the fake Anthropic upstream, whose answers name the
// searches a request's `metadata.user_id` (an OpenAI client's `user`) asks for: `fake-searches:N`.

const ORG = '/v1/organization';
const PROVIDER_KEY = 'sk-ant-search-provider';
const SONNET = 'claude-sonnet-4-5';

/** The fake's plain answer: 12 input and 12 output tokens; its stream: 25 and 15. Sonnet 4.5: $3 / $15 per 1M. */
const TOKENS = { plain: 12 * 3000 + 12 * 15_000, streamed: 25 * 3000 + 15 * 15_000 };
/** $10 per 1,000 searches: $0.01, 10,000,000 nano-dollars, a search. */
const SEARCH = 10_000_000;

describeEachDatabase("billing Anthropic's web searches", (backend) => {
  let up: FakeAnthropic;
  let t: TestServer;
  // One instant for every server of the suite (a restart below comes back in the same budget period, whatever the date).
  const now = Date.now();
  const clock = () => now;
  let env: Record<string, string>;
  /** An hour ago by the server's clock, where the usage and costs queries start. */
  const started = () => Math.floor(now / 1000) - 3600;

  beforeAll(async () => {
    up = await startFakeAnthropic(PROVIDER_KEY);
    const config = {
      providers: [{ name: 'anthropic', kind: 'anthropic', base_url: up.url, api_key_env: 'SEARCH_ANT_KEY' }],
      routes: { 'claude-*': 'anthropic' },
      default_provider: 'anthropic',
      pricing: {
        // An operator's model without a price for searches: its tokens billed, its searches counted as unpriced.
        'claude-no-search-price': { input: 3, output: 15 },
        // And one whose searches cost more.
        'claude-dear-search': { input: 3, output: 15, web_search: 25 },
      },
    };
    env = { TOLLGATE_CONFIG: gatewayConfigFile(config), SEARCH_ANT_KEY: PROVIDER_KEY };
    t = await startTestServer(backend, { env, clock, keepSchema: true });
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  const newKey = async (server: TestServer, spendLimitCents?: number): Promise<{ id: string; value: string }> =>
    (
      await server.api('POST', `${ORG}/projects/${server.defaultProjectId}/api_keys`, {
        body: { name: 'search', ...(spendLimitCents ? { spend_limit: { threshold_amount: spendLimitCents, interval: 'month' } } : {}) },
      })
    ).body;
  const anthropic = (server: TestServer, key: { value: string }) => new Anthropic({ apiKey: key.value, baseURL: server.url, maxRetries: 0, timeout: 15_000 });
  const openai = (key: { value: string }) => new OpenAI({ apiKey: key.value, baseURL: `${t.url}/v1`, maxRetries: 0 });
  /** The key's usage events, oldest first. */
  const eventsOf = async (keyId: string) => {
    await t.server.gateway.usage.flush();
    const rows = await t.server.runtime.database.db
      .selectFrom('usage_events')
      .selectAll()
      .where('api_key_id', '=', keyId)
      .orderBy('created_at_ms')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ cost: Number(r.cost_nanousd), searches: Number(r.web_search_requests), unpriced: Number(r.unpriced), streamed: Number(r.streamed), outcome: r.outcome }));
  };
  const hello = (searches: number, model = SONNET) => ({
    model,
    max_tokens: 256,
    messages: [{ role: 'user' as const, content: 'What happened today?' }],
    metadata: { user_id: `fake-searches:${searches}` },
  });
  /** A streamed message read to its end. */
  const streamed = async (client: Anthropic, body: ReturnType<typeof hello>) => {
    const stream = await client.messages.create({ ...body, stream: true });
    for await (const _ of stream);
  };

  it('bills the searches an answer names at $10 per 1,000 beside its tokens, whole and streamed, native and translated', async () => {
    const key = await newKey(t);
    const client = anthropic(t, key);
    const message = await client.messages.create(hello(3));
    expect(message.usage.server_tool_use?.web_search_requests).toBe(3);
    await streamed(client, hello(2));
    // The .stream() helper reads message_delta's usage as the SDK does.
    const final = await client.messages.stream(hello(4)).finalMessage();
    expect(final.usage.server_tool_use?.web_search_requests).toBe(4);
    // An OpenAI client calling Claude: the searches its answers name are billed the same.
    const chat = { model: SONNET, messages: [{ role: 'user' as const, content: 'What happened today?' }], user: 'fake-searches:1' };
    await openai(key).chat.completions.create(chat);
    const stream = await openai(key).chat.completions.create({ ...chat, stream: true });
    for await (const _ of stream);
    // No searches: the tokens alone.
    await client.messages.create({ ...hello(0), metadata: undefined });
    expect((await eventsOf(key.id)).map((e) => [e.cost, e.searches, e.streamed, e.unpriced])).toEqual([
      [TOKENS.plain + 3 * SEARCH, 3, 0, 0],
      [TOKENS.streamed + 2 * SEARCH, 2, 1, 0],
      [TOKENS.streamed + 4 * SEARCH, 4, 1, 0],
      [TOKENS.plain + SEARCH, 1, 0, 0],
      [TOKENS.streamed + SEARCH, 1, 1, 0],
      [TOKENS.plain, 0, 0, 0],
    ]);
  });

  it('reports the searches and their cost in the Usage and Costs APIs, as a line item of their own', async () => {
    const key = await newKey(t);
    const client = anthropic(t, key);
    await client.messages.create(hello(3));
    await streamed(client, hello(2));
    await eventsOf(key.id);
    const total = TOKENS.plain + TOKENS.streamed + 5 * SEARCH;
    for (const width of ['1m', '1h', '1d']) {
      const usage = await t.api('GET', `${ORG}/usage/completions?start_time=${started()}&bucket_width=${width}&limit=${width === '1m' ? 120 : 2}&api_key_ids=${key.id}`);
      expect(usage.status, usage.text).toBe(200);
      const results = usage.body.data.flatMap((b: { results: unknown[] }) => b.results);
      expect(results, width).toHaveLength(1);
      expect(results[0], width).toMatchObject({ num_model_requests: 2, num_web_search_requests: 5, num_unpriced_requests: 0 });
      expect(Math.round(results[0].cost_usd * 1e9), width).toBe(total);
    }
    const items = await t.api('GET', `${ORG}/costs?start_time=${started()}&api_key_ids=${key.id}&group_by=line_item`);
    expect(items.status, items.text).toBe(200);
    const lines = items.body.data.flatMap((b: { results: Array<{ line_item: string; amount: { value: number }; quantity: number | null; quantity_unit: string | null }> }) => b.results);
    const byItem = Object.fromEntries(lines.map((r: { line_item: string; amount: { value: number }; quantity: number | null; quantity_unit: string | null }) => [r.line_item, [Math.round(r.amount.value * 1e9), r.quantity, r.quantity_unit]]));
    expect(byItem).toEqual({
      [`${SONNET}, input`]: [(12 + 25) * 3000, 37, 'tokens'],
      [`${SONNET}, output`]: [(12 + 15) * 15_000, 27, 'tokens'],
      [`${SONNET}, web search`]: [5 * SEARCH, 5, 'web_search_requests'],
    });
    // Totals, by key and by project, have it too.
    for (const query of [`api_key_ids=${key.id}`, `api_key_ids=${key.id}&group_by=api_key_id`, `group_by=api_key_id`, `project_ids=${t.defaultProjectId}&group_by=project_id`]) {
      const costs = await t.api('GET', `${ORG}/costs?start_time=${started()}&${query}`);
      expect(costs.status, costs.text).toBe(200);
      const results = costs.body.data.flatMap((b: { results: Array<{ api_key_id: string | null; amount: { value: number } }> }) => b.results);
      const mine = query.includes('group_by=api_key_id') ? results.filter((r: { api_key_id: string | null }) => r.api_key_id === key.id) : results;
      const nano = mine.reduce((a: number, r: { amount: { value: number } }) => a + Math.round(r.amount.value * 1e9), 0);
      if (query.startsWith('project_ids')) expect(nano, query).toBeGreaterThanOrEqual(total);
      else expect(nano, query).toBe(total);
    }
  });

  it('counts the searches against a spend limit, streamed or not, and after a restart', async () => {
    // $0.01: a request's reservation (256 output tokens at $15/M, ~$0.004) fits; one search spends the whole of it.
    const plain = await newKey(t, 1);
    const stream = await newKey(t, 1);
    const spent = async (key: { value: string }, send: (c: Anthropic) => Promise<unknown>) => {
      const client = anthropic(t, key);
      await send(client);
      const err = await client.messages.create(hello(0)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.RateLimitError);
      expect((err as { error: { error: { details?: { error_code: string } } } }).error.error.details?.error_code).toBe('api_key_spend_limit_exceeded');
    };
    await spent(plain, (c) => c.messages.create(hello(1)));
    await spent(stream, (c) => streamed(c, hello(1)));
    // A key that searched nothing has its budget left.
    const quiet = await newKey(t, 1);
    await anthropic(t, quiet).messages.create({ ...hello(0), metadata: undefined });
    await anthropic(t, quiet).messages.create({ ...hello(0), metadata: undefined });
    // Back after a restart, on the same database: each budget is counted again from the rollups, the searches in it.
    await t.server.close();
    const second = await startTestServer(backend, { env, clock, dataDir: t.dataDir, schema: t.schema, keepSchema: true });
    try {
      for (const key of [plain, stream]) {
        const err = await anthropic(second, key)
          .messages.create(hello(0))
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(Anthropic.RateLimitError);
      }
      await anthropic(second, quiet).messages.create({ ...hello(0), metadata: undefined });
    } finally {
      await second.server.close();
    }
    t = await startTestServer(backend, { env, clock, dataDir: t.dataDir, schema: t.schema });
  });

  it("counts a model's searches without a price for them as unpriced, never free, and bills them at an operator's price", async () => {
    const key = await newKey(t);
    const client = anthropic(t, key);
    await client.messages.create(hello(2, 'claude-no-search-price'));
    // Without searches the same model is priced.
    await client.messages.create({ ...hello(0, 'claude-no-search-price'), metadata: undefined });
    await client.messages.create(hello(2, 'claude-dear-search'));
    await streamed(client, hello(2, 'claude-dear-search'));
    expect((await eventsOf(key.id)).map((e) => [e.cost, e.searches, e.unpriced])).toEqual([
      [TOKENS.plain, 2, 1],
      [TOKENS.plain, 0, 0],
      [TOKENS.plain + 2 * 25_000_000, 2, 0],
      [TOKENS.streamed + 2 * 25_000_000, 2, 0],
    ]);
    const usage = await t.api('GET', `${ORG}/usage/completions?start_time=${started()}&bucket_width=1h&limit=2&api_key_ids=${key.id}&group_by=model`);
    const results = usage.body.data.flatMap((b: { results: Array<{ model: string }> }) => b.results);
    expect(results.find((r: { model: string }) => r.model === 'claude-no-search-price')).toMatchObject({ num_unpriced_requests: 1, num_web_search_requests: 2 });
  });
});
