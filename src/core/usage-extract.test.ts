import { describe, expect, it } from 'vitest';
import { deltaAudioBytes, deltaText, outputAudioBytes, outputText, tokensFromUsage, usageAtJsonEnd, usageFromJsonTail, withAnthropicDelta } from './usage-extract.js';

describe('usageAtJsonEnd: the usage that ends an answer, from its last bytes alone', () => {
  const usage = { input_tokens: 20, input_tokens_details: { text_tokens: 20, image_tokens: 0 }, output_tokens: 12_000, total_tokens: 12_020 };
  const answer = JSON.stringify({ created: 1, data: [{ b64_json: 'A'.repeat(1000) }], quality: 'high', usage });
  const tailOf = (text: string, n: number) => Buffer.from(text).subarray(-n);

  it('reads the root object\'s last member from a tail that begins anywhere, however spaced', () => {
    expect(usageAtJsonEnd(tailOf(answer, 200))).toEqual(usage);
    expect(usageAtJsonEnd(Buffer.from(answer))).toEqual(usage);
    expect(usageAtJsonEnd(tailOf(JSON.stringify(JSON.parse(answer), null, 2), 300))).toEqual(usage);
    expect(usageAtJsonEnd(Buffer.from(`${answer}\n`))).toEqual(usage);
  });

  it('finds nothing when the usage is not the root object\'s last member, or is cut, or is no object', () => {
    const cases = [
      JSON.stringify({ usage, data: [] }),
      JSON.stringify({ data: [{ b64_json: 'A', usage }] }),
      JSON.stringify({ outer: { usage } }),
      JSON.stringify({ data: [], usage: null }),
      JSON.stringify({ data: [], usage: [1] }),
      JSON.stringify({ text: 'x', quality: 'usage' }),
      answer.slice(0, -1),
      'plain text',
    ];
    for (const text of cases) expect(usageAtJsonEnd(Buffer.from(text)), text).toBeNull();
    // A tail that begins inside the usage object has no key to start from.
    expect(usageAtJsonEnd(tailOf(answer, 40))).toBeNull();
  });

  it('is never fooled by text inside a string: quotes there are escaped', () => {
    const spoken = JSON.stringify({ text: 'and then "usage": {"output_tokens": 0}}', usage });
    // The tail begins inside the string.
    expect(usageAtJsonEnd(Buffer.from(spoken).subarray(spoken.indexOf('then')))).toEqual(usage);
    // A string value ending the object, spelling a usage, is no usage.
    expect(usageAtJsonEnd(Buffer.from(JSON.stringify({ data: [], text: '"usage": {"output_tokens": 0}}' })))).toBeNull();
  });
});

