import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { type FakeAnthropic, startFakeAnthropic } from './harness/fake-anthropic-upstream.js';
import { type FakeUpstream, startFakeUpstream } from './harness/fake-upstream.js';
import { ANTHROPIC_PROVIDER_KEY, OPENAI_PROVIDER_KEY } from './harness/provider-servers.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// Anthropic's Messages API in the Usage API (GET /v1/organization/usage/completions): requests an Anthropic-SDK client
// sends through Tollgate, to a Claude model or translated to an OpenAI model, are completions as OpenAI's chat
// completions are, in minute buckets (answered from the raw events) and hour and day buckets (from the rollups);
// the free count_tokens is not. Until this was fixed they were billed but rolled up under 'other', and the usage page
// (and the dashboard reading it) showed no Claude traffic of such clients at all.

const ORG = '/v1/organization';
const SONNET = 'claude-sonnet-4-5-20250929';
/** The server's clock: 2026-01-14T10:30:00Z, mid-hour and mid-day. */
const NOW = Date.UTC(2026, 0, 14, 10, 30);
const NOW_S = NOW / 1000;

interface Result {
  model: string | null;
  api_key_id: string | null;
  input_tokens: number;
  input_cached_tokens: number;
  output_tokens: number;
  num_model_requests: number;
  num_refused_requests: number;
  cost_usd: number;
}

