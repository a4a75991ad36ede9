import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { zodFunction, zodResponseFormat, zodTextFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { componentProblems, contractProblems, specAvailable } from './harness/openapi-contract.js';
import { readEvents } from './harness/sse.js';
import { startTestServer, type TestServer } from './harness/server.js';

// The built-in model's structured outputs and tool calls, as the official SDKs use them: response_format and
// text.format answer JSON that the SDKs' parse helpers parse by the zod schema, a forced tool_choice answers a call
// of the function with arguments its schema accepts, streamed and not, and what OpenAI refuses is refused (400 naming
// the parameter). It used to ignore all of these and answer the echoed text (the parse helpers threw SyntaxError).

const ORG = '/v1/organization';
const MODEL = 'tollgate-echo';

const Thing = z.object({
  title: z.string(),
  count: z.number().int(),
  ok: z.boolean(),
  tags: z.array(z.string()),
  kind: z.enum(['first', 'second']),
  nested: z.object({ note: z.string().nullable(), when: z.string().datetime() }),
  either: z.union([z.string(), z.number()]),
});
const Weather = z.object({ location: z.string(), unit: z.enum(['c', 'f']), days: z.number().int().min(1) });

const expectConforms = (problems: string[]) => expect(problems, problems.join('\n')).toEqual([]);
const checkSpec = specAvailable();

describe('tollgate-echo: structured outputs and tool calls', () => {
  let t: TestServer;
  let key: string;
  let client: OpenAI;
  const post = (path: string, body: unknown) => t.api('POST', `/v1${path}`, { key, body });

  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' });
    key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'structured' } })).body.value;
    client = new OpenAI({ apiKey: key, baseURL: `${t.url}/v1`, maxRetries: 0, timeout: 15_000 });
  });
  afterAll(async () => t?.close());

  const expectThing = (v: z.infer<typeof Thing> | null | undefined, text: string) =>
    expect(v).toEqual({ title: text, count: 0, ok: false, tags: [], kind: 'first', nested: { note: text, when: '1970-01-01T00:00:00Z' }, either: text });

  describe('chat completions', () => {
    it('chat.completions.parse with a zod response_format: JSON by the schema, from the echoed text', async () => {
      const res = await client.chat.completions.parse({ model: MODEL, messages: [{ role: 'user', content: 'make a thing' }], response_format: zodResponseFormat(Thing, 'thing') });
      expect(res.choices[0].finish_reason).toBe('stop');
      expectThing(res.choices[0].message.parsed, 'make a thing');
      const raw = await post('/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'say json' }], response_format: { type: 'json_object' } });
      expect(JSON.parse(raw.body.choices[0].message.content)).toEqual({ echo: 'say json' });
      // Metered as the echo's answers are: the JSON's tokens.
      expect(raw.body.usage.completion_tokens).toBeGreaterThan(2);
    });

    it('chat.completions.stream with a zod response_format: the parsed final message', async () => {
      const stream = client.chat.completions.stream({ model: MODEL, messages: [{ role: 'user', content: 'stream a thing' }], response_format: zodResponseFormat(Thing, 'thing') });
      const final = await stream.finalChatCompletion();
      expectThing(final.choices[0].message.parsed, 'stream a thing');
    });

    it('tool_choice required or one named function: a tool call (finish_reason tool_calls) whose arguments parse', async () => {
      const tools = [zodFunction({ name: 'other', parameters: z.object({ q: z.string() }) }), zodFunction({ name: 'get_weather', parameters: Weather })];
      const named = await client.chat.completions.parse({
        model: MODEL,
        messages: [{ role: 'user', content: 'Paris' }],
        tools,
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
      });
      expect(named.choices[0].finish_reason).toBe('tool_calls');
      const call = named.choices[0].message.tool_calls?.[0];
      expect(call?.type === 'function' && call.function.name).toBe('get_weather');
      expect(call?.type === 'function' && call.function.parsed_arguments).toEqual({ location: 'Paris', unit: 'c', days: 1 });
      const required = await client.chat.completions.parse({ model: MODEL, messages: [{ role: 'user', content: 'q' }], tools, tool_choice: 'required' });
      expect(required.choices[0].message.tool_calls?.map((c) => c.type === 'function' && [c.function.name, c.function.parsed_arguments])).toEqual([['other', { q: 'q' }]]);
      if (checkSpec) expectConforms(contractProblems('POST', '/chat/completions', 200, (await post('/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'x' }], tools, tool_choice: 'required' })).body));
      // Left to the model (auto), the echo answers text.
      const auto = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'just text' }], tools });
      expect(auto.choices[0]).toMatchObject({ message: { content: 'just text' }, finish_reason: 'stop' });
    });

    it('streams a forced tool call in tool_call deltas, as OpenAI does', async () => {
      const tools = [zodFunction({ name: 'get_weather', parameters: Weather })];
      const res = await post('/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'Lyon' }], tools, tool_choice: 'required', stream: true, stream_options: { include_usage: true } });
      const chunks = readEvents(res.text)
        .filter((e) => e.data !== '[DONE]')
        .map((e) => e.data as { choices: Array<{ delta: { tool_calls?: Array<{ id?: string; function: { name?: string; arguments?: string } }> }; finish_reason: string | null }>; usage: { completion_tokens: number } | null });
      if (checkSpec) for (const c of chunks) expectConforms(componentProblems('CreateChatCompletionStreamResponse', c));
      const calls = chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []));
      expect(calls[0]).toMatchObject({ id: expect.stringMatching(/^call_/), function: { name: 'get_weather', arguments: '' } });
      expect(calls.length).toBeGreaterThan(2);
      expect(JSON.parse(calls.map((c) => c.function.arguments ?? '').join(''))).toEqual({ location: 'Lyon', unit: 'c', days: 1 });
      expect(chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter((f) => f !== null)).toEqual(['tool_calls']);
      expect(chunks.at(-1)?.usage?.completion_tokens).toBeGreaterThan(0);
      const helper = client.chat.completions.stream({ model: MODEL, messages: [{ role: 'user', content: 'Nice' }], tools, tool_choice: 'required' });
      const final = await helper.finalChatCompletion();
      const call = final.choices[0].message.tool_calls?.[0];
      expect(call?.type === 'function' && call.function.parsed_arguments).toEqual({ location: 'Nice', unit: 'c', days: 1 });
    });

    it('refuses what OpenAI refuses, naming the parameter (400, never 200)', async () => {
      const m = [{ role: 'user', content: 'hi' }];
      const fn = { type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } };
      const cases: Array<[Record<string, unknown>, string, string]> = [
        [{ response_format: { type: 'bogus' } }, 'invalid_value', 'response_format.type'],
        [{ response_format: 'json' }, 'invalid_type', 'response_format'],
        [{ response_format: { type: 'json_schema' } }, 'missing_required_parameter', 'response_format.json_schema'],
        [{ response_format: { type: 'json_schema', json_schema: { schema: {} } } }, 'missing_required_parameter', 'response_format.json_schema.name'],
        // json_object needs the word "json" in the messages.
        [{ response_format: { type: 'json_object' } }, 'invalid_value', 'messages'],
        // A schema no value can be built for surely: refused rather than answered with JSON that does not conform.
        [{ response_format: { type: 'json_schema', json_schema: { name: 'n', schema: { type: 'string', pattern: '^\\d{3}$' } } } }, 'invalid_value', 'response_format'],
        [{ tools: 'nope' }, 'invalid_type', 'tools'],
        [{ tools: [] }, 'empty_array', 'tools'],
        [{ tools: [{ type: 'function' }] }, 'missing_required_parameter', 'tools[0].function'],
        [{ tools: [{ type: 'function', function: { name: 'bad name' } }] }, 'invalid_value', 'tools[0].function.name'],
        [{ tool_choice: 'required' }, 'invalid_value', 'tool_choice'],
        [{ tool_choice: 'auto' }, 'invalid_value', 'tool_choice'],
        [{ parallel_tool_calls: true }, 'invalid_value', 'parallel_tool_calls'],
        [{ tools: [fn], tool_choice: 'always' }, 'invalid_value', 'tool_choice'],
        [{ tools: [fn], tool_choice: { type: 'function', function: { name: 'g' } } }, 'invalid_value', 'tool_choice.function.name'],
        // The deprecated functions API is refused by name (a forced function_call was answered with text).
        [{ functions: [fn.function], function_call: { name: 'f' } }, 'invalid_value', 'functions'],
        [{ function_call: { name: 'nope' } }, 'invalid_value', 'function_call'],
      ];
      for (const [extra, code, param] of cases) {
        const res = await post('/chat/completions', { model: MODEL, messages: m, ...extra });
        expect(res.status, JSON.stringify(extra)).toBe(400);
        expect(res.body.error, JSON.stringify(extra)).toMatchObject({ type: 'invalid_request_error', code, param });
        if (checkSpec) expectConforms(contractProblems('POST', '/chat/completions', 400, res.body));
      }
    });
  });

  describe('responses', () => {
    it('responses.parse with a zod text.format, streamed and not', async () => {
      const res = await client.responses.parse({ model: MODEL, input: 'a response thing', text: { format: zodTextFormat(Thing, 'thing') } });
      expectThing(res.output_parsed, 'a response thing');
      const stream = client.responses.stream({ model: MODEL, input: 'a streamed thing', text: { format: zodTextFormat(Thing, 'thing') } });
      expectThing((await stream.finalResponse()).output_parsed, 'a streamed thing');
    });

    it('a forced function: a function_call output item, streamed in function_call_arguments events', async () => {
      const tools = [{ type: 'function' as const, name: 'get_weather', strict: true, parameters: z.toJSONSchema(Weather) as Record<string, unknown> }];
      const res = await client.responses.create({ model: MODEL, input: 'Rome', tools, tool_choice: { type: 'function', name: 'get_weather' } });
      expect(res.output).toHaveLength(1);
      expect(res.output[0]).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed', call_id: expect.stringMatching(/^call_/) });
      const item = res.output[0] as { arguments: string };
      expect(JSON.parse(item.arguments)).toEqual({ location: 'Rome', unit: 'c', days: 1 });
      if (checkSpec) expectConforms(contractProblems('POST', '/responses', 200, res));

      const raw = await post('/responses', { model: MODEL, input: 'Oslo', tools, tool_choice: 'required', stream: true });
      const evs = readEvents(raw.text);
      expect(evs.map((e) => e.event).filter((e) => !e?.endsWith('.delta'))).toEqual([
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.function_call_arguments.done',
        'response.output_item.done',
        'response.completed',
      ]);
      if (checkSpec) for (const e of evs) expectConforms(componentProblems('ResponseStreamEvent', e.data));
      const deltas = evs.filter((e) => e.event === 'response.function_call_arguments.delta').map((e) => (e.data as { delta: string }).delta);
      expect(deltas.length).toBeGreaterThan(2);
      expect(JSON.parse(deltas.join(''))).toEqual({ location: 'Oslo', unit: 'c', days: 1 });
      const helper = client.responses.stream({ model: MODEL, input: 'Bern', tools, tool_choice: 'required' });
      const final = await helper.finalResponse();
      expect(final.output[0]).toMatchObject({ type: 'function_call', name: 'get_weather', arguments: JSON.stringify({ location: 'Bern', unit: 'c', days: 1 }) });
    });

    it('refuses what OpenAI refuses, naming the parameter', async () => {
      const fn = { type: 'function', name: 'f', parameters: { type: 'object', properties: {} } };
      const cases: Array<[Record<string, unknown>, string, string]> = [
        [{ text: { format: { type: 'bogus' } } }, 'invalid_value', 'text.format.type'],
        [{ text: { format: { type: 'json_schema', schema: {} } } }, 'missing_required_parameter', 'text.format.name'],
        [{ text: { format: { type: 'json_schema', name: 'n' } } }, 'missing_required_parameter', 'text.format.schema'],
        [{ text: { format: { type: 'json_object' } } }, 'invalid_value', 'input'],
        [{ tools: 'nope' }, 'invalid_type', 'tools'],
        [{ tools: [{ type: 'function' }] }, 'missing_required_parameter', 'tools[0].name'],
        [{ tool_choice: 'required' }, 'invalid_value', 'tool_choice'],
        [{ tools: [fn], tool_choice: { type: 'function', name: 'g' } }, 'invalid_value', 'tool_choice.name'],
        [{ tools: [{ type: 'web_search_preview' }], tool_choice: 'required' }, 'invalid_value', 'tool_choice'],
      ];
      for (const [extra, code, param] of cases) {
        const res = await post('/responses', { model: MODEL, input: 'hi', ...extra });
        expect(res.status, JSON.stringify(extra)).toBe(400);
        expect(res.body.error, JSON.stringify(extra)).toMatchObject({ type: 'invalid_request_error', code, param });
      }
    });
  });

  describe('through the Anthropic translation', () => {
    it('output_config.format json_schema answers JSON by the schema; tool_choice any a tool_use block', async () => {
      const anthropic = new Anthropic({ apiKey: key, baseURL: t.url, maxRetries: 0, timeout: 15_000 });
      const schema = { type: 'object', properties: { city: { type: 'string' }, rank: { type: 'integer' } }, required: ['city', 'rank'], additionalProperties: false };
      const message = await anthropic.messages.create({
        model: MODEL,
        max_tokens: 200,
        messages: [{ role: 'user', content: 'Madrid' }],
        output_config: { format: { type: 'json_schema', schema } },
      } as Anthropic.MessageCreateParamsNonStreaming);
      const text = message.content[0].type === 'text' ? message.content[0].text : '';
      expect(JSON.parse(text)).toEqual({ city: 'Madrid', rank: 0 });
      const streamed = await anthropic.messages
        .stream({ model: MODEL, max_tokens: 200, messages: [{ role: 'user', content: 'Porto' }], tools: [{ name: 'find', input_schema: schema as Anthropic.Tool.InputSchema }], tool_choice: { type: 'any' } })
        .finalMessage();
      expect(streamed.stop_reason).toBe('tool_use');
      expect(streamed.content).toMatchObject([{ type: 'tool_use', name: 'find', input: { city: 'Porto', rank: 0 } }]);
    });
  });
});
