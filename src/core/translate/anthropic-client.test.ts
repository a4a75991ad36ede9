import { describe, expect, it } from 'vitest';
import {
  ANTHROPIC_ERROR_400,
  ANTHROPIC_ERROR_429,
  OPENAI_ERROR_400,
  OPENAI_PLAIN,
  OPENAI_STREAM_TEXT,
  OPENAI_STREAM_TOOLS,
  OPENAI_TOOL_CALLS,
  openaiSse,
} from '../../../test/harness/provider-payloads.js';
import { eventData, splitEvents } from '../sse.js';
import { chatCompletionToMessage } from './chat-completion-to-message.js';
import { chatRequestToMessages } from './chat-request-to-messages.js';
import { ChatStreamToMessage } from './chat-stream-to-message.js';
import { anthropicErrorAsOpenAI, openAIErrorAsAnthropic } from './error-bodies.js';
import { messagesRequestToChat } from './messages-request-to-chat.js';
import { messageToChatCompletion } from './message-to-chat-completion.js';

// An Anthropic-SDK client calling an OpenAI model: its Messages API request as a chat completions request, and the
// chat completions answers and streams as Anthropic's, field by field; then round trips both ways.

const MODEL = 'gpt-4o-mini';
const toChat = (body: Record<string, unknown>) => messagesRequestToChat({ model: MODEL, max_tokens: 1024, ...body }, { model: MODEL });
const refusal = (body: Record<string, unknown>) => {
  try {
    toChat(body);
  } catch (err) {
    return err as { status: number; param: string | null; message: string };
  }
  throw new Error('not refused');
};

/** Runs chat chunks through the translator: Anthropic's events as [type, data] pairs. */
function chatStreamToEvents(sse: string, requestId?: string, scrub?: (text: string) => string) {
  const translator = new ChatStreamToMessage({ model: MODEL, requestId, scrub });
  const out = splitEvents(sse)
    .map((e) => translator.push(eventData(e)))
    .join('');
  const events = splitEvents(out).map((e) => {
    const name = /^event: (\S+)\n/.exec(e)?.[1];
    const data = JSON.parse(eventData(e) as string) as Record<string, unknown>;
    expect(data.type).toBe(name);
    return data;
  });
  return { events, translator };
}

