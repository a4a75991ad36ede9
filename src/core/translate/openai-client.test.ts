import { describe, expect, it } from 'vitest';
import {
  ANTHROPIC_CACHED,
  ANTHROPIC_PLAIN,
  ANTHROPIC_STREAM_ERROR,
  ANTHROPIC_STREAM_TEXT,
  ANTHROPIC_STREAM_TOOLS,
  ANTHROPIC_THINKING,
  ANTHROPIC_TOOL_USE,
  anthropicSse,
} from '../../../test/harness/provider-payloads.js';
import { eventData, splitEvents } from '../sse.js';
import { chatRequestToMessages } from './chat-request-to-messages.js';
import { MessageStreamToChat } from './message-stream-to-chat.js';
import { messageToChatCompletion } from './message-to-chat-completion.js';

/** Runs an Anthropic event stream through the translator: the chunks it wrote, and whether it wrote [DONE]. */
function messageStreamToChatEvents(sse: string, o: { created: number; includeUsage: boolean; scrub?: (text: string) => string }) {
  const translator = new MessageStreamToChat(o);
  const out = splitEvents(sse)
    .map((e) => translator.push(eventData(e)))
    .join('');
  const data = splitEvents(out).map((e) => eventData(e) as string);
  const done = data.at(-1) === '[DONE]';
  const chunks = data.filter((d) => d !== '[DONE]').map((d) => JSON.parse(d) as Record<string, unknown>);
  return { chunks, done, translator };
}

// An `openai`-SDK app calling a Claude model: its chat completions request as Anthropic's, and Anthropic's answers
// and streams as chat completions, field by field.

const MODEL = 'claude-sonnet-4-5-20250929';
const toMessages = (body: Record<string, unknown>, defaultMaxTokens = 4096) => chatRequestToMessages({ model: MODEL, ...body }, { model: MODEL, defaultMaxTokens });
const refusal = (body: Record<string, unknown>) => {
  try {
    toMessages(body);
  } catch (err) {
    return err as { code: string; status: number; param: string | null; message: string };
  }
  throw new Error('not refused');
};