describe('usageFromJsonTail', () => {
  const body = (o: unknown) => Buffer.from(JSON.stringify(o, null, 1));
  it('reads usage at the end of a completion without parsing the rest', () => {
    const b = body({ id: 'x', choices: [{ message: { content: 'a "usage": {} trap }' } }], usage: { prompt_tokens: 11, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 3 } } });
    expect(usageFromJsonTail(b)).toEqual({ input: 11, cached: 3, output: 7 });
    expect(usageFromJsonTail(body({ usage: { input_tokens: 5, output_tokens: 2, input_tokens_details: { cached_tokens: 1 } } }))).toEqual({ input: 5, cached: 1, output: 2 });
    // As OpenAI answers now: members after usage, compact, and usage as the very first key of another body.
    const openai = { id: 'x', usage: { prompt_tokens: 4, completion_tokens: 6, prompt_tokens_details: { cached_tokens: 2 } }, service_tier: 'default', system_fingerprint: 'fp_1' };
    expect(usageFromJsonTail(Buffer.from(JSON.stringify(openai)))).toEqual({ input: 4, cached: 2, output: 6 });
    expect(usageFromJsonTail(Buffer.from('{"usage":{"prompt_tokens":1,"completion_tokens":2}}'))).toEqual({ input: 1, cached: 0, output: 2 });
  });
  it('gives up (null) on anything that is not one complete object with usage', () => {
    expect(usageFromJsonTail(Buffer.from('{"id": "x", "choices": ['))).toBeNull();
    expect(usageFromJsonTail(body({ id: 'x' }))).toBeNull();
    expect(usageFromJsonTail(Buffer.from('[{"usage": {"prompt_tokens": 1}}]'))).toBeNull();
    expect(usageFromJsonTail(Buffer.from('{"usage": "none"}'))).toBeNull();
  });
  it("reads OpenAI's counts when Anthropic's cache counters stand beside them (LiteLLM), the cache as parts of the input", () => {
    const litellm = { prompt_tokens: 10_000, completion_tokens: 5000, total_tokens: 15_000, prompt_tokens_details: { cached_tokens: 0 }, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    expect(tokensFromUsage(litellm)).toEqual({ input: 10_000, cached: 0, output: 5000 });
    expect(tokensFromUsage({ ...litellm, prompt_tokens_details: { cached_tokens: 4000 }, cache_creation_input_tokens: 2000, cache_read_input_tokens: 4000 })).toEqual({ input: 10_000, cached: 4000, cacheWrite: 2000, output: 5000 });
    expect(tokensFromUsage({ prompt_tokens: 10, completion_tokens: null })).toEqual({ input: 10, cached: 0, output: 0, outputUnnamed: true });
  });
  it('reads the root\'s own usage only, never one nested in a member after it (null: the caller parses it whole)', () => {
    const usage = { prompt_tokens: 40_000, completion_tokens: 3000 };
    const nested = { usage, usage_breakdown: { models: [{ model: 'a', usage: { prompt_tokens: 100, completion_tokens: 50 } }] } };
    expect(usageFromJsonTail(body(nested))).toBeNull();
    expect(usageFromJsonTail(body({ choices: [], meta: { usage: { prompt_tokens: 1, completion_tokens: 1 }, x: '}' } }))).toBeNull();
    expect(usageFromJsonTail(body({ choices: [], list: [{ usage: { prompt_tokens: 1, completion_tokens: 1 } }] }))).toBeNull();
    // Members after the root's usage, brackets and braces in their strings and values.
    expect(usageFromJsonTail(body({ choices: [], usage, after: { a: [1, { b: '}]' }], c: '\\"{' }, last: 1 }))).toEqual({ input: 40_000, cached: 0, output: 3000 });
  });
});