describe('a Messages API request as a chat completions request', () => {
  it('plain: model, max_tokens, system, messages, temperature, top_p, stop_sequences, stream (with usage asked for)', () => {
    expect(toChat({ system: 'Be brief.', messages: [{ role: 'user', content: 'Hello, Claude' }], temperature: 0.5, top_p: 0.8, stop_sequences: ['\n\nHuman:'] })).toEqual({
      body: {
        model: MODEL,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hello, Claude' },
        ],
        max_completion_tokens: 1024,
        temperature: 0.5,
        top_p: 0.8,
        stop: ['\n\nHuman:'],
      },
      stream: false,
    });
    expect(toChat({ messages: [], stream: true }).body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    // A system prompt of text blocks (cache breakpoints in them are fine: OpenAI caches prompts on its own).
    expect(toChat({ system: [{ type: 'text', text: 'A' }, { type: 'text', text: 'B', cache_control: { type: 'ephemeral' } }], messages: [] }).body.messages).toEqual([{ role: 'system', content: 'A\n\nB' }]);
  });

  it('multi-turn with images and documents', () => {
    const out = toChat({
      messages: [
        { role: 'user', content: 'Hello there.' },
        { role: 'assistant', content: [{ type: 'text', text: 'Hi, I am Claude.' }] },
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQSkZJRg==' } },
            { type: 'image', source: { type: 'url', url: 'https://upload.wikimedia.org/ant.jpg' } },
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0x' }, title: 'Q3.pdf' },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Plain notes.' } },
            { type: 'text', text: 'Describe these.', cache_control: { type: 'ephemeral' } },
          ],
        },
      ],
    }).body;
    expect(out.messages).toEqual([
      { role: 'user', content: 'Hello there.' },
      { role: 'assistant', content: 'Hi, I am Claude.' },
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQSkZJRg==' } },
          { type: 'image_url', image_url: { url: 'https://upload.wikimedia.org/ant.jpg' } },
          { type: 'file', file: { filename: 'Q3.pdf', file_data: 'data:application/pdf;base64,JVBERi0x' } },
          { type: 'text', text: 'Plain notes.' },
          { type: 'text', text: 'Describe these.' },
        ],
      },
    ]);
  });

  it('tools, tool_choice, tool_use and tool_result (errors marked in the text), metadata, effort, format, service tier', () => {
    const schema = { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] };
    const out = toChat({
      tools: [{ name: 'get_weather', description: 'Get the weather', input_schema: schema, cache_control: { type: 'ephemeral' } }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      metadata: { user_id: 'user-42' },
      output_config: { effort: 'low', format: { type: 'json_schema', schema } },
      service_tier: 'standard_only',
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'Paris' } },
            { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { location: 'Lyon' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: '18°C' },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: 'station down' }], is_error: true },
            { type: 'text', text: 'And tomorrow?' },
          ],
        },
      ],
    }).body;
    expect(out).toMatchObject({
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Get the weather', parameters: schema } }],
      tool_choice: 'required',
      parallel_tool_calls: false,
      user: 'user-42',
      reasoning_effort: 'low',
      response_format: { type: 'json_schema', json_schema: { name: 'output', schema, strict: true } },
      service_tier: 'default',
    });
    expect(out.messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
          { id: 'toolu_2', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Lyon"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_1', content: '18°C' },
      { role: 'tool', tool_call_id: 'toolu_2', content: '[tool error] station down' },
      { role: 'user', content: 'And tomorrow?' },
    ]);
    for (const [choice, expected] of [
      [{ type: 'auto' }, { tool_choice: 'auto' }],
      [{ type: 'none' }, { tool_choice: 'none' }],
      [{ type: 'tool', name: 'get_weather' }, { tool_choice: { type: 'function', function: { name: 'get_weather' } } }],
    ] as const) {
      expect(toChat({ messages: [], tools: [{ name: 'get_weather', input_schema: { type: 'object' } }], tool_choice: choice }).body).toMatchObject(expected);
    }
    expect(toChat({ messages: [], thinking: { type: 'disabled' } }).body).not.toHaveProperty('thinking');
  });

  it('refuses with a 400 naming the field whatever cannot be translated', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ messages: [], top_k: 5 }, 'top_k'],
      [{ messages: [], thinking: { type: 'enabled', budget_tokens: 2048 } }, 'thinking'],
      [{ messages: [], max_tokens: 0 }, 'max_tokens'],
      [{ messages: [], container: 'c' }, 'container'],
      [{ messages: [], mcp_servers: [] }, 'mcp_servers'],
      [{ messages: [], brand_new: true }, 'brand_new'],
      [{ messages: [], metadata: { user_id: 'u', other: 1 } }, 'metadata.other'],
      [{ messages: [], output_config: { effort: 'max' } }, 'output_config.effort'],
      [{ messages: [], service_tier: 'priority' }, 'service_tier'],
      [{ messages: [], tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, 'tools[0].type'],
      [{ messages: [], tools: [{ name: 'x', input_schema: {}, defer_loading: true }] }, 'tools[0].defer_loading'],
      [{ messages: [], system: [{ type: 'text', text: 'a', citations: [{ type: 'char_location' }] }] }, 'system[0].citations'],
      [{ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'file_1' } }] }] }, 'messages[0].content[0].source.type'],
      [{ messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'url', url: 'https://x/a.pdf' } }] }] }, 'messages[0].content[0].source'],
      [{ messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'x' }, citations: { enabled: true } }] }] }, 'messages[0].content[0].citations'],
      [{ messages: [{ role: 'user', content: [{ type: 'search_result', source: 's', title: 't', content: [] }] }] }, 'messages[0].content[0].type'],
      [{ messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'image', source: { type: 'url', url: 'https://x/a.png' } }] }] }] }, 'messages[0].content[0].content[0].type'],
      [{ messages: [{ role: 'assistant', content: [{ type: 'thinking', thinking: 'hm', signature: 's' }] }] }, 'messages[0].content[0].type'],
      [{ messages: [{ role: 'system', content: 'x' }] }, 'messages[0].role'],
    ];
    // Found by an outside review: flags that were not booleans were read as false without a word (a stream asked for as
    // "true" came back whole), and a tool result's text blocks lost their other members.
    cases.push(
      [{ messages: [], stream: 'true' }, 'stream'],
      [{ messages: [], tool_choice: { type: 'auto', disable_parallel_tool_use: 'true' } }, 'tool_choice.disable_parallel_tool_use'],
      [{ messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'x', is_error: 'yes' }] }] }, 'messages[0].content[0].is_error'],
      [{ messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'r', citations: [] }] }] }] }, 'messages[0].content[0].content[0].citations'],
      // Members of an image's source and of tool_choice that the translation would have dropped.
      [{ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://x/a.png', detail: 'high' } }] }] }, 'messages[0].content[0].source.detail'],
      [{ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBO', other: 1 } }] }] }, 'messages[0].content[0].source.other'],
      [{ messages: [], tool_choice: { type: 'auto', name: 'get_weather' } }, 'tool_choice.name'],
      [{ messages: [], tool_choice: { type: 'tool' } }, 'tool_choice.name'],
      // Members the SDK's types do not give these objects, dropped unread: a document source's, disabled thinking's,
      // an output format's, and none's parallel flag.
      [{ messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'x', url: 'https://x/a.pdf' } }] }] }, 'messages[0].content[0].source.url'],
      [{ messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/html', data: '<b>' } }] }] }, 'messages[0].content[0].source.media_type'],
      [{ messages: [], thinking: { type: 'disabled', budget_tokens: 1024 } }, 'thinking.budget_tokens'],
      [{ messages: [], output_config: { format: { type: 'json_schema', schema: { type: 'object' }, name: 'n' } } }, 'output_config.format.name'],
      [{ messages: [], tool_choice: { type: 'none', disable_parallel_tool_use: true } }, 'tool_choice.disable_parallel_tool_use'],
    );
    for (const [body, field] of cases) {
      const err = refusal(body);
      expect(err.status, field).toBe(400);
      expect(err.param, JSON.stringify(body)).toBe(field);
      expect(err.message).toContain(`'${field}'`);
    }
  });

  it("refuses a missing required member in Anthropic's own words ('max_tokens: Field required')", () => {
    for (const [body, field] of [
      [{ messages: [{ role: 'user', content: 'Hi' }], max_tokens: undefined }, 'max_tokens'],
      [{ messages: undefined }, 'messages'],
    ] as const) {
      const err = refusal(body);
      expect(err).toMatchObject({ status: 400, code: 'missing_required_parameter', param: field, message: `${field}: Field required` });
    }
    // A count of tokens needs no max_tokens, but messages.
    expect(() => messagesRequestToChat({ model: MODEL }, { model: MODEL, forCounting: true })).toThrow('messages: Field required');
  });
});

