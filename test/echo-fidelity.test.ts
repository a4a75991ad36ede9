import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { componentProblems, contractProblems, specAvailable } from './harness/openapi-contract.js';
import { readEvents } from './harness/sse.js';
import { startTestServer, type TestServer } from './harness/server.js';

// The built-in model as OpenAI's own clients see it: every answer (objects, stream chunks and events, errors) is
// checked against OpenAI's published specification, and the official SDK's helpers are driven end to end.

const ORG = '/v1/organization';
const MODEL = 'tollgate-echo';

const expectConforms = (problems: string[]) => expect(problems, problems.join('\n')).toEqual([]);

describe.runIf(specAvailable() || process.env.CI === 'true')('tollgate-echo behaves like an OpenAI model', () => {
  let t: TestServer;
  let key: { id: string; value: string };
  let client: OpenAI;
  /** A raw POST under /v1 with the project key: status, headers, text and parsed JSON (or null). */
  const post = (path: string, body: unknown) => t.api('POST', `/v1${path}`, { key: key.value, body });
  const events = async () => {
    await t.server.gateway.usage.flush();
    return t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', key.id).orderBy('created_at_ms').execute();
  };

  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' });
    key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'echo' } })).body;
    client = new OpenAI({ apiKey: key.value, baseURL: `${t.url}/v1`, maxRetries: 0, timeout: 15_000 });
  });
  afterAll(async () => t?.close());

  describe('chat completions', () => {
    it('answers an object that conforms to the spec, with usage in its details', async () => {
      const res = await post('/chat/completions', { model: MODEL, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'Hello there friend' }] });
      expect(res.status).toBe(200);
      expectConforms(contractProblems('POST', '/chat/completions', 200, res.body));
      expect(res.body.choices[0]).toMatchObject({ index: 0, message: { role: 'assistant', content: 'Hello there friend' }, finish_reason: 'stop' });
      expect(res.body.usage).toMatchObject({ completion_tokens: 3, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } });
    });

    it('streams chunks that each conform, with "usage": null in every chunk and a usage chunk when the client asked', async () => {
      const res = await post('/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'one two three' }], stream: true, stream_options: { include_usage: true } });
      const chunks = readEvents(res.text).filter((e) => e.data !== '[DONE]');
      expect(readEvents(res.text).at(-1)?.data).toBe('[DONE]');
      for (const c of chunks) expectConforms(componentProblems('CreateChatCompletionStreamResponse', c.data));
      const datas = chunks.map((c) => c.data as { usage?: unknown; choices: unknown[] });
      expect(datas.slice(0, -1).every((d) => 'usage' in d && d.usage === null)).toBe(true);
      expect(datas.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 3 } });
    });

    it('sends no usage member at all in a stream whose client did not ask for usage', async () => {
      const res = await post('/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'one two three' }], stream: true });
      const chunks = readEvents(res.text).filter((e) => e.data !== '[DONE]');
      expect(chunks.length).toBeGreaterThan(3);
      for (const c of chunks) {
        expectConforms(componentProblems('CreateChatCompletionStreamResponse', c.data));
        expect(c.data).not.toHaveProperty('usage');
      }
      expect(res.text).not.toContain('usage');
      // Metered all the same: the gateway asked for usage on the client's behalf.
      expect((await events()).at(-1)).toMatchObject({ endpoint: '/chat/completions', streamed: 1, output_tokens: 3, outcome: 'ok' });
    });

    it("works with the SDK's streaming and its chat.completions.stream() helper", async () => {
      const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'stream me' }], stream: true, stream_options: { include_usage: true } });
      let text = '';
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        usage = chunk.usage ?? usage;
      }
      expect(text).toBe('stream me');
      expect(usage?.completion_tokens).toBe(2);
      const helper = client.chat.completions.stream({ model: MODEL, messages: [{ role: 'user', content: 'helped along' }] });
      const deltas: string[] = [];
      helper.on('content', (delta) => deltas.push(delta));
      const final = await helper.finalChatCompletion();
      expect(final.choices[0].message.content).toBe('helped along');
      expect(deltas.join('')).toBe('helped along');
    });

    it('honours n, max_tokens, max_completion_tokens, stop and logprobs as a model does', async () => {
      const res = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'alpha beta gamma delta' }], n: 2, max_completion_tokens: 2 });
      expect(res.choices.map((c) => [c.index, c.message.content, c.finish_reason])).toEqual([
        [0, 'alpha beta', 'length'],
        [1, 'alpha beta', 'length'],
      ]);
      expect(res.usage?.completion_tokens).toBe(4);
      const legacy = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'alpha beta gamma' }], max_tokens: 1 });
      expect(legacy.choices[0]).toMatchObject({ message: { content: 'alpha' }, finish_reason: 'length' });
      const stopped = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'alpha. beta' }], stop: ['.'] });
      expect(stopped.choices[0]).toMatchObject({ message: { content: 'alpha' }, finish_reason: 'stop' });
      const lp = await post('/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'a b' }], logprobs: true, top_logprobs: 2 });
      expectConforms(contractProblems('POST', '/chat/completions', 200, lp.body));
      expect(lp.body.choices[0].logprobs.content.map((c: { token: string; logprob: number }) => [c.token, c.logprob])).toEqual([
        ['a', 0],
        [' b', 0],
      ]);
    });

    it('answers the service tier it ran at: the one asked for, as OpenAI names it (auto or none: default; fast: priority)', async () => {
      const tierOf = async (path: string, body: Record<string, unknown>) => {
        const res = await post(path, body);
        expect(res.status, JSON.stringify(body)).toBe(200);
        if (!body.stream) return res.body.service_tier;
        const tiers = readEvents(res.text)
          .filter((e) => e.data !== '[DONE]')
          .map((e) => (e.data as { service_tier?: string; response?: { service_tier?: string } }).service_tier ?? (e.data as { response?: { service_tier?: string } }).response?.service_tier)
          .filter((x) => x !== undefined);
        expect(new Set(tiers).size, JSON.stringify(tiers)).toBe(1);
        return tiers[0];
      };
      const chat = { model: MODEL, messages: [{ role: 'user', content: 'hi' }] };
      const responses = { model: MODEL, input: 'hi' };
      expect(await tierOf('/chat/completions', chat)).toBe('default');
      expect(await tierOf('/chat/completions', { ...chat, service_tier: 'auto' })).toBe('default');
      expect(await tierOf('/chat/completions', { ...chat, service_tier: 'flex' })).toBe('flex');
      expect(await tierOf('/chat/completions', { ...chat, service_tier: 'fast', stream: true })).toBe('priority');
      expect(await tierOf('/responses', { ...responses, service_tier: 'priority' })).toBe('priority');
      expect(await tierOf('/responses', { ...responses, service_tier: 'flex', stream: true })).toBe('flex');
      // The usage event records the tier the answer named.
      expect((await events()).at(-1)).toMatchObject({ endpoint: '/responses', service_tier: 'flex' });
    });

    it('refuses a request without messages, or with empty or invalid ones, as OpenAI does (400, never 200)', async () => {
      const cases: Array<[unknown, string, string]> = [
        [{ model: MODEL }, 'missing_required_parameter', 'messages'],
        [{ model: MODEL, messages: [] }, 'empty_array', 'messages'],
        [{ model: MODEL, messages: 'hi' }, 'invalid_type', 'messages'],
        [{ model: MODEL, messages: ['hi'] }, 'invalid_type', 'messages[0]'],
        [{ model: MODEL, messages: [{ content: 'hi' }] }, 'missing_required_parameter', 'messages[0].role'],
        [{ model: MODEL, messages: [{ role: 'wizard', content: 'hi' }] }, 'invalid_value', 'role'],
        [{ model: MODEL, messages: [{ role: 'user' }] }, 'missing_required_parameter', 'messages[0].content'],
        [{ model: MODEL, messages: [{ role: 'user', content: 5 }] }, 'invalid_type', 'messages[0].content'],
        [{ model: MODEL, messages: [{ role: 'tool', content: 'x' }] }, 'missing_required_parameter', 'messages[0].tool_call_id'],
        [{ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream_options: { include_usage: true } }, 'invalid_value', 'stream_options'],
        [{ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: 'yes' }, 'invalid_type', 'stream'],
        [{ model: MODEL, messages: [{ role: 'user', content: 'hi' }], temperature: 3 }, 'invalid_value', 'temperature'],
        [{ model: MODEL, messages: [{ role: 'user', content: 'hi' }], n: 0 }, 'invalid_value', 'n'],
        [{ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1.5 }, 'invalid_type', 'max_tokens'],
        [{ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stop: ['a', 'b', 'c', 'd', 'e'] }, 'invalid_value', 'stop'],
        [{ model: MODEL, messages: [{ role: 'user', content: 'hi' }], temprature: 1 }, 'unknown_parameter', 'temprature'],
        [{ messages: [{ role: 'user', content: 'hi' }] }, 'missing_required_parameter', 'model'],
        [{ model: MODEL, messages: [{ role: 'user', content: 'hi' }], service_tier: 'ultrafast' }, 'invalid_value', 'service_tier'],
        [{ model: MODEL, messages: [{ role: 'user', content: 'hi' }], service_tier: 1 }, 'invalid_type', 'service_tier'],
      ];
      for (const [body, code, param] of cases) {
        const res = await post('/chat/completions', body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expectConforms(contractProblems('POST', '/chat/completions', 400, res.body));
        expect(res.body.error, JSON.stringify(body)).toMatchObject({ type: 'invalid_request_error', code, param });
      }
      const viaSdk = await client.chat.completions.create({ model: MODEL } as never).catch((e) => e);
      expect(viaSdk).toBeInstanceOf(OpenAI.BadRequestError);
      expect(viaSdk.message).toContain("Missing required parameter: 'messages'");
      // Refused by the model: nothing billed.
      expect((await events()).at(-1)).toMatchObject({ status: 400, billable: 0, input_tokens: 0 });
    });
  });

  describe('completions', () => {
    it('answers and streams objects that conform, one choice per prompt', async () => {
      const res = await post('/completions', { model: MODEL, prompt: ['first prompt', 'second'], max_tokens: 1 });
      expectConforms(contractProblems('POST', '/completions', 200, res.body));
      expect(res.body.choices.map((c: { text: string; finish_reason: string }) => [c.text, c.finish_reason])).toEqual([
        ['first', 'length'],
        ['second', 'stop'],
      ]);
      const sdk = await client.completions.create({ model: MODEL, prompt: 'say this' });
      expect(sdk.choices[0].text).toBe('say this');
      const stream = await post('/completions', { model: MODEL, prompt: 'say this', stream: true, stream_options: { include_usage: true } });
      const chunks = readEvents(stream.text).filter((e) => e.data !== '[DONE]');
      // The spec describes chunks with the completion object, whose finish_reason is a string; OpenAI's streams send
      // null until the last chunk of a choice (as chat chunks do): that one member is checked apart.
      for (const c of chunks) {
        const data = c.data as { choices: Array<{ finish_reason: string | null }> };
        expect(data.choices.every((ch) => ch.finish_reason === null || typeof ch.finish_reason === 'string')).toBe(true);
        const checked = { ...data, choices: data.choices.map((ch) => ({ ...ch, finish_reason: ch.finish_reason ?? 'stop' })) };
        expectConforms(componentProblems('CreateCompletionResponse', checked));
      }
      expect(chunks.at(-1)?.data).toMatchObject({ choices: [], usage: { completion_tokens: 2 } });
      const missing = await post('/completions', { model: MODEL });
      expect(missing.status).toBe(400);
      expect(missing.body.error).toMatchObject({ code: 'missing_required_parameter', param: 'prompt' });
    });
  });

  describe('embeddings', () => {
    it('answers base64 (the SDK default) and floats with the same float32 values, conforming to the spec', async () => {
      const raw = await post('/embeddings', { model: MODEL, input: ['a', 'b'], encoding_format: 'base64' });
      expect(typeof raw.body.data[0].embedding).toBe('string');
      // The spec types `embedding` as numbers only; OpenAI sends base64 as a string, checked here decoded.
      const decode = (b64: string) => {
        const bytes = Buffer.from(b64, 'base64');
        return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
      };
      const asNumbers = { ...raw.body, data: raw.body.data.map((d: { embedding: string }) => ({ ...d, embedding: decode(d.embedding) })) };
      expectConforms(contractProblems('POST', '/embeddings', 200, asNumbers));
      const floats = await post('/embeddings', { model: MODEL, input: ['a', 'b'], encoding_format: 'float' });
      expectConforms(contractProblems('POST', '/embeddings', 200, floats.body));
      const decoded = decode(raw.body.data[1].embedding);
      expect(decoded).toEqual(floats.body.data[1].embedding);
      expect(decoded).toHaveLength(1536);
      // The SDK asks for base64 when no format is named, and decodes it: real values, not zeros.
      const sdk = await client.embeddings.create({ model: MODEL, input: ['a', 'b'] });
      expect(sdk.data[1].embedding).toEqual(floats.body.data[1].embedding);
      expect(Math.hypot(...sdk.data[0].embedding)).toBeCloseTo(1, 5);
      expect(sdk.usage.prompt_tokens).toBe(2);
    });

    it('shortens to dimensions as text-embedding-3 does (the first N values, renormalised), and refuses what it cannot', async () => {
      const full = (await client.embeddings.create({ model: MODEL, input: 'hello', encoding_format: 'float' })).data[0].embedding;
      const short = (await client.embeddings.create({ model: MODEL, input: 'hello', encoding_format: 'float', dimensions: 256 })).data[0].embedding;
      expect(short).toHaveLength(256);
      const norm = Math.hypot(...full.slice(0, 256));
      for (const [i, v] of short.entries()) expect(v).toBeCloseTo(full[i] / norm, 6);
      expect(Math.hypot(...short)).toBeCloseTo(1, 5);
      const viaBase64 = await client.embeddings.create({ model: MODEL, input: 'hello', dimensions: 8 });
      expect(viaBase64.data[0].embedding).toHaveLength(8);
      for (const [body, code, param] of [
        [{ model: MODEL, input: 'x', dimensions: 2000 }, 'invalid_value', 'dimensions'],
        [{ model: MODEL, input: 'x', dimensions: 0 }, 'invalid_value', 'dimensions'],
        [{ model: MODEL, input: 'x', encoding_format: 'int8' }, 'invalid_value', 'encoding_format'],
        [{ model: MODEL }, 'missing_required_parameter', 'input'],
        [{ model: MODEL, input: '' }, 'invalid_type', 'input'],
        [{ model: MODEL, input: [] }, 'invalid_type', 'input'],
      ] as const) {
        const res = await post('/embeddings', body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.error, JSON.stringify(body)).toMatchObject({ code, param });
      }
    });

    it('embeds token ids as the text they encode', async () => {
      const text = (await post('/embeddings', { model: MODEL, input: 'hello world', encoding_format: 'float' })).body;
      const ids = (await post('/embeddings', { model: MODEL, input: [24912, 2375], encoding_format: 'float' })).body;
      expect(ids.data[0].embedding).toEqual(text.data[0].embedding);
      expect(ids.usage.prompt_tokens).toBe(2);
    });
  });

  describe('responses', () => {
    const SEQUENCE = [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ];

    it('answers a Response object with every member the spec requires', async () => {
      const res = await post('/responses', { model: MODEL, input: 'respond please', instructions: 'be kind', metadata: { a: 'b' }, temperature: 0.5 });
      expect(res.status).toBe(200);
      expectConforms(contractProblems('POST', '/responses', 200, res.body));
      expect(res.body).toMatchObject({ object: 'response', status: 'completed', instructions: 'be kind', metadata: { a: 'b' }, temperature: 0.5, error: null });
      expect(res.body.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'respond please' }] });
      const sdk = await client.responses.create({ model: MODEL, input: [{ role: 'user', content: [{ type: 'input_text', text: 'from items' }] }] });
      expect(sdk.output_text).toBe('from items');
    });

    it("streams OpenAI's whole named event sequence, numbered, each event conforming to the spec", async () => {
      const res = await post('/responses', { model: MODEL, input: 'one two three', stream: true });
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const evs = readEvents(res.text);
      expect(evs.map((e) => e.event)).toEqual(SEQUENCE);
      evs.forEach((e, i) => {
        const data = e.data as { type: string; sequence_number: number };
        expect(data.type).toBe(e.event);
        expect(data.sequence_number).toBe(i);
        expectConforms(componentProblems('ResponseStreamEvent', data));
      });
      const deltas = evs.filter((e) => e.event === 'response.output_text.delta').map((e) => (e.data as { delta: string }).delta);
      expect(deltas.join('')).toBe('one two three');
      const completed = evs.at(-1)?.data as { response: unknown };
      expectConforms(contractProblems('POST', '/responses', 200, completed.response));
      expect(completed.response).toMatchObject({ status: 'completed', usage: { output_tokens: 3 } });
      expect((await events()).at(-1)).toMatchObject({ endpoint: '/responses', streamed: 1, output_tokens: 3, outcome: 'ok', billable: 1 });
    });

    it("works with the SDK's responses.stream() helper and responses.create({ stream: true })", async () => {
      const helper = client.responses.stream({ model: MODEL, input: 'helper text' });
      const deltas: string[] = [];
      helper.on('response.output_text.delta', (e) => deltas.push(e.delta));
      const final = await helper.finalResponse();
      expect(final.output_text).toBe('helper text');
      expect(deltas.join('')).toBe('helper text');
      const stream = await client.responses.create({ model: MODEL, input: 'raw events', stream: true });
      const types: string[] = [];
      let text = '';
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === 'response.output_text.delta') text += event.delta;
      }
      expect(text).toBe('raw events');
      expect(types[0]).toBe('response.created');
      expect(types.at(-1)).toBe('response.completed');
    });

    it('stops at max_output_tokens with an incomplete response, streamed to its response.incomplete end and billed', async () => {
      const words = Array.from({ length: 30 }, (_, i) => `w${i}`).join(' ');
      const res = await post('/responses', { model: MODEL, input: words, max_output_tokens: 16 });
      expectConforms(contractProblems('POST', '/responses', 200, res.body));
      expect(res.body).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage: { output_tokens: 16 } });
      const streamed = await post('/responses', { model: MODEL, input: words, max_output_tokens: 16, stream: true });
      const evs = readEvents(streamed.text);
      expect(evs.at(-1)?.event).toBe('response.incomplete');
      for (const e of evs) expectConforms(componentProblems('ResponseStreamEvent', e.data));
      expect(streamed.text).not.toContain('upstream_error');
      expect((await events()).at(-1)).toMatchObject({ endpoint: '/responses', outcome: 'ok', output_tokens: 16, billable: 1 });
    });

    it('refuses what a model that stores nothing cannot do, and what OpenAI refuses', async () => {
      for (const [body, code, param] of [
        [{ model: MODEL, input: 'x', background: true }, 'invalid_value', 'background'],
        [{ model: MODEL, input: 'x', max_output_tokens: 5 }, 'invalid_value', 'max_output_tokens'],
        [{ model: MODEL, input: 5 }, 'invalid_type', 'input'],
        [{ model: MODEL }, 'missing_required_parameter', 'input'],
        [{ model: MODEL, input: 'x', bogus: 1 }, 'unknown_parameter', 'bogus'],
        [{ model: MODEL, input: 'x', service_tier: 'turbo' }, 'invalid_value', 'service_tier'],
      ] as const) {
        const res = await post('/responses', body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expectConforms(contractProblems('POST', '/responses', 400, res.body));
        expect(res.body.error, JSON.stringify(body)).toMatchObject({ code, param });
      }
      // A previous response is refused: by the gateway, which knows of no such object of this project (404), before the
      // echo model (which stores none) would refuse it.
      const previous = await post('/responses', { model: MODEL, input: 'x', previous_response_id: 'resp_123' });
      expect(previous.status).toBeGreaterThanOrEqual(400);
      expectConforms(contractProblems('POST', '/responses', previous.status, previous.body));
    });
  });
});