describe("Anthropic's usage", () => {
  // As Anthropic's Messages API answers: input_tokens leave out the cache writes and reads.
  const message = {
    id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
    type: 'message',
    role: 'assistant',
    content: [{ type: 'text', text: 'Hello!' }],
    model: 'claude-sonnet-4-5-20250929',
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: {
      input_tokens: 12,
      cache_creation_input_tokens: 2048,
      cache_read_input_tokens: 4096,
      cache_creation: { ephemeral_5m_input_tokens: 1024, ephemeral_1h_input_tokens: 1024 },
      output_tokens: 6,
      service_tier: 'standard',
      server_tool_use: null,
    },
  };

  it('counts the input as fresh input plus cache writes and reads, with the writes split by lifetime', () => {
    expect(usageFromJsonTail(Buffer.from(JSON.stringify(message)))).toEqual({ input: 12 + 2048 + 4096, cached: 4096, cacheWrite: 1024, cacheWrite1h: 1024, output: 6 });
    expect(tokensFromUsage({ input_tokens: 5, cache_creation_input_tokens: 10, cache_read_input_tokens: 0, output_tokens: 1 })).toEqual({ input: 15, cached: 0, cacheWrite: 10, output: 1 });
    expect(tokensFromUsage({ input_tokens: 5, cache_creation_input_tokens: null, cache_read_input_tokens: null, output_tokens: 1 })).toEqual({ input: 5, cached: 0, output: 1 });
    expect(outputText(message)).toBe('Hello!');
  });

  it("lays a message_delta's cumulative counts over message_start's, keeping what it leaves out", () => {
    const start = tokensFromUsage({ input_tokens: 25, cache_creation_input_tokens: 0, cache_read_input_tokens: 100, output_tokens: 1 });
    expect(withAnthropicDelta(start, { output_tokens: 15 })).toEqual({ input: 125, cached: 100, output: 15 });
    expect(withAnthropicDelta(start, { input_tokens: 30, cache_read_input_tokens: 100, output_tokens: 15 })).toEqual({ input: 130, cached: 100, output: 15 });
    // No message_start usage, and a delta naming no input: the input is unknown (the gateway counts the prompt).
    expect(withAnthropicDelta(null, { output_tokens: 4 })).toEqual({ input: 0, cached: 0, output: 4, inputUnnamed: true });
    expect(withAnthropicDelta(null, { input_tokens: 0, output_tokens: 4 })).toEqual({ input: 0, cached: 0, output: 4 });
    expect(tokensFromUsage({ completion_tokens: 5 })).toEqual({ input: 0, cached: 0, output: 5, inputUnnamed: true });
    expect(tokensFromUsage({ prompt_tokens: 0, completion_tokens: 5 })).toEqual({ input: 0, cached: 0, output: 5 });
    expect(deltaText({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } })).toBe('Hi');
    expect(deltaText({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"a"' } })).toBe('{"a"');
  });

  it("reads the web searches a usage names (server_tool_use), whole or a stream's message_delta over message_start's", () => {
    const tools = { web_search_requests: 3, web_fetch_requests: 1 };
    expect(tokensFromUsage({ input_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 12, server_tool_use: tools })).toEqual({ input: 12, cached: 0, output: 12, webSearches: 3 });
    // Without Anthropic's cache counters (read by the Responses API's names), and beside OpenAI's (LiteLLM passes it on).
    expect(tokensFromUsage({ input_tokens: 12, output_tokens: 12, server_tool_use: tools })?.webSearches).toBe(3);
    expect(tokensFromUsage({ prompt_tokens: 12, completion_tokens: 12, server_tool_use: tools })?.webSearches).toBe(3);
    // Fetches alone, a count that is no count, or none: no searches.
    for (const server_tool_use of [{ web_fetch_requests: 2 }, { web_search_requests: -1 }, { web_search_requests: '3' }, null, 3]) {
      expect(tokensFromUsage({ input_tokens: 12, output_tokens: 12, server_tool_use })?.webSearches, JSON.stringify(server_tool_use)).toBeUndefined();
    }
    // A stream: message_start names none yet, message_delta the whole message's; a delta that names none keeps the last.
    const start = tokensFromUsage({ input_tokens: 25, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1, server_tool_use: { web_search_requests: 0 } });
    const delta = withAnthropicDelta(start, { output_tokens: 15, server_tool_use: tools });
    expect(delta).toEqual({ input: 25, cached: 0, output: 15, webSearches: 3 });
    expect(withAnthropicDelta(delta, { output_tokens: 20 })).toEqual({ input: 25, cached: 0, output: 20, webSearches: 3 });
    expect(withAnthropicDelta(delta, { output_tokens: 20, server_tool_use: { web_fetch_requests: 2 } })).toEqual({ input: 25, cached: 0, output: 20, webSearches: 3 });
    expect(withAnthropicDelta(delta, { output_tokens: 20, server_tool_use: { web_search_requests: 5 } })).toEqual({ input: 25, cached: 0, output: 20, webSearches: 5 });
  });

  it("adds the usage of a request's other sampling steps (server-side compaction, the advisor tool), which Anthropic's top-level counts leave out", () => {
    // Anthropic's compaction example: the top-level counts are the message iteration's; the compaction is billed too.
    const message = { type: 'message', input_tokens: 23_000, output_tokens: 1000 };
    const compacted = { input_tokens: 23_000, output_tokens: 1000, iterations: [{ type: 'compaction', input_tokens: 180_000, output_tokens: 3500 }, message] };
    expect(tokensFromUsage(compacted)).toEqual({ input: 203_000, cached: 0, output: 4500 });
    // An iteration's cache writes and reads are priced as the message's are.
    const cachedCompaction = { type: 'compaction', input_tokens: 1000, cache_creation_input_tokens: 500, cache_read_input_tokens: 100_000, cache_creation: { ephemeral_1h_input_tokens: 500 }, output_tokens: 2000 };
    expect(tokensFromUsage({ input_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 5, iterations: [cachedCompaction, { type: 'message', input_tokens: 10, output_tokens: 5 }] })).toEqual({
      input: 10 + 1000 + 500 + 100_000,
      cached: 100_000,
      cacheWrite1h: 500,
      output: 5 + 2000,
    });
    // The advisor's own sampling, as an iteration of its own.
    expect(tokensFromUsage({ input_tokens: 100, output_tokens: 10, iterations: [{ type: 'message', input_tokens: 60, output_tokens: 4 }, { type: 'advisor_message', input_tokens: 5000, output_tokens: 700 }, { type: 'message', input_tokens: 40, output_tokens: 6 }] })).toEqual({ input: 5100, cached: 0, output: 710 });
    // In an answer read from its tail, and in a stream's message_delta.
    expect(usageFromJsonTail(Buffer.from(JSON.stringify({ id: 'msg_1', type: 'message', content: [], usage: compacted })))).toEqual({ input: 203_000, cached: 0, output: 4500 });
    const start = tokensFromUsage({ input_tokens: 23_000, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 });
    expect(withAnthropicDelta(start, { output_tokens: 1000, iterations: compacted.iterations })).toEqual({ input: 203_000, cached: 0, output: 4500 });
    // Nothing to add: no iterations, or only the message's.
    expect(tokensFromUsage({ input_tokens: 5, output_tokens: 1, iterations: [{ type: 'message', input_tokens: 5, output_tokens: 1 }] })).toEqual({ input: 5, cached: 0, output: 1 });
    expect(tokensFromUsage({ input_tokens: 5, output_tokens: 1, iterations: null })).toEqual({ input: 5, cached: 0, output: 1 });
  });

  it('reads every generated piece of a stream event: what a cut stream delivered is billed (tool arguments and thinking included)', () => {
    expect(deltaText({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Let me see' } })).toBe('Let me see');
    expect(deltaText({ type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'EqQB' } })).toBe('');
    const chunk = { choices: [{ index: 0, delta: { content: 'a', refusal: 'b', tool_calls: [{ index: 0, function: { arguments: '{"x"' } }, { index: 1, function: { name: 'f' } }] } }] };
    expect(deltaText(chunk)).toBe('ab{"x"');
    expect(deltaText({ choices: [{ index: 0, text: 'done' }] })).toBe('done');
    expect(deltaText({ type: 'response.function_call_arguments.delta', delta: '{"q":' })).toBe('{"q":');
    expect(deltaText({ type: 'response.output_text.delta', delta: 'Hi' })).toBe('Hi');
    expect(deltaText({ type: 'response.created', delta: 'not output' })).toBe('');
  });
  it('reads the same generated text from a whole answer as from its stream: tool calls, refusals, reasoning, thinking, transcripts', () => {
    const args = '{"city":"Paris","unit":"celsius"}';
    // Chat: a tool call, a legacy function call, a refusal, an audio transcript, a compatible server's reasoning.
    const message = { role: 'assistant', content: null, refusal: 'no', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: args } }, { id: 'd', type: 'custom', custom: { name: 'g', input: 'raw' } }], function_call: { name: 'f', arguments: '{}' }, audio: { id: 'a', transcript: 'spoken' }, reasoning_content: 'thought' };
    const whole = outputText({ object: 'chat.completion', choices: [{ index: 0, message }] });
    expect(whole).toBe(deltaText({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: message }] }));
    for (const piece of [args, 'raw', 'no', '{}', 'spoken', 'thought']) expect(whole).toContain(piece);
    // Responses: message text and refusal, function, custom-tool and MCP calls, reasoning summary and text.
    const response = {
      object: 'response',
      output: [
        { type: 'reasoning', summary: [{ type: 'summary_text', text: 'plan' }], content: [{ type: 'reasoning_text', text: 'steps' }] },
        { type: 'message', content: [{ type: 'output_text', text: 'Hi' }, { type: 'refusal', refusal: 'nope' }] },
        { type: 'function_call', name: 'f', arguments: args },
        { type: 'custom_tool_call', name: 'g', input: 'patch' },
        { type: 'mcp_call', name: 'h', arguments: '{"q":1}' },
        { type: 'web_search_call', action: { query: 'not generated text' } },
      ],
    };
    const deltas = [
      { type: 'response.reasoning_summary_text.delta', delta: 'plan' },
      { type: 'response.reasoning_text.delta', delta: 'steps' },
      { type: 'response.output_text.delta', delta: 'Hi' },
      { type: 'response.refusal.delta', delta: 'nope' },
      { type: 'response.function_call_arguments.delta', delta: args },
      { type: 'response.custom_tool_call_input.delta', delta: 'patch' },
      { type: 'response.mcp_call_arguments.delta', delta: '{"q":1}' },
    ];
    expect(outputText(response)).toBe(deltas.map(deltaText).join(''));
    // The SDKs' output_text beside the items is not counted twice.
    expect(outputText({ ...response, output_text: 'Hi' })).toBe(outputText(response));
    expect(outputText({ output_text: 'Hi' })).toBe('Hi');
    // Anthropic: thinking, text, a tool call's input (whole as JSON, streamed in pieces of it); not a signature.
    const input = { city: 'Paris' };
    const anthropic = {
      type: 'message',
      content: [
        { type: 'thinking', thinking: 'hmm', signature: 'EqQB' },
        { type: 'redacted_thinking', data: 'opaque' },
        { type: 'text', text: 'Sure' },
        { type: 'tool_use', id: 't', name: 'weather', input },
      ],
    };
    const events = [
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'EqQB' } },
      { type: 'content_block_delta', index: 2, delta: { type: 'text_delta', text: 'Sure' } },
      { type: 'content_block_delta', index: 3, delta: { type: 'input_json_delta', partial_json: '{"city":' } },
      { type: 'content_block_delta', index: 3, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } },
    ];
    expect(outputText(anthropic)).toBe(events.map(deltaText).join(''));
    expect(outputText(anthropic)).toBe(`hmmSure${JSON.stringify(input)}`);
  });
});

