// Provider payloads as the providers send them, for the translation tests and the fake upstreams: Anthropic's
// Messages API answers and event streams (shaped after the examples of Anthropic's API reference and streaming guide,
// ids and counts included) and OpenAI's chat completions and chunks (after OpenAI's API reference), one per feature:
// plain, multi-turn, tools, streamed tools, images, errors.

type Json = Record<string, unknown>;

/** SSE text of Anthropic events: `event: <type>` then its data. */
export const anthropicSse = (events: Json[]): string => events.map((e) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`).join('');
/** SSE text of OpenAI chunks, ending with [DONE]. */
export const openaiSse = (chunks: Json[], done = true): string => chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + (done ? 'data: [DONE]\n\n' : '');

// --- Anthropic

export const ANTHROPIC_PLAIN: Json = {
  id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
  type: 'message',
  role: 'assistant',
  content: [{ type: 'text', text: 'Hello! How can I help you today?' }],
  model: 'claude-sonnet-4-5-20250929',
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: {
    input_tokens: 12,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    output_tokens: 12,
    service_tier: 'standard',
  },
};

/** A turn of a cached conversation: 2,048 tokens written to the cache for 5 minutes, 10,000 read from it. */
export const ANTHROPIC_CACHED: Json = {
  ...ANTHROPIC_PLAIN,
  id: 'msg_01Cached000000000000000',
  content: [{ type: 'text', text: 'The third clause limits liability to direct damages.' }],
  usage: {
    input_tokens: 50,
    cache_creation_input_tokens: 2048,
    cache_read_input_tokens: 10_000,
    cache_creation: { ephemeral_5m_input_tokens: 2048, ephemeral_1h_input_tokens: 0 },
    output_tokens: 14,
    service_tier: 'standard',
  },
};

export const ANTHROPIC_TOOL_USE: Json = {
  id: 'msg_01Aq9w938a90dw8q',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5-20250929',
  stop_reason: 'tool_use',
  stop_sequence: null,
  content: [
    { type: 'text', text: "I'll check the current weather in San Francisco for you." },
    { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', input: { location: 'San Francisco, CA', unit: 'celsius' } },
  ],
  usage: { input_tokens: 384, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 87 },
};

export const ANTHROPIC_THINKING: Json = {
  ...ANTHROPIC_PLAIN,
  id: 'msg_01Thinking0000000000000',
  content: [
    { type: 'thinking', thinking: 'The user wants a short answer.', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds' },
    { type: 'text', text: '42.' },
  ],
  usage: { input_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 30, output_tokens_details: { thinking_tokens: 27 } },
};

/** Anthropic's streamed text answer (its streaming guide's "basic streaming request"). */
export const ANTHROPIC_STREAM_TEXT = anthropicSse([
  {
    type: 'message_start',
    message: {
      id: 'msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY',
      type: 'message',
      role: 'assistant',
      content: [],
      model: 'claude-sonnet-4-5-20250929',
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 25, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 },
    },
  },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  { type: 'ping' },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: '!' } },
  { type: 'content_block_stop', index: 0 },
  { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 15 } },
  { type: 'message_stop' },
]);

/**
 * An answer after server-side compaction (Anthropic's compaction guide): the summary was a sampling step of its own,
 * listed in `usage.iterations` and left out of the top-level counts, which are the message's.
 */
export const COMPACTION_STEP = { type: 'compaction', input_tokens: 180_000, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 3500 };
export const ANTHROPIC_COMPACTED: Json = {
  ...ANTHROPIC_PLAIN,
  id: 'msg_01Compacted0000000000000',
  usage: { ...(ANTHROPIC_PLAIN.usage as Json), iterations: [COMPACTION_STEP, { type: 'message', input_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 12 }] },
};

/** ANTHROPIC_STREAM_TEXT after server-side compaction: message_delta's usage lists the steps. */
export const ANTHROPIC_STREAM_COMPACTED = ANTHROPIC_STREAM_TEXT.replace(
  '"usage":{"output_tokens":15}',
  `"usage":${JSON.stringify({ output_tokens: 15, iterations: [COMPACTION_STEP, { type: 'message', input_tokens: 25, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 15 }] })}`,
);

/** Anthropic's streamed tool use (its streaming guide's "streaming request with tool use"), cut to fewer pieces. */
export const ANTHROPIC_STREAM_TOOLS = anthropicSse([
  {
    type: 'message_start',
    message: {
      id: 'msg_014p7gG3wDgGV9EUtLvnow3U',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5-20250929',
      stop_sequence: null,
      usage: { input_tokens: 472, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 2 },
      content: [],
      stop_reason: null,
    },
  },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  { type: 'ping' },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Okay, let' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: "'s check the weather." } },
  { type: 'content_block_stop', index: 0 },
  { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather', input: {} } },
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '' } },
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"location":' } },
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: ' "San Fra' } },
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: 'ncisco, CA"}' } },
  { type: 'content_block_stop', index: 1 },
  { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 89 } },
  { type: 'message_stop' },
]);

/** A stream Anthropic cut short with an error event (overloaded), as its streaming guide shows. */
export const ANTHROPIC_STREAM_ERROR = anthropicSse([
  {
    type: 'message_start',
    message: { id: 'msg_01Err', type: 'message', role: 'assistant', content: [], model: 'claude-haiku-4-5', stop_reason: null, stop_sequence: null, usage: { input_tokens: 9, output_tokens: 1 } },
  },
  { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
]);

export const ANTHROPIC_ERROR_400 = {
  type: 'error',
  error: { type: 'invalid_request_error', message: 'messages.1.content: Input should be a valid list' },
  request_id: 'req_011CSHoEeqs5C35K2UUqR7Fy',
};

export const ANTHROPIC_ERROR_429 = {
  type: 'error',
  error: { type: 'rate_limit_error', message: 'This request would exceed the rate limit for your organization of 50 requests per minute.' },
  request_id: 'req_011CSHoEeqs5C35K2UUqR7Fz',
};

// --- OpenAI

export const OPENAI_PLAIN: Json = {
  id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
  object: 'chat.completion',
  created: 1741569952,
  model: 'gpt-4o-2024-08-06',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello! How can I assist you today?', refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
  usage: {
    prompt_tokens: 19,
    completion_tokens: 10,
    total_tokens: 29,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  },
  service_tier: 'default',
  system_fingerprint: 'fp_fc9f1d7035',
};

export const OPENAI_TOOL_CALLS: Json = {
  id: 'chatcmpl-abc123',
  object: 'chat.completion',
  created: 1699896916,
  model: 'gpt-4o-mini',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_abc123', type: 'function', function: { name: 'get_current_weather', arguments: '{\n"location": "Boston, MA"\n}' } }],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    },
  ],
  usage: { prompt_tokens: 82, completion_tokens: 17, total_tokens: 99, prompt_tokens_details: { cached_tokens: 64 } },
};

const chunk = (delta: Json, finish: string | null = null, extra: Json = {}): Json => ({
  id: 'chatcmpl-123',
  object: 'chat.completion.chunk',
  created: 1694268190,
  model: 'gpt-4o-mini',
  system_fingerprint: 'fp_44709d6fcb',
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  ...extra,
});

const usageChunk = (usage: Json): Json => ({ id: 'chatcmpl-123', object: 'chat.completion.chunk', created: 1694268190, model: 'gpt-4o-mini', choices: [], usage });

/** OpenAI's streamed text answer with include_usage. */
export const OPENAI_STREAM_TEXT = openaiSse([
  chunk({ role: 'assistant', content: '', refusal: null }, null, { usage: null }),
  chunk({ content: 'Hello' }, null, { usage: null }),
  chunk({ content: '!' }, null, { usage: null }),
  chunk({}, 'stop', { usage: null }),
  usageChunk({ prompt_tokens: 9, completion_tokens: 2, total_tokens: 11, prompt_tokens_details: { cached_tokens: 0 } }),
]);

/** OpenAI's streamed parallel tool calls (one after the other, as OpenAI sends them). */
export const OPENAI_STREAM_TOOLS = openaiSse([
  chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', type: 'function', function: { name: 'get_weather', arguments: '' } }], refusal: null }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"lo' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: 'cation": "Paris"}' } }] }),
  chunk({ tool_calls: [{ index: 1, id: 'call_ABCDEFGHIJKLMNOPQRSTUVWX', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
  chunk({ tool_calls: [{ index: 1, function: { arguments: '{"location": "Bogotá"}' } }] }),
  chunk({}, 'tool_calls'),
  usageChunk({ prompt_tokens: 80, completion_tokens: 40, total_tokens: 120, prompt_tokens_details: { cached_tokens: 16 } }),
]);

export const OPENAI_ERROR_400 = {
  error: { message: "Invalid value for 'temperature': expected a number from 0 to 2.", type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' },
};