describeEachDatabase("the Messages API's usage, as completions", (backend) => {
  let anthropic: FakeAnthropic;
  let openai: FakeUpstream;
  let t: TestServer;
  let keyA: { id: string; value: string };
  let keyB: { id: string; value: string };
  /** A key that may use gpt-4o-mini only: its Claude requests are refused (and counted as refusals where they count). */
  let keyC: { id: string; value: string };
  const client = (key: { value: string }) => new Anthropic({ apiKey: key.value, baseURL: t.url, maxRetries: 0, timeout: 15_000 });
  const hello = { model: SONNET, max_tokens: 256, messages: [{ role: 'user' as const, content: 'Hello, Claude' }] };

  beforeAll(async () => {
    anthropic = await startFakeAnthropic(ANTHROPIC_PROVIDER_KEY);
    openai = await startFakeUpstream();
    const file = gatewayConfigFile({
      providers: [
        { name: 'openai', base_url: openai.url, api_key_env: 'OPENAI_UP_KEY' },
        { name: 'anthropic', kind: 'anthropic', base_url: anthropic.url, api_key_env: 'ANTHROPIC_UP_KEY' },
      ],
      routes: { 'claude-*': 'anthropic', 'gpt-*': 'openai' },
      default_provider: 'openai',
      pricing: { 'gpt-4o-mini': { input: 0.15, cached_input: 0.075, output: 0.6 } },
    });
    t = await startTestServer(backend, {
      clock: () => NOW,
      env: { TOLLGATE_CONFIG: file, ANTHROPIC_UP_KEY: ANTHROPIC_PROVIDER_KEY, OPENAI_UP_KEY: OPENAI_PROVIDER_KEY },
    });
    const newKey = async (name: string, body: Record<string, unknown> = {}) =>
      (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name, ...body } })).body as { id: string; value: string };
    keyA = await newKey('anthropic sdk a');
    keyB = await newKey('anthropic sdk b');
    keyC = await newKey('anthropic sdk c', { allowed_models: ['gpt-4o-mini'] });

    // Key A: a Claude model natively (answered whole and streamed), and an OpenAI model translated (likewise).
    await client(keyA).messages.create(hello);
    await client(keyA).messages.stream(hello).finalMessage();
    await client(keyA).messages.create({ ...hello, model: 'gpt-4o-mini' });
    await client(keyA).messages.stream({ ...hello, model: 'gpt-4o-mini' }).finalMessage();
    // Key B: the Claude model once. Both count tokens of both models (free: never a completion).
    await client(keyB).messages.create(hello);
    for (const key of [keyA, keyB]) {
      await client(key).messages.countTokens({ model: SONNET, messages: hello.messages });
      await client(key).messages.countTokens({ model: 'gpt-4o-mini', messages: hello.messages });
    }
    // Key C: a message and a token count of a model it may not use, both refused.
    await expect(client(keyC).messages.create(hello)).rejects.toBeInstanceOf(Anthropic.PermissionDeniedError);
    await expect(client(keyC).messages.countTokens({ model: SONNET, messages: hello.messages })).rejects.toBeInstanceOf(Anthropic.PermissionDeniedError);
    await t.server.gateway.usage.flush();
  });
  afterAll(async () => {
    await t?.close();
    await anthropic?.close();
    await openai?.close();
  });

  /** What the gateway recorded of the Messages API requests, per (model, key): the usage results to expect. */
  async function recorded(): Promise<Result[]> {
    const rows = await t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', 'in', [keyA.id, keyB.id]).execute();
    const counted = rows.filter((r) => r.endpoint === '/messages');
    // Every request was recorded: five messages, four token counts (free).
    expect(counted.map((r) => [r.method, r.outcome, r.billable])).toEqual(Array(5).fill(['POST', 'ok', 1]));
    expect(rows.filter((r) => r.endpoint === '/messages/count_tokens').map((r) => [r.billable, Number(r.cost_nanousd)])).toEqual(Array(4).fill([0, 0]));
    const out = new Map<string, Result & { nano: number }>();
    for (const r of counted) {
      const id = `${r.model} ${r.api_key_id}`;
      const acc = out.get(id) ?? {
        model: r.model,
        api_key_id: r.api_key_id,
        input_tokens: 0,
        input_cached_tokens: 0,
        output_tokens: 0,
        num_model_requests: 0,
        num_refused_requests: 0,
        cost_usd: 0,
        nano: 0,
      };
      acc.input_tokens += r.input_tokens;
      acc.input_cached_tokens += r.cached_tokens;
      acc.output_tokens += r.output_tokens;
      acc.num_model_requests += 1;
      acc.nano += Number(r.cost_nanousd);
      out.set(id, acc);
    }
    return [...out.values()]
      .map(({ nano, ...r }) => ({ ...r, cost_usd: nano / 1e9 }))
      .sort((a, b) => `${a.model} ${a.api_key_id}`.localeCompare(`${b.model} ${b.api_key_id}`));
  }

  /** One bucket's results of GET usage/completions grouped by model and key, of keys A and B. */
  async function usage(width: '1m' | '1h' | '1d', start: number): Promise<Result[]> {
    const q = `start_time=${start}&bucket_width=${width}&limit=1&group_by=model,api_key_id&api_key_ids=${keyA.id},${keyB.id}`;
    const res = await t.api('GET', `${ORG}/usage/completions?${q}`);
    expect(res.status, res.text).toBe(200);
    const [bucket] = res.body.data as Array<{ start_time: number; results: Result[] }>;
    expect(bucket.start_time).toBe(start);
    return bucket.results
      .map((r) => ({
        model: r.model,
        api_key_id: r.api_key_id,
        input_tokens: r.input_tokens,
        input_cached_tokens: r.input_cached_tokens,
        output_tokens: r.output_tokens,
        num_model_requests: r.num_model_requests,
        num_refused_requests: r.num_refused_requests,
        cost_usd: r.cost_usd,
      }))
      .sort((a, b) => `${a.model} ${a.api_key_id}`.localeCompare(`${b.model} ${b.api_key_id}`));
  }

  it('counts every Messages request by model and key, native and translated, in minute, hour and day buckets', async () => {
    const expected = await recorded();
    // Native Claude of key A (whole: 12 + 12 tokens; streamed: 25 + 15), translated gpt-4o-mini of key A (11 + 7, 3
    // cached, twice), native Claude of key B.
    expect(expected.map((r) => [r.model, r.api_key_id, r.num_model_requests, r.input_tokens, r.output_tokens])).toEqual(
      [
        ['claude-sonnet-4-5-20250929', keyA.id, 2, 12 + 25, 12 + 15],
        ['claude-sonnet-4-5-20250929', keyB.id, 1, 12, 12],
        ['gpt-4o-mini', keyA.id, 2, 22, 14],
      ].sort((a, b) => `${a[0]} ${a[1]}`.localeCompare(`${b[0]} ${b[1]}`)),
    );
    expect(expected.every((r) => r.cost_usd > 0)).toBe(true);
    const minute = Math.floor(NOW_S / 60) * 60;
    const hour = Math.floor(NOW_S / 3600) * 3600;
    const day = Math.floor(NOW_S / 86_400) * 86_400;
    for (const [width, start] of [
      ['1m', minute],
      ['1h', hour],
      ['1d', day],
    ] as const) {
      const got = await usage(width, start);
      expect(got.map(({ cost_usd, ...r }) => r), width).toEqual(expected.map(({ cost_usd, ...r }) => r));
      for (const [i, r] of got.entries()) expect(r.cost_usd, `${width} ${r.model}`).toBeCloseTo(expected[i].cost_usd, 12);
    }
  });

  it('leaves count_tokens out, and totals match without grouping', async () => {
    const expected = await recorded();
    const total = (key: string) => expected.filter((r) => r.api_key_id === key).reduce((s, r) => s + r.num_model_requests, 0);
    for (const width of ['1m', '1d'] as const) {
      const start = width === '1m' ? Math.floor(NOW_S / 60) * 60 : Math.floor(NOW_S / 86_400) * 86_400;
      const res = await t.api('GET', `${ORG}/usage/completions?start_time=${start}&bucket_width=${width}&limit=1&group_by=api_key_id&api_key_ids=${keyA.id},${keyB.id}`);
      expect(res.status, res.text).toBe(200);
      const results = res.body.data[0].results as Result[];
      const byKey = Object.fromEntries(results.map((r) => [r.api_key_id, r.num_model_requests]));
      expect(byKey, width).toEqual({ [keyA.id]: total(keyA.id), [keyB.id]: total(keyB.id) });
      expect(byKey[keyA.id]).toBe(4);
    }
  });

  it("counts a refused Messages request as a refusal, and a refused count_tokens not at all (it is no completion)", async () => {
    const rows = await t.server.runtime.database.db.selectFrom('usage_events').select(['endpoint', 'outcome']).where('api_key_id', '=', keyC.id).orderBy('created_at_ms').execute();
    expect(rows.map((r) => [r.endpoint, r.outcome]).sort()).toEqual([
      ['/messages', 'refused'],
      ['/messages/count_tokens', 'refused'],
    ]);
    for (const width of ['1m', '1d'] as const) {
      const start = width === '1m' ? Math.floor(NOW_S / 60) * 60 : Math.floor(NOW_S / 86_400) * 86_400;
      const res = await t.api('GET', `${ORG}/usage/completions?start_time=${start}&bucket_width=${width}&limit=1&group_by=model&api_key_ids=${keyC.id}`);
      expect(res.status, res.text).toBe(200);
      const results = (res.body.data[0].results as Result[]).map((r) => [r.model, r.num_model_requests, r.num_refused_requests, r.input_tokens, r.cost_usd]);
      expect(results, width).toEqual([[SONNET, 0, 1, 0, 0]]);
    }
  });
});
