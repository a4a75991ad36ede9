import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANTHROPIC_PROVIDER_KEY, startTwoProviders, type TwoProviders } from './harness/provider-servers.js';

// Anthropic's Messages API through Tollgate (issue 20 §1), with the official @anthropic-ai/sdk as the client and a fake
// Anthropic upstream: messages, streams (the .stream() helper and raw events), tools, count_tokens, and every refusal
// Tollgate makes, as the SDK's typed errors. Every key rule applies as on OpenAI's paths.

const ORG = '/v1/organization';
const SONNET = 'claude-sonnet-4-5-20250929';

describe("Anthropic's Messages API with the Anthropic SDK", () => {
  let p: TwoProviders;
  let key: { id: string; value: string };
  const client = (apiKey: string | null, o: Partial<ConstructorParameters<typeof Anthropic>[0]> = {}) => new Anthropic({ apiKey, baseURL: p.t.url, maxRetries: 0, timeout: 15_000, ...o });
  const newKey = async (body: Record<string, unknown> = {}) =>
    (await p.t.api('POST', `${ORG}/projects/${p.t.defaultProjectId}/api_keys`, { body: { name: 'anthropic', ...body } })).body as { id: string; value: string };
  const events = async (keyId: string) => {
    await p.t.server.gateway.usage.flush();
    return p.t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', keyId).orderBy('created_at_ms').execute();
  };
  /** The error a call fails with. */
  const failure = async (call: Promise<unknown>) => {
    try {
      await call;
    } catch (err) {
      return err as InstanceType<typeof Anthropic.APIError> & { error: { type: string; error: { type: string; message: string; details?: { error_code: string } }; request_id: string } };
    }
    throw new Error('the call succeeded');
  };
  const hello = { model: SONNET, max_tokens: 256, messages: [{ role: 'user' as const, content: 'Hello, Claude' }] };
  const weather = {
    name: 'get_weather',
    description: 'Get the current weather in a given location',
    input_schema: { type: 'object' as const, properties: { location: { type: 'string' } }, required: ['location'] },
  };

  beforeAll(async () => {
    p = await startTwoProviders();
    key = await newKey();
  });
  afterAll(async () => p?.close());

  describe('answers', () => {
    it('messages.create: forwarded with the provider key and the client version and betas, answered with Tollgate ids, metered', async () => {
      p.anthropic.seen.length = 0;
      // What the SDK itself sends, to see it arrive unchanged.
      let clientVersion: string | null = null;
      const spy: typeof fetch = (url, init) => {
        clientVersion = new Headers(init?.headers).get('anthropic-version');
        return fetch(url, init);
      };
      const { data: message, response, request_id } = await client(key.value, { fetch: spy })
        .messages.create(hello, { headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' } })
        .withResponse();
      expect(message.content).toEqual([{ type: 'text', text: 'Hello! How can I help you today?' }]);
      expect(message.usage.input_tokens).toBe(12);
      const sent = p.anthropic.seen.at(-1)!;
      expect(sent.url).toBe('/v1/messages');
      expect(sent.headers['x-api-key']).toBe(ANTHROPIC_PROVIDER_KEY);
      expect(clientVersion).toMatch(/^\d{4}-\d\d-\d\d$/);
      expect(sent.headers['anthropic-version']).toBe(clientVersion);
      expect(sent.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
      expect(JSON.stringify(sent.headers)).not.toContain(key.value);
      expect(sent.headers.authorization).toBeUndefined();
      expect(JSON.parse(sent.body)).toEqual(hello);
      // Tollgate's request id where Anthropic's SDK reads it; the provider's account details and limits never.
      expect(request_id).toMatch(/^req_/);
      expect(response.headers.get('x-request-id')).toBe(request_id);
      expect(response.headers.get('x-upstream-request-id')).toBe('req_011CFakeAnthropic');
      expect(response.headers.get('anthropic-organization-id')).toBeNull();
      expect(response.headers.get('anthropic-ratelimit-requests-limit')).toBeNull();
      const ev = (await events(key.id)).at(-1)!;
      expect(ev).toMatchObject({ endpoint: '/messages', model: SONNET, provider: 'anthropic', status: 200, outcome: 'ok', billable: 1, input_tokens: 12, output_tokens: 12, streamed: 0, request_id });
      expect(Number(ev.cost_nanousd)).toBe(12 * 3000 + 12 * 15_000);
    });

    it('prices cache writes and cache reads at their own rates', async () => {
      const message = await client(key.value).messages.create({ ...hello, model: 'claude-sonnet-4-5-cached' });
      expect(message.usage).toMatchObject({ input_tokens: 50, cache_creation_input_tokens: 2048, cache_read_input_tokens: 10_000 });
      const ev = (await events(key.id)).at(-1)!;
      expect(ev).toMatchObject({ input_tokens: 50 + 2048 + 10_000, cached_tokens: 10_000, output_tokens: 14 });
      expect(Number(ev.cost_nanousd)).toBe(50 * 3000 + 2048 * 3750 + 10_000 * 300 + 14 * 15_000);
    });

    it('bills the sampling steps its top-level usage leaves out: server-side compaction, answered whole or streamed', async () => {
      // Found by an outside review: only the top-level counts were billed, which after a compaction are the message's
      // alone; the summary step (here 180,000 tokens read, 3,500 written) went unbilled.
      const compaction = { context_management: { edits: [{ type: 'compact_20260112' }] } };
      const message = await client(key.value).messages.create({ ...hello, ...compaction } as never);
      expect(message.usage.input_tokens).toBe(12);
      const ev = (await events(key.id)).at(-1)!;
      expect(ev).toMatchObject({ input_tokens: 180_012, output_tokens: 3512 });
      expect(Number(ev.cost_nanousd)).toBe(180_012 * 3000 + 3512 * 15_000);
      await client(key.value).messages.stream({ ...hello, ...compaction } as never).finalMessage();
      expect((await events(key.id)).at(-1)).toMatchObject({ streamed: 1, outcome: 'ok', input_tokens: 180_025, output_tokens: 3515 });
    });

    it('the .stream() helper: text as it comes, the final message with usage, metered from the stream', async () => {
      const stream = client(key.value).messages.stream(hello);
      const texts: string[] = [];
      stream.on('text', (t) => texts.push(t));
      const final = await stream.finalMessage();
      expect(texts).toEqual(['Hello', '!']);
      expect(final.content).toEqual([{ type: 'text', text: 'Hello!' }]);
      expect(final.stop_reason).toBe('end_turn');
      expect(final.usage).toMatchObject({ input_tokens: 25, output_tokens: 15 });
      const ev = (await events(key.id)).at(-1)!;
      expect(ev).toMatchObject({ endpoint: '/messages', streamed: 1, outcome: 'ok', input_tokens: 25, output_tokens: 15 });
    });

    it('raw events with stream: true', async () => {
      const stream = await client(key.value).messages.create({ ...hello, stream: true });
      const types: string[] = [];
      for await (const event of stream) types.push(event.type);
      expect(types).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    });

    it('tools: a tool_use answer, and a streamed one whose input arrives in pieces', async () => {
      const message = await client(key.value).messages.create({ ...hello, tools: [weather], messages: [{ role: 'user', content: 'Weather in San Francisco?' }] });
      expect(message.stop_reason).toBe('tool_use');
      expect(message.content[1]).toEqual({ type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', input: { location: 'San Francisco, CA', unit: 'celsius' } });
      const stream = client(key.value).messages.stream({ ...hello, tools: [weather] });
      const pieces: string[] = [];
      stream.on('inputJson', (piece) => pieces.push(piece));
      const final = await stream.finalMessage();
      expect(pieces.join('')).toBe('{"location": "San Francisco, CA"}');
      expect(final.content.at(-1)).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { location: 'San Francisco, CA' } });
      expect((await events(key.id)).at(-1)).toMatchObject({ streamed: 1, input_tokens: 472, output_tokens: 89 });
    });

    it('count_tokens: forwarded, and free', async () => {
      const counted = await client(key.value).messages.countTokens({ model: SONNET, messages: hello.messages });
      expect(counted).toEqual({ input_tokens: 14 });
      expect(p.anthropic.seen.at(-1)?.url).toBe('/v1/messages/count_tokens');
      expect((await events(key.id)).at(-1)).toMatchObject({ endpoint: '/messages/count_tokens', status: 200, billable: 0, cost_nanousd: 0 });
    });

    it('models.list: the models the key may use, of every provider, in Anthropic’s shape', async () => {
      const all: string[] = [];
      for await (const m of client(key.value).models.list()) all.push(m.id);
      expect(all).toEqual(expect.arrayContaining(['claude-sonnet-4-5-20250929', 'claude-haiku-4-5-20251001', 'gpt-4o', 'gpt-4o-mini']));
      const limited = await newKey({ allowed_models: ['claude-haiku-4-5-20251001'] });
      const page = await client(limited.value).models.list();
      expect(page.data.map((m) => m.id)).toEqual(['claude-haiku-4-5-20251001']);
      expect(page.data[0]).toMatchObject({ type: 'model', display_name: 'claude-haiku-4-5-20251001' });
      const one = await client(limited.value).models.retrieve('claude-haiku-4-5-20251001');
      expect(one.id).toBe('claude-haiku-4-5-20251001');
      expect((await failure(client(limited.value).models.retrieve(SONNET))).status).toBe(404);
    });
  });

  describe("each refusal, as the SDK's typed errors in Anthropic's shape", () => {
    const refused = async (call: Promise<unknown>, status: number, type: string, code: string, Class: new (...a: never[]) => unknown) => {
      const err = await failure(call);
      expect(err).toBeInstanceOf(Class);
      expect(err.status).toBe(status);
      expect(err.error).toMatchObject({ type: 'error', error: { type, details: { error_code: code } } });
      expect(err.error.request_id).toBe(err.requestID);
      expect(err.headers?.get('content-type')).toContain('application/json');
      return err;
    };

    it('authentication: a wrong key, a revoked key', async () => {
      await refused(client('sk-tg-wrong').messages.create(hello), 401, 'authentication_error', 'invalid_api_key', Anthropic.AuthenticationError);
      const k = await newKey();
      await p.t.api('DELETE', `${ORG}/projects/${p.t.defaultProjectId}/api_keys/${k.id}`);
      await refused(client(k.value).messages.create(hello), 401, 'authentication_error', 'invalid_api_key', Anthropic.AuthenticationError);
    });

    it('permissions: the address, the scope, the model allowlist', async () => {
      await refused(client((await newKey({ allowed_ips: ['10.0.0.0/8'] })).value).messages.create(hello), 403, 'permission_error', 'ip_not_allowed', Anthropic.PermissionDeniedError);
      const chatOnly = await newKey({ permissions: { restricted: { 'chat.completions': 'write' } } });
      const err = await refused(client(chatOnly.value).messages.create(hello), 403, 'permission_error', 'insufficient_permissions', Anthropic.PermissionDeniedError);
      expect(err.error.error.message).toContain('messages');
      const messagesOnly = await newKey({ permissions: { restricted: { messages: 'write' } } });
      expect((await client(messagesOnly.value).messages.create(hello)).content).toHaveLength(1);
      expect((await client(messagesOnly.value).messages.countTokens({ model: SONNET, messages: hello.messages })).input_tokens).toBe(14);
      await refused(client((await newKey({ allowed_models: ['gpt-4o-mini'] })).value).messages.create(hello), 403, 'permission_error', 'insufficient_permissions', Anthropic.PermissionDeniedError);
    });

    it('limits: requests per minute, a request quota, a spend limit reserved from max_tokens', async () => {
      const rpm = await newKey({ rate_limits: { max_requests_per_1_minute: 1 } });
      await client(rpm.value).messages.create(hello);
      const limited = await refused(client(rpm.value).messages.create(hello), 429, 'rate_limit_error', 'rate_limit_exceeded', Anthropic.RateLimitError);
      expect(Number(limited.headers?.get('retry-after'))).toBeGreaterThan(0);
      const quota = await newKey({ request_quota: { max_requests: 1, interval: 'day' } });
      await client(quota.value).messages.create(hello);
      await refused(client(quota.value).messages.create(hello), 429, 'rate_limit_error', 'api_key_quota_exceeded', Anthropic.RateLimitError);
      // One cent: 256 output tokens of Sonnet ($15/M) fit, 1,000 do not.
      const budget = await newKey({ spend_limit: { threshold_amount: 1, interval: 'month' } });
      await refused(client(budget.value).messages.create({ ...hello, max_tokens: 1000 }), 429, 'rate_limit_error', 'api_key_spend_limit_exceeded', Anthropic.RateLimitError);
      expect((await client(budget.value).messages.create({ ...hello, max_tokens: 256 })).content).toHaveLength(1);
      // TPM reserves max_tokens too.
      const tpm = await newKey({ rate_limits: { max_tokens_per_1_minute: 500 } });
      await refused(client(tpm.value).messages.create({ ...hello, max_tokens: 600 }), 429, 'rate_limit_error', 'rate_limit_exceeded', Anthropic.RateLimitError);
      expect(p.anthropic.seen.every((s) => !JSON.parse(s.body || '{}').max_tokens || JSON.parse(s.body).max_tokens !== 600)).toBe(true);
    });

    it('a spend limit: fast mode and regional inference (billed at multiples the usage does not state), web fetch and MCP servers (input no reservation bounds) are refused, never forwarded', async () => {
      const budget = await newKey({ spend_limit: { threshold_amount: 100, interval: 'month' } });
      const sent = p.anthropic.seen.length;
      for (const extra of [{ speed: 'fast' }, { inference_geo: 'us' }]) {
        const err = await refused(client(budget.value).messages.create({ ...hello, ...extra } as never), 403, 'permission_error', 'endpoint_not_metered', Anthropic.PermissionDeniedError);
        expect(err.error.error.message).toContain('fast mode');
      }
      // So are tools whose results are input no reservation bounds: fetched pages, MCP servers' answers.
      // And steps that sample a model again beside the message: server-side compaction, the advisor tool (another model).
      for (const extra of [
        { tools: [{ type: 'web_fetch_20250910', name: 'web_fetch' }] },
        { mcp_servers: [{ type: 'url', url: 'https://mcp.example/sse', name: 'big' }] },
        { context_management: { edits: [{ type: 'compact_20260112' }] } },
        { tools: [{ type: 'advisor_20260301', name: 'advisor', model: 'claude-opus-4-6' }] },
      ]) {
        await refused(client(budget.value).messages.create({ ...hello, ...extra } as never), 403, 'permission_error', 'endpoint_not_metered', Anthropic.PermissionDeniedError);
      }
      expect(p.anthropic.seen.length).toBe(sent);
      // Their standard values ask for nothing more; a key without a spend limit may use them.
      expect((await client(budget.value).messages.create({ ...hello, speed: 'standard', inference_geo: 'global' } as never)).content).toHaveLength(1);
      expect((await client(key.value).messages.create({ ...hello, speed: 'fast' } as never)).content).toHaveLength(1);
    });

    it('bad input: a body that is not an object, no model, a field an OpenAI model cannot take', async () => {
      const raw = await fetch(`${p.t.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': key.value, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: '[1]' });
      expect(raw.status).toBe(400);
      expect(await raw.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      await refused(client(key.value).messages.create({ max_tokens: 10, messages: [] } as never), 400, 'invalid_request_error', 'missing_required_parameter', Anthropic.BadRequestError);
      const err = await refused(client(key.value).messages.create({ ...hello, model: 'gpt-4o-mini', top_k: 5 } as never), 400, 'invalid_request_error', 'invalid_value', Anthropic.BadRequestError);
      expect(err.error.error.message).toContain("'top_k'");
    });

    it("the provider's own errors: passed on in Anthropic's shape; its refusal of Tollgate's key is the operator's (502), never shown", async () => {
      const bad = await failure(client(key.value).messages.create({ ...hello, model: 'claude-error400' }));
      expect(bad).toBeInstanceOf(Anthropic.BadRequestError);
      expect(bad.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'messages.0.content: Input should be a valid list' } });
      // Tollgate's request id in the body as in `request-id` (docs/providers.md); the provider's only as x-upstream-request-id.
      expect(bad.requestID).toMatch(/^req_/);
      expect(bad.error.request_id).toBe(bad.requestID);
      expect(bad.headers?.get('x-upstream-request-id')).toBe('req_011CFakeAnthropic');
      const overloaded = await failure(client(key.value).messages.create({ ...hello, model: 'claude-overloaded' }));
      expect(overloaded).toBeInstanceOf(Anthropic.OverloadedError);
      expect(overloaded.error.request_id).toBe(overloaded.requestID);
      expect(JSON.stringify(overloaded.error)).not.toContain('req_011CFakeAnthropic');
      const creds = await refused(client(key.value).messages.create({ ...hello, model: 'claude-refuses-key' }), 502, 'api_error', 'upstream_auth_failed', Anthropic.InternalServerError);
      expect(JSON.stringify(creds.error)).not.toContain('sk-ant-api03');
    });

    it('a stream the provider cuts off ends with an Anthropic error event', async () => {
      const stream = client(key.value).messages.stream({ ...hello, model: 'claude-cutoff' });
      const err = await stream.finalMessage().catch((e: unknown) => e);
      expect(String(err)).toContain('The upstream stream ended unexpectedly.');
      // Tollgate's own error event carries what its other errors do: the request's id and the code.
      const raw = await fetch(`${p.t.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': key.value, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ ...hello, model: 'claude-cutoff', stream: true }),
      });
      const text = await raw.text();
      const error = JSON.parse(/event: error\ndata: (.*)\n/.exec(text)?.[1] ?? 'null');
      expect(error).toEqual({
        type: 'error',
        error: { type: 'api_error', message: 'The upstream stream ended unexpectedly.', details: { error_code: 'upstream_error' } },
        request_id: raw.headers.get('request-id'),
      });
      expect(error.request_id).toMatch(/^req_/);
      // Metered once the output it delivered is counted (the tokenizer loads on first use): after the client saw the end.
      await expect.poll(async () => (await events(key.id)).at(-1)?.model, { timeout: 5000 }).toBe('claude-cutoff');
      expect((await events(key.id)).at(-1)).toMatchObject({ model: 'claude-cutoff', streamed: 1, outcome: 'stream_interrupted', input_tokens: 7 });
    });
  });

  describe('attacks', () => {
    const post = (headers: Record<string, string>, body: unknown = hello, path = '/v1/messages') =>
      fetch(`${p.t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

    it('a key in x-api-key and another in Authorization (or api-key) is refused; the same key in both is one key', async () => {
      const other = await newKey();
      for (const headers of [
        { 'x-api-key': key.value, authorization: `Bearer ${other.value}` } as Record<string, string>,
        { 'x-api-key': 'sk-tg-guess', authorization: `Bearer ${key.value}` },
        { 'x-api-key': key.value, 'api-key': other.value },
      ]) {
        const res = await post(headers);
        expect(res.status, JSON.stringify(Object.keys(headers))).toBe(401);
        expect((await res.json()).error).toMatchObject({ type: 'authentication_error', details: { error_code: 'invalid_api_key' } });
      }
      expect((await post({ 'x-api-key': key.value, authorization: `Bearer ${key.value}` })).status).toBe(200);
      // Claude Code's ANTHROPIC_AUTH_TOKEN: the key as a bearer token alone.
      expect((await post({ authorization: `Bearer ${key.value}` })).status).toBe(200);
      const noKey = await post({});
      expect(noKey.status).toBe(401);
      expect((await noKey.json()).error.type).toBe('authentication_error');
    });

    it('a missing anthropic-version is the provider default; a client version is passed as sent', async () => {
      expect((await post({ 'x-api-key': key.value })).status).toBe(200);
      expect(p.anthropic.seen.at(-1)?.headers['anthropic-version']).toBe('2023-06-01');
      expect((await post({ 'x-api-key': key.value, 'anthropic-version': '2023-01-01' })).status).toBe(200);
      expect(p.anthropic.seen.at(-1)?.headers['anthropic-version']).toBe('2023-01-01');
    });

    it('other spellings of the path are not the Messages API: refused, never forwarded', async () => {
      const before = p.anthropic.seen.length;
      for (const path of ['/v1/Messages', '/v1/messages/', '/v1//messages', '/v1/messages;x', '/v1/%6Dessages', '/v1/messages/Count_Tokens', '/V1/messages']) {
        const res = await post({ 'x-api-key': key.value }, hello, path);
        expect(res.status, path).toBe(404);
      }
      expect(p.anthropic.seen.length).toBe(before);
    });

    it('another method is 405 after the key is checked; an unknown key learns nothing', async () => {
      const get = await fetch(`${p.t.url}/v1/messages`, { headers: { 'x-api-key': key.value } });
      expect(get.status).toBe(405);
      expect((await get.json()).error).toMatchObject({ type: 'invalid_request_error', details: { error_code: 'method_not_allowed' } });
      expect((await fetch(`${p.t.url}/v1/messages`, { headers: { 'x-api-key': 'sk-tg-nope' } })).status).toBe(401);
    });

    it('an Anthropic beta cannot reach an OpenAI model unnoticed', async () => {
      const res = await post({ 'x-api-key': key.value, 'anthropic-beta': 'context-1m-2025-08-07' }, { ...hello, model: 'gpt-4o-mini' });
      expect(res.status).toBe(400);
      expect((await res.json()).error.message).toContain("'anthropic-beta'");
    });
  });
});