describe('what Anthropic reads differently from OpenAI', () => {
  it('refuses a conversation that ends with an assistant message: Anthropic continues it (a prefill), OpenAI would write a new reply', () => {
    const ending = [
      [{ role: 'user', content: 'Name a colour.' }, { role: 'assistant', content: 'The colour is' }],
      [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: [{ type: 'text', text: '{"answer":' }] }],
    ];
    for (const messages of ending) {
      const err = refusal({ messages });
      expect(err.status).toBe(400);
      expect(err.param).toBe(`messages[${messages.length - 1}]`);
      expect(err.message).toContain('prefill');
    }
    // Counting tokens continues nothing: a prefill is counted as it is.
    const counted = messagesRequestToChat({ model: MODEL, messages: ending[0] }, { model: MODEL, forCounting: true });
    expect(counted.body.messages).toEqual(ending[0]);
    // Anthropic lets the final assistant message be empty: a count of it is no refusal (found by a second review).
    for (const content of ['', []]) {
      const empty = [{ role: 'user', content: 'hi' }, { role: 'assistant', content }];
      expect(messagesRequestToChat({ model: MODEL, messages: empty }, { model: MODEL, forCounting: true }).body.messages).toHaveLength(2);
    }
  });

  it("refuses what Anthropic's API refuses, rather than forwarding it unbounded or changed, naming the field", () => {
    const hi = [{ role: 'user', content: 'Hi' }];
    const tools = [{ name: 'f', input_schema: { type: 'object' } }];
    const image = (source: Record<string, unknown>) => [{ role: 'user', content: [{ type: 'image', source }] }];
    const cases: Array<[Record<string, unknown>, string]> = [
      // Anthropic requires max_tokens, an integer from 1: forwarded without it, the answer had no cap.
      [{ messages: hi, max_tokens: '5' }, 'max_tokens'],
      [{ messages: hi, max_tokens: 2.5 }, 'max_tokens'],
      [{ messages: hi, max_tokens: -1 }, 'max_tokens'],
      // Anthropic's range is 0 to 1 (OpenAI's temperature goes to 2: 1.5 would have been taken, and meant otherwise).
      [{ messages: hi, temperature: 1.5 }, 'temperature'],
      [{ messages: hi, temperature: -0.1 }, 'temperature'],
      [{ messages: hi, temperature: '0.5' }, 'temperature'],
      [{ messages: hi, top_p: 1.2 }, 'top_p'],
      // Anthropic needs content in every message but a last assistant's; an empty user turn was dropped unseen.
      [{ messages: [{ role: 'user', content: [] }] }, 'messages[0].content'],
      [{ messages: [{ role: 'user', content: '' }] }, 'messages[0].content'],
      [{ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: [] }, { role: 'user', content: 'b' }] }, 'messages[1].content'],
      // The same empty turns written as an empty text block (found by a second review: forwarded as content "").
      [{ messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] }, 'messages[0].content[0].text'],
      [{ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: [{ type: 'text', text: '' }] }, { role: 'user', content: 'b' }] }, 'messages[1].content[0].text'],
      [{ messages: [{ role: 'user', content: [{ type: 'text', text: 7 }] }] }, 'messages[0].content[0].text'],
      // Text after a tool call: OpenAI's assistant message holds its text before its tool calls ("A", call, "B" became "AB").
      [
        {
          messages: [
            { role: 'user', content: 'a' },
            { role: 'assistant', content: [{ type: 'text', text: 'A' }, { type: 'tool_use', id: 't', name: 'f', input: {} }, { type: 'text', text: 'B' }] },
            { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'r' }] },
          ],
          tools,
        },
        'messages[1].content[2]',
      ],
      // A tool choice with no tools to choose from: OpenAI refuses parallel_tool_calls and tool_choice without tools.
      [{ messages: hi, tool_choice: { type: 'auto', disable_parallel_tool_use: true } }, 'tool_choice.disable_parallel_tool_use'],
      [{ messages: hi, tool_choice: { type: 'any' } }, 'tool_choice.type'],
      [{ messages: hi, tool_choice: { type: 'tool', name: 'f' } }, 'tool_choice.type'],
      [{ messages: hi, tools: [], tool_choice: { type: 'any', disable_parallel_tool_use: true } }, 'tool_choice.type'],
      // An image's media type (data:undefined;base64,… was sent), data and URL.
      [{ messages: image({ type: 'base64', data: 'iVBO' }) }, 'messages[0].content[0].source.media_type'],
      [{ messages: image({ type: 'base64', media_type: 'image/bmp', data: 'Qk0' }) }, 'messages[0].content[0].source.media_type'],
      [{ messages: image({ type: 'base64', media_type: 'image/png' }) }, 'messages[0].content[0].source.data'],
      [{ messages: image({ type: 'url', url: 7 }) }, 'messages[0].content[0].source.url'],
    ];
    for (const [body, field] of cases) {
      const err = refusal(body);
      expect(err.status, field).toBe(400);
      expect(err.param, JSON.stringify(body)).toBe(field);
      expect(err.message).toContain(`'${field}'`);
    }
  });

  it('translates to nothing what asks for nothing: an empty system prompt, an empty list of tools, a tool choice of auto or none without tools', () => {
    const hi = [{ role: 'user', content: 'Hi' }];
    // Whitespace alone too, as the other way round (an OpenAI client's empty or blank system text is left out).
    for (const system of [[], '', ' \n']) expect(toChat({ system, messages: hi }).body.messages).toEqual(hi);
    for (const type of ['auto', 'none']) expect(toChat({ messages: hi, tool_choice: { type } }).body).toEqual({ model: MODEL, messages: hi, max_completion_tokens: 1024 });
    // An empty list of tools is none (OpenAI refuses `tools: []`).
    expect(toChat({ messages: hi, tools: [], tool_choice: { type: 'auto' } }).body).toEqual({ model: MODEL, messages: hi, max_completion_tokens: 1024 });
    // Text blocks before the tool calls keep their order; a count of tokens needs no max_tokens.
    const turn = toChat({ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: [{ type: 'text', text: 'A' }, { type: 'text', text: 'B' }, { type: 'tool_use', id: 't', name: 'f', input: {} }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'r' }] }] });
    expect((turn.body.messages as Array<Record<string, unknown>>)[1]).toEqual({ role: 'assistant', content: 'AB', tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }] });
    expect(messagesRequestToChat({ model: MODEL, messages: hi }, { model: MODEL, forCounting: true }).body).toEqual({ model: MODEL, messages: hi });
  });
});