describe('usages of OpenAI-compatible servers that spell their counts their own way', () => {
  it('adds reasoning reported outside completion_tokens (xAI, Vertex Grok: total = prompt + completion + reasoning) to the output', () => {
    const xai = { prompt_tokens: 1000, completion_tokens: 50, total_tokens: 11_050, completion_tokens_details: { reasoning_tokens: 10_000 } };
    expect(tokensFromUsage(xai)).toEqual({ input: 1000, cached: 0, output: 10_050 });
    expect(usageFromJsonTail(Buffer.from(JSON.stringify({ id: 'c', choices: [], usage: xai })))).toEqual({ input: 1000, cached: 0, output: 10_050 });
    // The Responses API's names likewise.
    expect(tokensFromUsage({ input_tokens: 1000, output_tokens: 50, total_tokens: 11_050, output_tokens_details: { reasoning_tokens: 10_000 } })).toEqual({ input: 1000, cached: 0, output: 10_050 });
    // OpenAI's own (reasoning inside completion_tokens, as total shows): as reported.
    const openai = { prompt_tokens: 1000, completion_tokens: 10_050, total_tokens: 11_050, completion_tokens_details: { reasoning_tokens: 10_000 } };
    expect(tokensFromUsage(openai)).toEqual({ input: 1000, cached: 0, output: 10_050 });
    // No total to tell by, or one that fits neither: as reported.
    expect(tokensFromUsage({ prompt_tokens: 1000, completion_tokens: 50, completion_tokens_details: { reasoning_tokens: 10_000 } })).toEqual({ input: 1000, cached: 0, output: 50 });
    expect(tokensFromUsage({ prompt_tokens: 1000, completion_tokens: 50, total_tokens: 1070, completion_tokens_details: { reasoning_tokens: 10 } })).toEqual({ input: 1000, cached: 0, output: 50 });
  });

  it("splits cache writes by lifetime as LiteLLM reports it (prompt_tokens_details.cache_creation_token_details)", () => {
    const litellm = {
      prompt_tokens: 100_010,
      completion_tokens: 10,
      total_tokens: 100_020,
      prompt_tokens_details: { cached_tokens: 0, cache_creation_tokens: 100_000, cache_creation_token_details: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 100_000 } },
      cache_creation_input_tokens: 100_000,
      cache_read_input_tokens: 0,
    };
    expect(tokensFromUsage(litellm)).toEqual({ input: 100_010, cached: 0, cacheWrite1h: 100_000, output: 10 });
    // Its cache writes named only in prompt_tokens_details.
    const { cache_creation_input_tokens: _w, cache_read_input_tokens: _r, ...inDetails } = litellm;
    expect(tokensFromUsage(inDetails)).toEqual({ input: 100_010, cached: 0, cacheWrite1h: 100_000, output: 10 });
    const mixed = { ...litellm, prompt_tokens_details: { ...litellm.prompt_tokens_details, cache_creation_token_details: { ephemeral_5m_input_tokens: 40_000, ephemeral_1h_input_tokens: 60_000 } } };
    expect(tokensFromUsage(mixed)).toEqual({ input: 100_010, cached: 0, cacheWrite: 40_000, cacheWrite1h: 60_000, output: 10 });
  });

  it('marks the output unnamed when a Responses or whole Anthropic usage gives no output count', () => {
    expect(tokensFromUsage({ input_tokens: 1000, output_tokens: null, total_tokens: 1000 })).toEqual({ input: 1000, cached: 0, output: 0, outputUnnamed: true });
    expect(tokensFromUsage({ input_tokens: 1000 })).toEqual({ input: 1000, cached: 0, output: 0, outputUnnamed: true });
    expect(tokensFromUsage({ input_tokens: 1000, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: null })).toEqual({ input: 1000, cached: 0, output: 0, outputUnnamed: true });
    // Named, 0 included: the provider's word.
    expect(tokensFromUsage({ input_tokens: 1000, output_tokens: 0 })).toEqual({ input: 1000, cached: 0, output: 0 });
    expect(tokensFromUsage({ input_tokens: 1000, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0 })).toEqual({ input: 1000, cached: 0, output: 0 });
  });

  it("takes the larger reading when a usage names OpenAI's and the Responses API's counts both", () => {
    expect(tokensFromUsage({ prompt_tokens: 0, completion_tokens: 0, input_tokens: 5000, output_tokens: 800, total_tokens: 5800 })).toEqual({ input: 5000, cached: 0, output: 800 });
    expect(tokensFromUsage({ prompt_tokens: 5000, completion_tokens: 800, input_tokens: 0, output_tokens: 0 })).toEqual({ input: 5000, cached: 0, output: 800 });
    expect(tokensFromUsage({ prompt_tokens: 5000, completion_tokens: 0, input_tokens: 10, output_tokens: 800, input_tokens_details: { cached_tokens: 4 } })).toEqual({ input: 5000, cached: 0, output: 800 });
    expect(tokensFromUsage({ prompt_tokens: 10, completion_tokens: 0, input_tokens: 5000, output_tokens: 0, input_tokens_details: { cached_tokens: 4000 } })).toEqual({ input: 5000, cached: 4000, output: 0 });
  });
});

describe('deltaAudioBytes, outputAudioBytes (spoken output delivered)', () => {
  it('reads the audio of every choice of a chat chunk or answer, and the Responses API audio deltas', () => {
    const data = Buffer.alloc(1000).toString('base64');
    const chunk = { choices: [0, 1].map((index) => ({ index, delta: { audio: { transcript: 'hi', data } } })) };
    expect(deltaAudioBytes(chunk)).toBe(2000);
    expect(deltaText(chunk)).toBe('hihi');
    expect(deltaAudioBytes({ type: 'response.audio.delta', delta: Buffer.alloc(7).toString('base64') })).toBe(7);
    expect(deltaText({ type: 'response.audio.transcript.delta', delta: 'Hi' })).toBe('Hi');
    expect(deltaAudioBytes({ choices: [{ delta: { content: 'x' } }] })).toBe(0);
    expect(outputAudioBytes({ choices: [{ message: { audio: { data } } }] })).toBe(1000);
  });
});