describe('a chat completions request as a Messages API request', () => {
  it('plain: the model, the messages, max_tokens (the default when none is set), temperature, top_p, stop', () => {
    expect(toMessages({ messages: [{ role: 'user', content: 'Hello' }] })).toEqual({
      body: { model: MODEL, max_tokens: 4096, messages: [{ role: 'user', content: 'Hello' }] },
      stream: false,
      includeUsage: false,
    });
    const out = toMessages({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 100, temperature: 0.2, top_p: 0.9, stop: 'END' }).body;
    expect(out).toMatchObject({ max_tokens: 100, temperature: 0.2, top_p: 0.9, stop_sequences: ['END'] });
    expect(toMessages({ messages: [], max_completion_tokens: 77, stop: ['a', 'b'] }).body).toMatchObject({ max_tokens: 77, stop_sequences: ['a', 'b'] });
    expect(toMessages({ messages: [], max_completion_tokens: 77, max_tokens: 77 }).body.max_tokens).toBe(77);
    // Nulls are members left out.
    expect(toMessages({ messages: [], temperature: null, stop: null, seed: null, n: 1 }).body).toEqual({ model: MODEL, max_tokens: 4096, messages: [] });
    // top_p 1, OpenAI's default, asks for nothing: left out, since Claude Sonnet 4.5 and later refuse temperature and
    // top_p together (found by an outside review: the openai SDK's top_p: 1 beside a temperature was Anthropic's 400).
    expect(toMessages({ messages: [], temperature: 0.7, top_p: 1 }).body).toEqual({ model: MODEL, max_tokens: 4096, messages: [], temperature: 0.7 });
    expect(toMessages({ messages: [], top_p: 1 }).body).not.toHaveProperty('top_p');
    // Any other top_p is sent as asked, beside a temperature too: whether a model takes both is Anthropic's to say.
    expect(toMessages({ messages: [], temperature: 0.7, top_p: 0.99 }).body).toMatchObject({ temperature: 0.7, top_p: 0.99 });
  });

  it('system and developer messages before the conversation become the system prompt', () => {
    const out = toMessages({
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        { role: 'user', content: 'Hello' },
      ],
    }).body;
    expect(out.system).toEqual([
      { type: 'text', text: 'You are terse.' },
      { type: 'text', text: 'Answer in French.' },
    ]);
    expect(out.messages).toEqual([{ role: 'user', content: 'Hello' }]);
  });

  it("empty text, which OpenAI takes and Anthropic refuses: dropped from the system prompt and the assistant's turns, refused in a user's", () => {
    // Found by an outside review: an openai-SDK app's empty system prompt or assistant message went to Anthropic as an
    // empty text block, and Anthropic answered 400 "text content blocks must be non-empty" (or "non-whitespace").
    const img = { type: 'image_url', image_url: { url: 'https://example.com/a.png' } };
    const out = toMessages({
      messages: [
        { role: 'system', content: '' },
        { role: 'developer', content: [{ type: 'text', text: '' }, { type: 'text', text: ' \n' }, { type: 'text', text: 'Be terse.' }] },
        { role: 'user', content: [{ type: 'text', text: '' }, img, { type: 'text', text: '  ' }] },
        { role: 'assistant', content: '' },
        { role: 'user', content: 'again' },
        { role: 'assistant', content: [{ type: 'text', text: '\t' }] },
        { role: 'user', content: 'and again' },
        { role: 'assistant', content: null },
        { role: 'system', content: [] },
        { role: 'user', content: 'last' },
        { role: 'assistant', content: ' ', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c', content: [{ type: 'text', text: '' }] },
        { role: 'tool', tool_call_id: 'c', content: '' },
        { role: 'tool', tool_call_id: 'c', content: [{ type: 'text', text: ' ' }, { type: 'text', text: 'r' }] },
      ],
    }).body;
    expect(out.system).toEqual([{ type: 'text', text: 'Be terse.' }]);
    // The empty assistant turns are dropped, and the user turns around them merged (Anthropic's turns alternate).
    expect(out.messages).toEqual([
      { role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } }, { type: 'text', text: 'again' }, { type: 'text', text: 'and again' }, { type: 'text', text: 'last' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'c', name: 'f', input: {} }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'c' },
          { type: 'tool_result', tool_use_id: 'c' },
          { type: 'tool_result', tool_use_id: 'c', content: [{ type: 'text', text: 'r' }] },
        ],
      },
    ]);
    // A system prompt of nothing but empty text is no system prompt, as the other way round.
    expect(toMessages({ messages: [{ role: 'system', content: '   ' }, { role: 'user', content: 'Hi' }] }).body).not.toHaveProperty('system');
    // An empty assistant message last is dropped: what is left ends with the user's turn, which both APIs answer.
    expect(toMessages({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: '' }] }).body.messages).toEqual([{ role: 'user', content: 'Hi' }]);
    // An assistant message with content before an empty one last still ends the conversation: a prefill, refused.
    expect(refusal({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hel' }, { role: 'assistant', content: '' }] }).param).toBe('messages[1]');
    // A user message left with nothing is refused naming it: dropped, the turn would be lost without a word.
    for (const content of ['', ' \n ', [], [{ type: 'text', text: '' }], [{ type: 'text', text: ' ' }, { type: 'text', text: '' }]]) {
      const err = refusal({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }, { role: 'user', content }] });
      expect(err, JSON.stringify(content)).toMatchObject({ status: 400, param: 'messages[2].content' });
      expect(err.message).toContain('empty');
    }
  });

  it('multi-turn: roles kept, consecutive turns of one role merged into one', () => {
    const out = toMessages({
      messages: [
        { role: 'user', content: 'Hello there.' },
        { role: 'assistant', content: "Hi, I'm Claude. How can I help you?" },
        { role: 'user', content: 'Can you explain LLMs in plain English?' },
        { role: 'user', content: [{ type: 'text', text: 'Briefly.' }] },
      ],
    }).body;
    expect(out.messages).toEqual([
      { role: 'user', content: 'Hello there.' },
      { role: 'assistant', content: "Hi, I'm Claude. How can I help you?" },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Can you explain LLMs in plain English?' },
          { type: 'text', text: 'Briefly.' },
        ],
      },
    ]);
  });

  it('images (data URLs and URLs) and PDF files as image and document blocks', () => {
    const out = toMessages({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'high' } },
            { type: 'image_url', image_url: { url: 'https://upload.wikimedia.org/a.jpg' } },
            { type: 'file', file: { filename: 'contract.pdf', file_data: 'data:application/pdf;base64,JVBERi0xLjQ=' } },
          ],
        },
      ],
    }).body;
    expect(out.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in these?' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          { type: 'image', source: { type: 'url', url: 'https://upload.wikimedia.org/a.jpg' } },
          { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0xLjQ=' }, title: 'contract.pdf' },
        ],
      },
    ]);
    // image/jpg, a common spelling OpenAI takes (found by an outside review: refused as "not image/jpg"), is JPEG;
    // media types are read in any case, as both APIs read them, and sent as Anthropic names them.
    const image = (url: string) => (toMessages({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }] }).body.messages as Array<{ content: unknown[] }>)[0].content[0];
    for (const url of ['data:image/jpg;base64,/9j/4AAQ', 'data:IMAGE/JPG;base64,/9j/4AAQ', 'data:image/JPEG;base64,/9j/4AAQ', 'DATA:Image/Jpeg;name=a.jpg;base64,/9j/4AAQ']) {
      expect(image(url), url).toEqual({ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } });
    }
    expect(image('data:image/WebP;base64,UklGR')).toMatchObject({ source: { media_type: 'image/webp' } });
    // Other types are still refused, naming the one given.
    expect(refusal({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/bmp;base64,Qk0=' } }] }] })).toMatchObject({ param: 'messages[0].content[0].image_url.url', message: expect.stringContaining('not image/bmp') });
  });

  it('tools, tool_choice, parallel_tool_calls, and a tool round trip (assistant tool_calls, tool results)', () => {
    const tools = [
      { type: 'function', function: { name: 'get_weather', description: 'Get the weather', parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] }, strict: true } },
      { type: 'function', function: { name: 'now' } },
    ];
    const out = toMessages({
      tools,
      tool_choice: 'required',
      parallel_tool_calls: false,
      messages: [
        { role: 'user', content: 'Weather in Paris and Bogotá?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Bogotá"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '18°C' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '14°C' }] },
        { role: 'user', content: 'Thanks, and tomorrow?' },
      ],
    }).body;
    expect(out.tools).toEqual([
      { name: 'get_weather', description: 'Get the weather', input_schema: tools[0].function.parameters, strict: true },
      { name: 'now', input_schema: { type: 'object', properties: {} } },
    ]);
    expect(out.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
    expect(out.messages).toEqual([
      { role: 'user', content: 'Weather in Paris and Bogotá?' },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { location: 'Paris' } },
          { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { location: 'Bogotá' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: '18°C' },
          { type: 'tool_result', tool_use_id: 'call_2', content: [{ type: 'text', text: '14°C' }] },
          { type: 'text', text: 'Thanks, and tomorrow?' },
        ],
      },
    ]);
    expect(toMessages({ tools, tool_choice: 'auto', messages: [] }).body.tool_choice).toEqual({ type: 'auto' });
    expect(toMessages({ tools, tool_choice: 'none', messages: [] }).body.tool_choice).toEqual({ type: 'none' });
    expect(toMessages({ tools, tool_choice: { type: 'function', function: { name: 'now' } }, messages: [] }).body.tool_choice).toEqual({ type: 'tool', name: 'now' });
    expect(toMessages({ tools, parallel_tool_calls: false, messages: [] }).body.tool_choice).toEqual({ type: 'auto', disable_parallel_tool_use: true });
  });

  it('stream, include_usage, user, response_format, reasoning_effort, service_tier', () => {
    const r = toMessages({ messages: [], stream: true, stream_options: { include_usage: true }, user: 'user-42' });
    expect(r).toMatchObject({ stream: true, includeUsage: true, body: { stream: true, metadata: { user_id: 'user-42' } } });
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false };
    const out = toMessages({ messages: [], response_format: { type: 'json_schema', json_schema: { name: 'a', schema, strict: true } }, reasoning_effort: 'high', service_tier: 'default' }).body;
    expect(out.output_config).toEqual({ effort: 'high', format: { type: 'json_schema', schema } });
    expect(out.service_tier).toBe('standard_only');
    // Claude's output always holds to the schema: what strict asks for, and an answer a non-strict request accepts.
    for (const strict of [true, false, null]) {
      expect(toMessages({ messages: [], response_format: { type: 'json_schema', json_schema: { name: 'a', schema, strict, description: '' } } }).body.output_config).toEqual({ format: { type: 'json_schema', schema } });
    }
    expect(toMessages({ messages: [], safety_identifier: 'hash-1' }).body.metadata).toEqual({ user_id: 'hash-1' });
    expect(toMessages({ messages: [], response_format: { type: 'text' }, frequency_penalty: 0, presence_penalty: 0, logprobs: false, store: false, modalities: ['text'] }).body).toEqual({ model: MODEL, max_tokens: 4096, messages: [] });
  });

  it('refuses with a 400 naming the field whatever cannot be translated', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ messages: [], n: 2 }, 'n'],
      [{ messages: [], seed: 7 }, 'seed'],
      [{ messages: [], logprobs: true }, 'logprobs'],
      [{ messages: [], top_logprobs: 2 }, 'top_logprobs'],
      [{ messages: [], frequency_penalty: 0.5 }, 'frequency_penalty'],
      [{ messages: [], presence_penalty: -1 }, 'presence_penalty'],
      [{ messages: [], logit_bias: { '50256': -100 } }, 'logit_bias'],
      [{ messages: [], temperature: 1.5 }, 'temperature'],
      [{ messages: [], response_format: { type: 'json_object' } }, 'response_format.type'],
      [{ messages: [], audio: { voice: 'alloy', format: 'mp3' } }, 'audio'],
      [{ messages: [], modalities: ['text', 'audio'] }, 'modalities'],
      [{ messages: [], store: true }, 'store'],
      [{ messages: [], metadata: { a: 'b' } }, 'metadata'],
      [{ messages: [], reasoning_effort: 'minimal' }, 'reasoning_effort'],
      [{ messages: [], service_tier: 'flex' }, 'service_tier'],
      [{ messages: [], functions: [{ name: 'f' }] }, 'functions'],
      [{ messages: [], web_search_options: {} }, 'web_search_options'],
      [{ messages: [], prompt_cache_key: 'k' }, 'prompt_cache_key'],
      [{ messages: [], some_new_parameter: 1 }, 'some_new_parameter'],
      [{ messages: [], max_tokens: 10, max_completion_tokens: 20 }, 'max_tokens'],
      [{ messages: [], user: 'a', safety_identifier: 'b' }, 'safety_identifier'],
      [{ messages: [], stream: true, stream_options: { include_obfuscation: true } }, 'stream_options.include_obfuscation'],
      [{ messages: [], stream_options: { include_usage: true } }, 'stream_options'],
      [{ messages: [], tools: [{ type: 'custom', custom: { name: 'x' } }] }, 'tools[0].type'],
      [{ messages: [], tools: [{ type: 'function', function: { name: 'x', other: 1 } }] }, 'tools[0].function.other'],
      [{ messages: [], tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [] } } }, 'tool_choice'],
      [{ messages: [{ role: 'user', content: 'a' }, { role: 'system', content: 'late' }] }, 'messages[1].role'],
      [{ messages: [{ role: 'user', content: 'a', name: 'bob' }] }, 'messages[0].name'],
      [{ messages: [{ role: 'function', name: 'f', content: 'x' }] }, 'messages[0].role'],
      [{ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }] }, 'messages[0].content[0].type'],
      [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/a.png', detail: 'low' } }] }] }, 'messages[0].content[0].image_url.detail'],
      [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/bmp;base64,Qk0=' } }] }] }, 'messages[0].content[0].image_url.url'],
      [{ messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-abc' } }] }] }, 'messages[0].content[0].file.file_id'],
      [{ messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] }] }, 'messages[0].tool_calls[0].function.arguments'],
      [{ messages: [{ role: 'assistant', content: [{ type: 'refusal', refusal: 'no' }] }] }, 'messages[0].content[0].type'],
    ];
    // Found by an outside review: these were dropped without a word (a stream sent as a string came back whole, a
    // prompt marked for caching was sent without its mark and billed in full every time).
    const text = (extra: Record<string, unknown>) => ({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', ...extra }] }] });
    cases.push(
      [{ messages: [], stream: 'true' }, 'stream'],
      [{ messages: [], stream: true, stream_options: { include_usage: 'yes' } }, 'stream_options.include_usage'],
      [{ messages: [], parallel_tool_calls: 'false' }, 'parallel_tool_calls'],
      [{ messages: [], store: 'true' }, 'store'],
      [{ messages: [], logprobs: 1 }, 'logprobs'],
      [text({ cache_control: { type: 'ephemeral' } }), 'messages[0].content[0].cache_control'],
      [{ messages: [{ role: 'system', content: [{ type: 'text', text: 's', cache_control: { type: 'ephemeral' } }] }] }, 'messages[0].content[0].cache_control'],
      [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/a.png' }, cache_control: {} }] }] }, 'messages[0].content[0].cache_control'],
      [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/a.png', detail: 'original' } }] }] }, 'messages[0].content[0].image_url.detail'],
      [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/a.png', other: 1 } }] }] }, 'messages[0].content[0].image_url.other'],
      [{ messages: [{ role: 'user', content: [{ type: 'file', file: { file_data: 'data:application/pdf;base64,JVBER', other: 1 } }] }] }, 'messages[0].content[0].file.other'],
      [{ messages: [{ role: 'tool', tool_call_id: 'c', content: [{ type: 'text', text: 'r', cache_control: {} }] }] }, 'messages[0].content[0].cache_control'],
      [{ messages: [{ role: 'assistant', content: [{ type: 'text', text: 'a', annotations: [] }] }] }, 'messages[0].content[0].annotations'],
      [{ messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}', strict: true } }] }] }, 'messages[0].tool_calls[0].function.strict'],
      [{ messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' }, extra: 1 }] }] }, 'messages[0].tool_calls[0].extra'],
      [{ messages: [], tool_choice: { type: 'function', function: { name: 'f', strict: true } } }, 'tool_choice.function.strict'],
      [{ messages: [], tool_choice: { type: 'function', function: { name: 'f' }, extra: 1 } }, 'tool_choice.extra'],
    );
    // Found by an outside review: a member was read only where one role has it, and dropped on every other role; and
    // response_format's members besides its schema were dropped (its description is shown to the model by OpenAI).
    const json = (spec: Record<string, unknown>) => ({ messages: [], response_format: { type: 'json_schema', json_schema: { name: 'a', schema: { type: 'object' }, ...spec } } });
    cases.push(
      [{ messages: [{ role: 'user', content: 'Hello', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }] }, 'messages[0].tool_calls'],
      [{ messages: [{ role: 'user', content: 'Hello', tool_call_id: 'call_0' }] }, 'messages[0].tool_call_id'],
      [{ messages: [{ role: 'user', content: 'Hello', refusal: 'x' }] }, 'messages[0].refusal'],
      [{ messages: [{ role: 'system', content: 's', tool_call_id: 'call_0' }] }, 'messages[0].tool_call_id'],
      [{ messages: [{ role: 'developer', content: 's', refusal: 'x' }] }, 'messages[0].refusal'],
      [{ messages: [{ role: 'assistant', content: 'a', tool_call_id: 'call_0' }] }, 'messages[0].tool_call_id'],
      [{ messages: [{ role: 'tool', tool_call_id: 'c', content: 'r', refusal: 'x' }] }, 'messages[0].refusal'],
      [{ messages: [{ role: 'tool', tool_call_id: 'c', content: 'r', name: 'f' }] }, 'messages[0].name'],
      [{ messages: [{ role: 'assistant', content: 'a', audio: { id: 'audio_1' } }] }, 'messages[0].audio'],
      [{ messages: [{ role: 'assistant', content: null, function_call: { name: 'f', arguments: '{}' } }] }, 'messages[0].function_call'],
      [{ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', prompt_cache_breakpoint: { mode: 'explicit' } }] }] }, 'messages[0].content[0].prompt_cache_breakpoint'],
      [json({ description: 'A verdict on the claim' }), 'response_format.json_schema.description'],
      [json({ strict: 'yes' }), 'response_format.json_schema.strict'],
      [json({ other: 1 }), 'response_format.json_schema.other'],
      [json({ schema: undefined }), 'response_format.json_schema.schema'],
      [{ messages: [], response_format: { type: 'json_schema', json_schema: { name: 'a', schema: {} }, other: 1 } }, 'response_format.other'],
      [{ messages: [], response_format: { type: 'text', json_schema: { name: 'a', schema: {} } } }, 'response_format.json_schema'],
      [{ messages: [], response_format: { type: 'json_schema' } }, 'response_format.json_schema'],
    );
    for (const [body, field] of cases) {
      const err = refusal(body);
      expect(err.status, field).toBe(400);
      expect(err.param, JSON.stringify(body)).toBe(field);
      expect(err.message).toContain(`'${field}'`);
      expect(err.message).toContain(MODEL);
    }
  });

  it('refuses parallel_tool_calls and tool_choice without tools, as OpenAI does: they were dropped, or sent as {type: any}', () => {
    const hi = [{ role: 'user', content: 'Hi' }];
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ messages: hi, parallel_tool_calls: false }, 'parallel_tool_calls'],
      [{ messages: hi, parallel_tool_calls: true }, 'parallel_tool_calls'],
      [{ messages: hi, tools: [], parallel_tool_calls: false }, 'parallel_tool_calls'],
      [{ messages: hi, tool_choice: 'required' }, 'tool_choice'],
      [{ messages: hi, tool_choice: 'auto' }, 'tool_choice'],
      [{ messages: hi, tool_choice: { type: 'function', function: { name: 'f' } } }, 'tool_choice'],
    ];
    for (const [body, field] of cases) {
      const err = refusal(body);
      expect(err.status).toBe(400);
      expect(err.param, JSON.stringify(body)).toBe(field);
      expect(err.message).toContain('only allowed when tools are given');
    }
  });

  it('refuses a conversation that ends with an assistant message: OpenAI writes a new reply to it, Anthropic would continue it', () => {
    const ending = [
      [{ role: 'user', content: 'Name a colour.' }, { role: 'assistant', content: 'Blue' }],
      [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: [{ type: 'text', text: 'Hello' }] }, { role: 'assistant', content: 'again' }],
      [{ role: 'system', content: 's' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }],
    ];
    for (const messages of ending) {
      const err = refusal({ messages });
      expect(err.status).toBe(400);
      expect(err.param).toBe(`messages[${messages.length - 1}]`);
      expect(err.message).toContain('prefill');
    }
    // A tool result or a user message last is a turn to answer.
    expect(() => toMessages({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c', content: 'r' }] })).not.toThrow();
  });

  it("refuses Anthropic's fast mode and regional inference, saying where they are asked for: priced uplifts, never sent unseen", () => {
    for (const field of ['speed', 'inference_geo']) {
      const err = refusal({ messages: [], [field]: field === 'speed' ? 'fast' : 'us' });
      expect(err.param).toBe(field);
      expect(err.message).toContain('/v1/messages');
    }
  });
});

describe("Anthropic's answers as chat completions", () => {
  it('plain: id, model, content, finish reason, usage (cache writes and reads are prompt tokens; reads are cached), tier', () => {
    expect(messageToChatCompletion(ANTHROPIC_PLAIN, { created: 1_700_000_000 })).toEqual({
      id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'claude-sonnet-4-5-20250929',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello! How can I help you today?', refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 12, completion_tokens: 12, total_tokens: 24, prompt_tokens_details: { cached_tokens: 0 } },
      // Anthropic's `standard` by OpenAI's name.
      service_tier: 'default',
    });
    const tier = (t: unknown) => messageToChatCompletion({ ...ANTHROPIC_PLAIN, usage: { input_tokens: 1, output_tokens: 1, service_tier: t } }, { created: 1 }).service_tier;
    expect([tier('priority'), tier('batch'), tier(undefined), tier(null), tier('Odd!')]).toEqual(['priority', undefined, undefined, undefined, undefined]);
    expect(messageToChatCompletion(ANTHROPIC_CACHED, { created: 1 }).usage).toEqual({
      prompt_tokens: 50 + 2048 + 10_000,
      completion_tokens: 14,
      total_tokens: 50 + 2048 + 10_000 + 14,
      prompt_tokens_details: { cached_tokens: 10_000 },
    });
  });

  it('tools: text and tool_use blocks as content and tool_calls, tool_use as tool_calls', () => {
    const c = messageToChatCompletion(ANTHROPIC_TOOL_USE, { created: 1 }) as { choices: Array<{ message: Record<string, unknown>; finish_reason: string }> };
    expect(c.choices[0].finish_reason).toBe('tool_calls');
    expect(c.choices[0].message).toEqual({
      role: 'assistant',
      content: "I'll check the current weather in San Francisco for you.",
      refusal: null,
      tool_calls: [{ id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' } }],
    });
  });

  it('thinking is not shown, its tokens are reasoning tokens; every stop reason has a finish reason', () => {
    const c = messageToChatCompletion(ANTHROPIC_THINKING, { created: 1 }) as { choices: Array<{ message: { content: string } }>; usage: Record<string, unknown> };
    expect(c.choices[0].message.content).toBe('42.');
    expect(c.usage.completion_tokens_details).toEqual({ reasoning_tokens: 27 });
    const reasons: Array<[string, string]> = [
      ['end_turn', 'stop'],
      ['stop_sequence', 'stop'],
      ['max_tokens', 'length'],
      ['model_context_window_exceeded', 'length'],
      ['tool_use', 'tool_calls'],
      ['refusal', 'content_filter'],
      ['pause_turn', 'stop'],
    ];
    for (const [stop, finish] of reasons) {
      const out = messageToChatCompletion({ ...ANTHROPIC_PLAIN, stop_reason: stop }, { created: 1 }) as { choices: Array<{ finish_reason: string }> };
      expect(out.choices[0].finish_reason, stop).toBe(finish);
    }
    expect(() => messageToChatCompletion({ ...ANTHROPIC_PLAIN, content: [{ type: 'server_tool_use', id: 'x', name: 'web_search', input: {} }] }, { created: 1 })).toThrow(/server_tool_use/);
    expect(() => messageToChatCompletion({ type: 'error' }, { created: 1 })).toThrow(expect.objectContaining({ code: 'upstream_error' }));
  });
});

describe("Anthropic's streams as chat completion chunks", () => {
  it("names the tier in every chunk once message_start told it, by OpenAI's name; none when Anthropic named none", () => {
    const withTier = (tier: string) => ANTHROPIC_STREAM_TEXT.replace('"output_tokens":1}', `"output_tokens":1,"service_tier":"${tier}"}`);
    const standard = messageStreamToChatEvents(withTier('standard'), { created: 5, includeUsage: true });
    expect(standard.chunks.length).toBeGreaterThan(3);
    expect(standard.chunks.map((c) => c.service_tier)).toEqual(standard.chunks.map(() => 'default'));
    expect(standard.translator.serviceTier).toBe('default');
    const batch = messageStreamToChatEvents(withTier('batch'), { created: 5, includeUsage: true });
    expect(batch.chunks.every((c) => !('service_tier' in c))).toBe(true);
    expect(batch.translator.serviceTier).toBe('batch');
    const none = messageStreamToChatEvents(ANTHROPIC_STREAM_TEXT, { created: 5, includeUsage: true });
    expect(none.chunks.every((c) => !('service_tier' in c))).toBe(true);
    expect(none.translator.serviceTier).toBeNull();
  });

  it('keeps the speed the stream ran at, for billing: fast only when its usage says so, nothing shown to the client', () => {
    const fast = messageStreamToChatEvents(ANTHROPIC_STREAM_TEXT.replace('"output_tokens":1}', '"output_tokens":1,"speed":"fast"}'), { created: 5, includeUsage: true });
    expect(fast.translator.speed).toBe('fast');
    expect(JSON.stringify(fast.chunks)).not.toContain('speed');
    expect(messageStreamToChatEvents(ANTHROPIC_STREAM_TEXT, { created: 5, includeUsage: true }).translator.speed).toBe('standard');
    expect(messageStreamToChatEvents('', { created: 5, includeUsage: true }).translator.speed).toBeNull();
  });

  it('plain: the role first, text deltas, the finish reason, a usage chunk when asked, [DONE]', () => {
    const { chunks, done, translator } = messageStreamToChatEvents(ANTHROPIC_STREAM_TEXT, { created: 5, includeUsage: true });
    expect(done).toBe(true);
    expect(translator.complete).toBe(true);
    expect(chunks.map((c) => c.choices)).toEqual([
      [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }],
      [{ index: 0, delta: { content: 'Hello' }, logprobs: null, finish_reason: null }],
      [{ index: 0, delta: { content: '!' }, logprobs: null, finish_reason: null }],
      [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }],
      [],
    ]);
    expect(chunks[0]).toMatchObject({ id: 'msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY', object: 'chat.completion.chunk', created: 5, model: 'claude-sonnet-4-5-20250929' });
    expect(chunks[4].usage).toEqual({ prompt_tokens: 25, completion_tokens: 15, total_tokens: 40, prompt_tokens_details: { cached_tokens: 0 } });
    expect(translator.tokens).toEqual({ input: 25, cached: 0, output: 15 });
    // Without include_usage: no usage chunk, the counts are still read.
    const quiet = messageStreamToChatEvents(ANTHROPIC_STREAM_TEXT, { created: 5, includeUsage: false });
    expect(quiet.chunks.some((c) => c.usage)).toBe(false);
    expect(quiet.translator.tokens).toEqual({ input: 25, cached: 0, output: 15 });
  });

  it('a message_delta without an output count is not final: the usage chunk waits for the counts billed (awaitCount)', () => {
    for (const usage of ['', ',"usage":{"input_tokens":25}']) {
      const sse = ANTHROPIC_STREAM_TEXT.replace(',"usage":{"output_tokens":15}', usage);
      expect(sse).not.toContain('"output_tokens":15');
      const held = new MessageStreamToChat({ created: 5, includeUsage: true, awaitCount: true });
      const out = splitEvents(sse)
        .map((e) => held.push(eventData(e)))
        .join('');
      expect(held).toMatchObject({ complete: true, final: false, awaitingCount: true, tokens: { input: 25, output: 1 } });
      expect(out).not.toContain('[DONE]');
      const end = held.finishWith({ input: 25, cached: 0, output: 3 });
      expect(end).toContain('"completion_tokens":3');
      expect(end).toContain('[DONE]');
    }
  });

  it('streamed tools: one tool call, its arguments in pieces as they came, finish reason tool_calls', () => {
    const { chunks } = messageStreamToChatEvents(ANTHROPIC_STREAM_TOOLS, { created: 5, includeUsage: false });
    const deltas = chunks.map((c) => (c.choices as Array<{ delta: Record<string, unknown>; finish_reason: string | null }>)[0]);
    expect(deltas.map((d) => d.delta.content ?? null).join('')).toBe("Okay, let's check the weather.");
    const calls = deltas.flatMap((d) => (d.delta.tool_calls as Array<Record<string, unknown>> | undefined) ?? []);
    expect(calls[0]).toEqual({ index: 0, id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', type: 'function', function: { name: 'get_weather', arguments: '' } });
    expect(calls.slice(1).map((c) => (c.function as { arguments: string }).arguments)).toEqual(['', '{"location":', ' "San Fra', 'ncisco, CA"}']);
    expect(calls.every((c) => c.index === 0)).toBe(true);
    expect(deltas.at(-1)?.finish_reason).toBe('tool_calls');
  });

  it('a streamed tool call without input (no input_json_delta, or an empty one) has the arguments {}, as the answer whole has', () => {
    const start = (index: number, id: string) => ({ type: 'content_block_start', index, content_block: { type: 'tool_use', id, name: 'now', input: {} } });
    const sse = anthropicSse([
      { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: MODEL, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 5, output_tokens: 1 } } },
      start(0, 'toolu_a'),
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '' } },
      { type: 'content_block_stop', index: 0 },
      start(1, 'toolu_b'),
      { type: 'content_block_stop', index: 1 },
      start(2, 'toolu_c'),
      { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"a":' } },
      { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '1}' } },
      { type: 'content_block_stop', index: 2 },
      { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 9 } },
      { type: 'message_stop' },
    ]);
    const { chunks } = messageStreamToChatEvents(sse, { created: 5, includeUsage: false });
    const calls = chunks.flatMap((c) => ((c.choices as Array<{ delta: { tool_calls?: Array<{ index: number; function: { arguments: string } }> } }>)[0]?.delta.tool_calls ?? []));
    // What a client gets by joining each call's pieces (the openai SDK's stream helper does).
    const joined = [0, 1, 2].map((i) => calls.filter((c) => c.index === i).map((c) => c.function.arguments).join(''));
    expect(joined).toEqual(['{}', '{}', '{"a":1}']);
    // As a whole answer gives them.
    const whole = messageToChatCompletion({ ...ANTHROPIC_PLAIN, content: [{ type: 'tool_use', id: 'toolu_a', name: 'now', input: {} }] }, { created: 1 });
    expect((whole.choices as Array<{ message: { tool_calls: Array<{ function: { arguments: string } }> } }>)[0].message.tool_calls[0].function.arguments).toBe('{}');
  });

  it('an error event ends the stream with an OpenAI-shaped error, incomplete', () => {
    const { chunks, done, translator } = messageStreamToChatEvents(ANTHROPIC_STREAM_ERROR, { created: 5, includeUsage: true });
    expect(done).toBe(false);
    expect(translator.complete).toBe(false);
    expect(translator.ended).toBe(true);
    expect(chunks.at(-1)).toEqual({ error: { message: 'Overloaded', type: 'overloaded_error', param: null, code: null } });
    expect(translator.tokens).toEqual({ input: 9, cached: 0, output: 1 });
  });

  it("a provider's error event goes out with its message cleared by the caller's scrub (the provider's key, decoded)", () => {
    const sse = `event: error\ndata: {"type":"error","error":{"type":"authentication_error","message":"bad key sk-up-a\\/b"}}\n\n`;
    const { chunks } = messageStreamToChatEvents(sse, { created: 5, includeUsage: false, scrub: (text) => text.replace('sk-up-a/b', '[provider key]') });
    expect(chunks.at(-1)).toEqual({ error: { message: 'bad key [provider key]', type: 'authentication_error', param: null, code: null } });
  });
});