describe('the tier of a chat stream, as an Anthropic stream names it', () => {
  it("in message_start's and message_delta's usage by Anthropic's name (default is standard); recorded by OpenAI's", () => {
    const chunk = (tier: unknown, extra: Record<string, unknown> = {}) => ({ id: 'c1', object: 'chat.completion.chunk', model: 'gpt-4o', service_tier: tier, choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: null }], ...extra });
    const sse = (tier: unknown) => `data: ${JSON.stringify(chunk(tier))}\n\ndata: ${JSON.stringify(chunk(tier, { choices: [], usage: { prompt_tokens: 3, completion_tokens: 1 } }))}\n\ndata: [DONE]\n\n`;
    const tiers = (tier: unknown) => {
      const { events, translator } = chatStreamToEvents(sse(tier));
      const start = events.find((e) => e.type === 'message_start') as { message: { usage: Record<string, unknown> } };
      const delta = events.find((e) => e.type === 'message_delta') as { usage: Record<string, unknown> };
      return [start.message.usage.service_tier, delta.usage.service_tier, translator.serviceTier];
    };
    expect(tiers('default')).toEqual(['standard', 'standard', 'default']);
    expect(tiers('priority')).toEqual(['priority', 'priority', 'priority']);
    expect(tiers('flex')).toEqual([undefined, undefined, 'flex']);
    expect(tiers(undefined)).toEqual([undefined, undefined, null]);
  });
});

