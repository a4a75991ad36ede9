import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXACT_COUNT_CHARS, loadTokenizer } from '../src/core/tokenizer.js';
import { ANTHROPIC_PROVIDER_KEY, OPENAI_PROVIDER_KEY, startTwoProviders, type TwoProviders } from './harness/provider-servers.js';
import { startTestServer, type TestServer } from './harness/server.js';

// One Tollgate key, both kinds of client, both kinds of provider (issue 20 §2): the openai SDK calling a Claude model
// through /v1/chat/completions (translated to Anthropic's Messages API and back), and the Anthropic SDK calling an
// OpenAI model through /v1/messages (translated to chat completions and back), metered and limited alike.

const ORG = '/v1/organization';

/** The error a call fails with (a call that succeeds fails the test). */
async function failure<E>(call: Promise<unknown>): Promise<E> {
  try {
    await call;
  } catch (err) {
    return err as E;
  }
  throw new Error('the call succeeded');
}
type OpenAIError = InstanceType<typeof OpenAI.APIError>;
type AnthropicError = InstanceType<typeof Anthropic.APIError> & { error: unknown };
const SONNET = 'claude-sonnet-4-5-20250929';
const weatherFn = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Get the weather', parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } },
};

describe('one key, both clients, both providers', () => {
  let p: TwoProviders;
  let key: { id: string; value: string };
  const openai = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${p.t.url}/v1`, maxRetries: 0, timeout: 15_000 });
  const anthropic = (apiKey: string) => new Anthropic({ apiKey, baseURL: p.t.url, maxRetries: 0, timeout: 15_000 });
  const lastEvent = async () => {
    await p.t.server.gateway.usage.flush();
    return p.t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', key.id).orderBy('created_at_ms', 'desc').executeTakeFirstOrThrow();
  };

  beforeAll(async () => {
    p = await startTwoProviders();
    key = (await p.t.api('POST', `${ORG}/projects/${p.t.defaultProjectId}/api_keys`, { body: { name: 'both' } })).body;
  });
  afterAll(async () => p?.close());

  describe('the openai SDK calling a Claude model', () => {
    it("chat.completions.create: translated to Anthropic's Messages API (system, max_tokens), answered as a chat completion, metered", async () => {
      p.anthropic.seen.length = 0;
      const res = await openai(key.value).chat.completions.create({
        model: SONNET,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hello' },
        ],
        temperature: 0.2,
      });
      expect(res.object).toBe('chat.completion');
      expect(res.choices[0]).toMatchObject({ message: { role: 'assistant', content: 'Hello! How can I help you today?' }, finish_reason: 'stop' });
      expect(res.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 12, total_tokens: 24 });
      const sent = p.anthropic.seen.at(-1)!;
      expect(sent.url).toBe('/v1/messages');
      expect(sent.headers['x-api-key']).toBe(ANTHROPIC_PROVIDER_KEY);
      expect(sent.headers['anthropic-version']).toBe('2023-06-01');
      // Sonnet 4.5 answers at most 64,000 tokens: that is the max_tokens Anthropic needs when the client sets none.
      expect(JSON.parse(sent.body)).toEqual({ model: SONNET, max_tokens: 64_000, system: [{ type: 'text', text: 'Be brief.' }], messages: [{ role: 'user', content: 'Hello' }], temperature: 0.2 });
      expect(await lastEvent()).toMatchObject({ endpoint: '/chat/completions', model: SONNET, provider: 'anthropic', input_tokens: 12, output_tokens: 12, cost_nanousd: 12 * 3000 + 12 * 15_000 });
    });

    it('tools: tool_calls with JSON arguments; streamed, the arguments in pieces and a usage chunk when asked', async () => {
      const res = await openai(key.value).chat.completions.create({ model: SONNET, messages: [{ role: 'user', content: 'Weather in SF?' }], tools: [weatherFn], tool_choice: 'auto' });
      expect(res.choices[0].finish_reason).toBe('tool_calls');
      const call = res.choices[0].message.tool_calls?.[0];
      expect(call).toMatchObject({ id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather' } });
      expect(JSON.parse((call as { function: { arguments: string } }).function.arguments)).toEqual({ location: 'San Francisco, CA', unit: 'celsius' });
      expect(JSON.parse(p.anthropic.seen.at(-1)!.body)).toMatchObject({ tools: [{ name: 'get_weather', input_schema: weatherFn.function.parameters }], tool_choice: { type: 'auto' } });

      const stream = await openai(key.value).chat.completions.create({ model: SONNET, messages: [{ role: 'user', content: 'Weather?' }], tools: [weatherFn], stream: true, stream_options: { include_usage: true } });
      let text = '';
      const args: string[] = [];
      let finish: string | null = null;
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of stream) {
        const c = chunk.choices[0];
        if (c?.delta.content) text += c.delta.content;
        for (const t of c?.delta.tool_calls ?? []) if (t.function?.arguments) args.push(t.function.arguments);
        finish = c?.finish_reason ?? finish;
        usage = chunk.usage ?? usage;
      }
      expect(text).toBe("Okay, let's check the weather.");
      expect(args).toEqual(['{"location":', ' "San Fra', 'ncisco, CA"}']);
      expect(finish).toBe('tool_calls');
      expect(usage).toMatchObject({ prompt_tokens: 472, completion_tokens: 89 });
      expect(await lastEvent()).toMatchObject({ endpoint: '/chat/completions', streamed: 1, outcome: 'ok', input_tokens: 472, output_tokens: 89 });
    });

    it('empty system and assistant text (OpenAI takes it, Anthropic refuses it) is left out; an empty user message is a 400 naming it', async () => {
      const res = await openai(key.value).chat.completions.create({
        model: SONNET,
        messages: [
          { role: 'system', content: '' },
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: '' },
          { role: 'user', content: 'again' },
        ],
      });
      expect(res.choices[0].message.content).toBe('Hello! How can I help you today?');
      const sent = JSON.parse(p.anthropic.seen.at(-1)!.body);
      expect(sent.system).toBeUndefined();
      expect(sent.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'text', text: 'again' }] }]);
      const before = p.anthropic.seen.length;
      const empty = await failure<OpenAIError>(openai(key.value).chat.completions.create({ model: SONNET, messages: [{ role: 'user', content: '' }] }));
      expect(empty).toMatchObject({ status: 400, param: 'messages[0].content', code: 'invalid_value' });
      expect(p.anthropic.seen.length).toBe(before);
    });

    it("top_p 1 (OpenAI's default, a no-op) is not sent beside the temperature: Claude Sonnet 4.5 refuses the two together", async () => {
      await openai(key.value).chat.completions.create({ model: SONNET, messages: [{ role: 'user', content: 'hi' }], temperature: 0.7, top_p: 1 });
      const sent = JSON.parse(p.anthropic.seen.at(-1)!.body);
      expect(sent.temperature).toBe(0.7);
      expect(sent).not.toHaveProperty('top_p');
    });

    it('a data:image/jpg URL (a spelling OpenAI takes) is sent as image/jpeg', async () => {
      await openai(key.value).chat.completions.create({ model: SONNET, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/jpg;base64,/9j/4AAQ' } }] }] });
      expect(JSON.parse(p.anthropic.seen.at(-1)!.body).messages[0].content).toEqual([{ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } }]);
    });

    it("the SDK's stream helper gets the final completion", async () => {
      const runner = openai(key.value).chat.completions.stream({ model: SONNET, messages: [{ role: 'user', content: 'Hello' }] });
      const final = await runner.finalChatCompletion();
      expect(final.choices[0].message.content).toBe('Hello!');
    });

    it("errors in OpenAI's shape: a field Anthropic has no place for, the provider's own errors", async () => {
      const before = p.anthropic.seen.length;
      const seed = await failure<OpenAIError>(openai(key.value).chat.completions.create({ model: SONNET, messages: [{ role: 'user', content: 'x' }], seed: 1 }));
      expect(seed).toBeInstanceOf(OpenAI.BadRequestError);
      expect(seed).toMatchObject({ status: 400, param: 'seed', code: 'invalid_value' });
      // Refused before it was forwarded (and before it was counted).
      expect(p.anthropic.seen.length).toBe(before);
      // An Anthropic beta header on an OpenAI client's call is refused, not dropped: the answer is read by the shapes
      // Tollgate translates, which a beta may change.
      const beta = await failure<OpenAIError>(
        openai(key.value).chat.completions.create({ model: SONNET, messages: [{ role: 'user', content: 'x' }] }, { headers: { 'anthropic-beta': 'context-1m-2025-08-07' } }),
      );
      expect(beta).toMatchObject({ status: 400, param: 'anthropic-beta', code: 'invalid_value' });
      expect(beta.message).toContain('context-1m-2025-08-07');
      expect(p.anthropic.seen.length).toBe(before);
      const bad = await failure<OpenAIError>(openai(key.value).chat.completions.create({ model: 'claude-error400', messages: [{ role: 'user', content: 'x' }] }));
      expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
      expect(bad).toMatchObject({ status: 400, message: expect.stringContaining('messages.0.content: Input should be a valid list'), code: 'invalid_request_error' });
      const busy = await failure<OpenAIError>(openai(key.value).chat.completions.create({ model: 'claude-overloaded', messages: [{ role: 'user', content: 'x' }] }));
      expect(busy).toBeInstanceOf(OpenAI.InternalServerError);
      expect(busy.status).toBe(529);
      // A Claude model is not served on OpenAI's other endpoints.
      const emb = await failure<OpenAIError>(openai(key.value).embeddings.create({ model: SONNET, input: 'x' }));
      expect(emb).toMatchObject({ status: 400, param: 'model' });
    });
  });

  describe('the Anthropic SDK calling an OpenAI model', () => {
    it("messages.create: translated to chat completions (max_completion_tokens), answered as an Anthropic message, metered", async () => {
      p.openai.seen.length = 0;
      const message = await anthropic(key.value).messages.create({ model: 'gpt-4o-mini', max_tokens: 100, system: 'Be brief.', messages: [{ role: 'user', content: 'Hello' }] });
      expect(message).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'text', text: 'Hi there!' }], stop_reason: 'end_turn' });
      // 11 prompt tokens, 3 of them cached: 8 fresh and 3 cache reads.
      expect(message.usage).toMatchObject({ input_tokens: 8, cache_read_input_tokens: 3, output_tokens: 7 });
      const sent = p.openai.seen.at(-1)!;
      expect(sent.url).toBe('/v1/chat/completions');
      expect(sent.headers.authorization).toBe(`Bearer ${OPENAI_PROVIDER_KEY}`);
      expect(sent.headers['anthropic-version']).toBeUndefined();
      expect(sent.headers['x-api-key']).toBeUndefined();
      expect(JSON.parse(sent.body)).toEqual({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello' }], max_completion_tokens: 100 });
      expect(await lastEvent()).toMatchObject({ endpoint: '/messages', model: 'gpt-4o-mini', provider: 'openai', input_tokens: 11, cached_tokens: 3, output_tokens: 7, cost_nanousd: 8 * 150 + 3 * 75 + 7 * 600 });
    });

    it('the .stream() helper: text as it comes, usage asked for and read', async () => {
      const stream = anthropic(key.value).messages.stream({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'Hello' }] });
      const texts: string[] = [];
      stream.on('text', (t) => texts.push(t));
      const final = await stream.finalMessage();
      expect(texts.join('')).toBe('Hi there!');
      expect(final.usage).toMatchObject({ input_tokens: 8, cache_read_input_tokens: 3, output_tokens: 7 });
      expect(JSON.parse(p.openai.seen.at(-1)!.body).stream_options).toEqual({ include_usage: true });
      expect(await lastEvent()).toMatchObject({ endpoint: '/messages', streamed: 1, outcome: 'ok', input_tokens: 11, output_tokens: 7 });
    });

    it('count_tokens is counted by Tollgate for a model whose provider has no such endpoint', async () => {
      const before = p.openai.seen.length;
      const counted = await anthropic(key.value).messages.countTokens({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello, how many tokens is this?' }] });
      expect(counted.input_tokens).toBeGreaterThan(8);
      expect(p.openai.seen.length).toBe(before);
    });

    it('count_tokens on a crafted ~8 MB body: the tokenizer encodes at most EXACT_COUNT_CHARS of it, and estimates the rest', async () => {
      // Letters of two scripts alternating: one piece to the tokenizer's pattern, each character ~6 µs to encode.
      let x = 3;
      const next = () => {
        x = (x * 1103515245 + 12345) & 0x7fffffff;
        return x;
      };
      const block = Array.from({ length: 4_096 }, (_, i) => String.fromCharCode(i % 2 ? 97 + (next() % 26) : 0x4e00 + (next() % 20_000))).join('');
      const text = block.repeat(1_000);
      const enc = await loadTokenizer();
      let encoded = 0;
      const encode = enc.encode.bind(enc);
      const spy = vi.spyOn(enc, 'encode').mockImplementation((t, ...rest) => {
        encoded += t.length;
        return encode(t, ...rest);
      });
      try {
        const started = performance.now();
        const res = await p.t.api('POST', '/v1/messages/count_tokens', {
          key: key.value,
          headers: { 'anthropic-version': '2023-06-01' },
          body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text.slice(0, 1_000_000) }, { role: 'assistant', content: 'ok' }, { role: 'user', content: text.slice(1_000_000) }] },
        });
        expect(res.status).toBe(200);
        expect(encoded).toBeLessThanOrEqual(EXACT_COUNT_CHARS);
        expect(encoded).toBeGreaterThan(EXACT_COUNT_CHARS / 2);
        // Past the exact count, the rest at the rate of what was counted (about 1.45 tokens a character here).
        expect(res.body.input_tokens).toBeGreaterThan(text.length * 1.2);
        expect(res.body.input_tokens).toBeLessThan(text.length * 1.8);
        // Secondary: unbounded, one piece of millions of characters was quadratic (hours).
        expect(performance.now() - started).toBeLessThan(20_000);
      } finally {
        spy.mockRestore();
      }
    }, 40_000);

    it("an OpenAI provider's error in Anthropic's shape, and the anthropic-beta it cannot honour", async () => {
      const err = await failure<AnthropicError>(anthropic(key.value).messages.create({ model: 'error500', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }));
      expect(err).toBeInstanceOf(Anthropic.InternalServerError);
      expect(err.status).toBe(500);
      expect(err.error).toEqual({ type: 'error', error: { type: 'api_error', message: 'The server had an error' }, request_id: err.requestID });
      const beta = await failure<AnthropicError>(anthropic(key.value).messages.create({ model: 'gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }, { headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14' } }));
      expect(beta).toBeInstanceOf(Anthropic.BadRequestError);
    });
  });
});

describe('the Anthropic SDK and the built-in echo model, offline', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' });
  });
  afterAll(async () => t?.close());

  it('answers, streams and counts through the translation, with real token counts', async () => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'echo' } })).body;
    const client = new Anthropic({ apiKey: key.value, baseURL: t.url, maxRetries: 0 });
    const message = await client.messages.create({ model: 'tollgate-echo', max_tokens: 50, messages: [{ role: 'user', content: 'echo this back' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'echo this back' }]);
    expect(message.usage.output_tokens).toBe(3);
    const stream = client.messages.stream({ model: 'tollgate-echo', max_tokens: 50, messages: [{ role: 'user', content: 'streamed words here' }] });
    const texts: string[] = [];
    stream.on('text', (x) => texts.push(x));
    const final = await stream.finalMessage();
    expect(texts.length).toBeGreaterThan(1);
    expect(texts.join('')).toBe('streamed words here');
    expect(final.usage.output_tokens).toBe(4);
    const cut = await client.messages.create({ model: 'tollgate-echo', max_tokens: 1, messages: [{ role: 'user', content: 'three words here' }] });
    expect(cut.stop_reason).toBe('max_tokens');
  });
});