describe('chat completions as Anthropic messages', () => {
  it('plain: content, stop reason, usage (cached prompt tokens are cache reads), the tier by Anthropic’s name', () => {
    expect(chatCompletionToMessage(OPENAI_PLAIN, { model: MODEL })).toEqual({
      id: 'msg_B9MBs8CjcvOU2jLn4n570S5qMJKcT',
      type: 'message',
      role: 'assistant',
      model: 'gpt-4o-2024-08-06',
      content: [{ type: 'text', text: 'Hello! How can I assist you today?' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 19, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 10, service_tier: 'standard' },
    });
    const tier = (t: unknown) => (chatCompletionToMessage({ ...OPENAI_PLAIN, service_tier: t }, { model: MODEL }).usage as Record<string, unknown>).service_tier;
    expect([tier('priority'), tier('flex'), tier('scale'), tier(null), tier(undefined)]).toEqual(['priority', undefined, undefined, undefined, undefined]);
  });

  it('tools: tool calls as tool_use blocks with their arguments parsed; finish reasons as stop reasons', () => {
    expect(chatCompletionToMessage(OPENAI_TOOL_CALLS, { model: MODEL })).toMatchObject({
      content: [{ type: 'tool_use', id: 'call_abc123', name: 'get_current_weather', input: { location: 'Boston, MA' } }],
      stop_reason: 'tool_use',
      usage: { input_tokens: 82 - 64, cache_read_input_tokens: 64, output_tokens: 17 },
    });
    const reasons: Array<[string, string]> = [
      ['stop', 'end_turn'],
      ['length', 'max_tokens'],
      ['tool_calls', 'tool_use'],
      ['content_filter', 'refusal'],
    ];
    const choice = (OPENAI_PLAIN.choices as Array<Record<string, unknown>>)[0];
    for (const [finish, stop] of reasons) {
      expect(chatCompletionToMessage({ ...OPENAI_PLAIN, choices: [{ ...choice, finish_reason: finish }] }, { model: MODEL }).stop_reason, finish).toBe(stop);
    }
    const refused = chatCompletionToMessage({ ...OPENAI_PLAIN, choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: "I can't help with that." }, finish_reason: 'stop' }] }, { model: MODEL });
    expect(refused).toMatchObject({ content: [{ type: 'text', text: "I can't help with that." }], stop_reason: 'refusal' });
  });

  it('a tool call cut off by max_tokens (its arguments no whole JSON object): a tool_use with the input {}, stop reason max_tokens, as streamed', () => {
    // Found by an outside review: the whole answer was a 502 (billed) where the same answer streamed was a 200.
    const cut = (args: unknown, finish: string | null) =>
      chatCompletionToMessage(
        { ...OPENAI_TOOL_CALLS, choices: [{ index: 0, message: { role: 'assistant', content: 'Let me check.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: args } }] }, finish_reason: finish }] },
        { model: MODEL },
      );
    const expected = { content: [{ type: 'text', text: 'Let me check.' }, { type: 'tool_use', id: 'call_1', name: 'get_weather', input: {} }], stop_reason: 'max_tokens' };
    expect(cut('{"location": "Par', 'length')).toMatchObject(expected);
    // Arguments that are no JSON object whatever the finish reason: no call the client could run as it is.
    expect(cut('[1,2', 'tool_calls')).toMatchObject(expected);
    expect(cut('[1,2]', 'tool_calls')).toMatchObject(expected);
    expect(cut('"Paris"', null)).toMatchObject(expected);
    // Cut off after a whole object: the call as it is, still max_tokens.
    expect(cut('{"location": "Paris"}', 'length')).toMatchObject({ content: [{}, { input: { location: 'Paris' } }], stop_reason: 'max_tokens' });
    // Arguments given as an object (some OpenAI-compatible servers) are that object.
    expect(cut({ location: 'Paris' }, 'tool_calls')).toMatchObject({ content: [{}, { input: { location: 'Paris' } }], stop_reason: 'tool_use' });
    // A refusal stays one.
    const refused = chatCompletionToMessage({ ...OPENAI_TOOL_CALLS, choices: [{ index: 0, message: { refusal: 'No.', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{' } }] }, finish_reason: 'length' }] }, { model: MODEL });
    expect(refused.stop_reason).toBe('refusal');
    // The stream of the same answer ends the same way.
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => `data: ${JSON.stringify({ id: 'chatcmpl-S', object: 'chat.completion.chunk', created: 1, model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const { events } = chatStreamToEvents(
      chunk({ role: 'assistant', content: 'Let me check.' }) + chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location": "Par' } }] }) + chunk({}, 'length') + 'data: [DONE]\n\n',
    );
    expect(events.find((e) => e.type === 'message_delta')?.delta).toMatchObject({ stop_reason: 'max_tokens' });
  });

  it('tool calls under finish_reason stop (Ollama, vLLM, OpenAI itself for a named tool_choice): stop reason tool_use, whole and streamed', () => {
    // Agent loops run the tools when stop_reason is tool_use: end_turn with tool_use blocks ended the loop.
    const whole = (finish: string | null) =>
      chatCompletionToMessage({ ...OPENAI_TOOL_CALLS, choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }, finish_reason: finish }] }, { model: MODEL }).stop_reason;
    expect([whole('stop'), whole(null), whole('eos'), whole('tool_calls'), whole('length'), whole('content_filter')]).toEqual(['tool_use', 'tool_use', 'tool_use', 'tool_use', 'max_tokens', 'refusal']);
    // No tool call: end_turn as ever.
    expect(chatCompletionToMessage(OPENAI_PLAIN, { model: MODEL }).stop_reason).toBe('end_turn');
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => `data: ${JSON.stringify({ id: 'chatcmpl-S', object: 'chat.completion.chunk', created: 1, model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const streamed = (finish: string | null, tools = true) =>
      chatStreamToEvents(
        chunk({ role: 'assistant', content: 'On it.' }) + (tools ? chunk({ tool_calls: [{ index: 0, id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }) : '') + (finish ? chunk({}, finish) : '') + 'data: [DONE]\n\n',
      ).events.find((e) => e.type === 'message_delta')?.delta as { stop_reason: string };
    expect([streamed('stop'), streamed(null), streamed('tool_calls'), streamed('length')].map((d) => d.stop_reason)).toEqual(['tool_use', 'tool_use', 'tool_use', 'max_tokens']);
    expect(streamed('stop', false).stop_reason).toBe('end_turn');
  });

  it('streams: message_start, a text block, message_delta with the stop reason and usage, message_stop', () => {
    const { events, translator } = chatStreamToEvents(OPENAI_STREAM_TEXT);
    expect(events.map((e) => e.type)).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(events[0].message).toMatchObject({ id: 'msg_123', type: 'message', role: 'assistant', model: 'gpt-4o-mini', content: [], stop_reason: null });
    expect(events[1]).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    expect(events[2]).toEqual({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } });
    expect(events[5]).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { input_tokens: 9, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 2 },
    });
    expect(translator.complete).toBe(true);
    expect(translator.tokens).toEqual({ input: 9, cached: 0, output: 2 });
  });

  it("an Azure stream's first chunk (prompt filter results, no id nor model): the message takes the first id and model given", () => {
    const filters = { choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] };
    const { events } = chatStreamToEvents(`data: ${JSON.stringify(filters)}\n\n${OPENAI_STREAM_TEXT}`, 'req_1');
    expect(events.map((e) => e.type)).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(events[0].message).toMatchObject({ id: 'msg_123', model: 'gpt-4o-mini' });
    // None given at all: the request's model, and an id made of Tollgate's request id.
    const anonymous = OPENAI_STREAM_TEXT.replaceAll('"id":"chatcmpl-123"', '"id":""').replaceAll('"model":"gpt-4o-mini"', '"model":""');
    expect(anonymous).not.toContain('chatcmpl-123');
    const bare = chatStreamToEvents(`data: ${JSON.stringify(filters)}\n\n${anonymous}`, 'req_1').events;
    expect(bare[0].message).toMatchObject({ id: 'msg_req_1', model: MODEL });
    // And a whole answer alike.
    expect(chatCompletionToMessage({ ...OPENAI_PLAIN, id: '', model: '' }, { model: MODEL, requestId: 'req_2' })).toMatchObject({ id: 'msg_req_2', model: MODEL });
    // An id of another shape is put under Anthropic's prefix; one already Anthropic's is kept.
    expect(chatCompletionToMessage({ ...OPENAI_PLAIN, id: 'gen-42' }, { model: MODEL })).toMatchObject({ id: 'msg_gen-42' });
    expect(chatCompletionToMessage({ ...OPENAI_PLAIN, id: 'msg_01abc' }, { model: MODEL })).toMatchObject({ id: 'msg_01abc' });
  });

  it('streamed tools: each tool call a tool_use block, its arguments input_json_delta pieces, stop reason tool_use', () => {
    const { events, translator } = chatStreamToEvents(OPENAI_STREAM_TOOLS);
    expect(events.map((e) => `${e.type}${e.index === undefined ? '' : `:${e.index}`}`)).toEqual([
      'message_start',
      'content_block_start:0',
      'content_block_delta:0',
      'content_block_delta:0',
      'content_block_stop:0',
      'content_block_start:1',
      'content_block_delta:1',
      'content_block_stop:1',
      'message_delta',
      'message_stop',
    ]);
    expect(events[1].content_block).toEqual({ type: 'tool_use', id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', name: 'get_weather', input: {} });
    expect(events.filter((e) => e.index === 0 && e.type === 'content_block_delta').map((e) => (e.delta as { partial_json: string }).partial_json).join('')).toBe('{"location": "Paris"}');
    expect(events[6].delta).toEqual({ type: 'input_json_delta', partial_json: '{"location": "Bogotá"}' });
    expect(events[8]).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { input_tokens: 64, cache_read_input_tokens: 16, output_tokens: 40 } });
    expect(translator.tokens).toEqual({ input: 80, cached: 16, output: 40 });
  });

  it('interleaved tool calls, and text after a tool call: each block whole and in order, none touched after its stop', () => {
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-1', model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const tool = (index: number, fn: Record<string, unknown>, id?: string) => chunk({ tool_calls: [{ index, ...(id ? { id } : {}), function: fn }] });
    const sse = [
      tool(0, { name: 'a', arguments: '' }, 'call_a'),
      tool(1, { name: 'b', arguments: '{"y":' }, 'call_b'),
      tool(0, { arguments: '{"x":' }),
      chunk({ content: 'and ' }),
      tool(1, { arguments: '2}' }),
      chunk({ content: 'text' }),
      tool(0, { arguments: '1}' }),
      chunk({}, 'tool_calls'),
      'data: [DONE]\n\n',
    ].join('');
    const { events } = chatStreamToEvents(sse);
    const blocks = events.filter((e) => e.index !== undefined);
    expect(blocks.map((e) => `${e.type}:${e.index}`)).toEqual([
      'content_block_start:0',
      'content_block_delta:0',
      'content_block_delta:0',
      'content_block_stop:0',
      'content_block_start:1',
      'content_block_delta:1',
      'content_block_stop:1',
      'content_block_start:2',
      'content_block_delta:2',
      'content_block_stop:2',
    ]);
    const content = (index: number) =>
      blocks
        .filter((e) => e.type === 'content_block_delta' && e.index === index)
        .map((e) => {
          const d = e.delta as { partial_json?: string; text?: string };
          return d.partial_json ?? d.text;
        })
        .join('');
    expect([content(0), content(1), content(2)]).toEqual(['{"x":1}', '{"y":2}', 'and text']);
    expect(blocks[4].content_block).toEqual({ type: 'tool_use', id: 'call_b', name: 'b', input: {} });
  });

  it('an error chunk ends the stream with an Anthropic error event; a stream without [DONE] is not complete', () => {
    const { events, translator } = chatStreamToEvents(`${openaiSse([], false)}data: ${JSON.stringify({ error: { message: 'The server had an error', type: 'server_error' } })}\n\n`, 'req_tollgate1');
    // Tollgate's error event, as every other on these paths: its request id, and a code (the provider's, when it gave one).
    expect(events).toEqual([{ type: 'error', error: { type: 'api_error', message: 'The server had an error', details: { error_code: 'upstream_error' } }, request_id: 'req_tollgate1' }]);
    const coded = chatStreamToEvents(`data: ${JSON.stringify({ error: { message: 'Too fast', type: 'requests', code: 'rate_limit_exceeded' } })}\n\n`, 'req_tollgate2');
    expect(coded.events[0]).toMatchObject({ error: { details: { error_code: 'rate_limit_exceeded' } }, request_id: 'req_tollgate2' });
    expect(translator.ended).toBe(true);
    expect(translator.complete).toBe(false);
    const cut = chatStreamToEvents(OPENAI_STREAM_TEXT.replace('data: [DONE]\n\n', ''));
    expect(cut.translator.complete).toBe(false);
    expect(cut.events.some((e) => e.type === 'message_stop')).toBe(false);
  });

  it("a provider's error chunk goes out with its message cleared by the caller's scrub (the provider's key, decoded)", () => {
    const sse = `data: {"error":{"message":"bad key sk-up-a\\/b","type":"server_error"}}\n\n`;
    const { events } = chatStreamToEvents(sse, 'req_1', (text) => text.replace('sk-up-a/b', '[provider key]'));
    expect(events[0]).toMatchObject({ type: 'error', error: { message: 'bad key [provider key]' } });
  });
});

describe('errors between the two shapes', () => {
  it("an Anthropic provider's error for an OpenAI client, and an OpenAI provider's error for an Anthropic client", () => {
    expect(anthropicErrorAsOpenAI(400, JSON.stringify(ANTHROPIC_ERROR_400), 'anthropic')).toEqual({
      error: { message: 'messages.1.content: Input should be a valid list', type: 'invalid_request_error', param: null, code: 'invalid_request_error' },
    });
    expect(anthropicErrorAsOpenAI(429, JSON.stringify(ANTHROPIC_ERROR_429), 'anthropic').error.type).toBe('rate_limit_error');
    expect(anthropicErrorAsOpenAI(529, '<html>overloaded</html>', 'anthropic').error).toMatchObject({ type: 'api_error', message: "The upstream provider 'anthropic' answered 529: <html>overloaded</html>." });
    expect(openAIErrorAsAnthropic(400, JSON.stringify(OPENAI_ERROR_400), 'openai', 'req_1')).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: "Invalid value for 'temperature': expected a number from 0 to 2.", details: { error_code: 'invalid_value' } },
      request_id: 'req_1',
    });
    expect(openAIErrorAsAnthropic(503, 'upstream connect error', 'openai', null).error).toEqual({ type: 'api_error', message: "The upstream provider 'openai' answered 503: upstream connect error." });
  });
});

describe('round trips', () => {
  it('a chat request through Anthropic and back keeps every translated member', () => {
    const chat = {
      model: MODEL,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'w', arguments: '{"city":"Oslo"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '3°C' },
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBOR' } }, { type: 'text', text: 'And this?' }] },
      ],
      max_completion_tokens: 300,
      temperature: 0.3,
      top_p: 0.5,
      stop: ['END'],
      tools: [{ type: 'function', function: { name: 'w', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      tool_choice: 'required',
      parallel_tool_calls: false,
      user: 'u-1',
      stream: true,
      stream_options: { include_usage: true },
    };
    const anthropic = chatRequestToMessages(chat, { model: MODEL, defaultMaxTokens: 1 }).body;
    const back = messagesRequestToChat(anthropic, { model: MODEL }).body;
    expect(back).toEqual(chat);
  });

  it('an Anthropic request through OpenAI and back keeps every translated member', () => {
    const messages = {
      model: MODEL,
      max_tokens: 512,
      system: [{ type: 'text', text: 'Be brief.' }],
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_1', name: 'w', input: { city: 'Oslo' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '3°C' }, { type: 'text', text: 'Thanks' }] },
      ],
      temperature: 0.3,
      stop_sequences: ['END'],
      tools: [{ name: 'w', description: 'weather', input_schema: { type: 'object', properties: {} } }],
      tool_choice: { type: 'tool', name: 'w', disable_parallel_tool_use: true },
      metadata: { user_id: 'u-1' },
    };
    const chat = messagesRequestToChat(messages, { model: MODEL }).body;
    const back = chatRequestToMessages(chat, { model: MODEL, defaultMaxTokens: 1 }).body;
    expect(back).toEqual(messages);
  });

  it('an answer through both translations keeps its text, tool calls, stop reason and counts', () => {
    for (const completion of [OPENAI_PLAIN, OPENAI_TOOL_CALLS]) {
      const message = chatCompletionToMessage(completion, { model: MODEL });
      expect(chatCompletionToMessage(messageToChatCompletion(message, { created: 1 }), { model: MODEL })).toEqual(message);
    }
  });
});
