import { describe, expect, it } from 'vitest';
import { answerFinished, answerText, inspectEvents, lastEventOf, nullUsageSpan, serviceTierNamedIn, streamShapeFor } from './stream-usage.js';

const chunk = (obj: unknown) => `data: ${JSON.stringify(obj)}\n\n`;
const delta = (text: string, extra: Record<string, unknown> = {}) =>
  chunk({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: text } }], ...extra });
const usage = { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 };
const at = (s: string, needle = 'usage"') => s.indexOf(needle);

describe('the stream usage scanner', () => {
  it("finds a provider's error event in every stream's shape, and puts what it is told in its place", () => {
    const anthropic = 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_up"}\n\n';
    const chat = chunk({ error: { message: 'The server had an error', type: 'server_error', param: null, code: null } });
    const responses = `event: error\n${chunk({ type: 'error', code: 'server_error', message: 'x', param: null, sequence_number: 3 })}`;
    for (const [endpoint, event] of [
      ['/messages', anthropic],
      ['/chat/completions', chat],
      ['/responses', responses],
    ] as const) {
      const before = delta('Hello');
      const seen = inspectEvents(Buffer.from(before + event), streamShapeFor(endpoint), false, null, false, () => 'event: error\ndata: {}\n\n');
      expect(seen.errored, endpoint).toBe(true);
      expect(seen.complete, endpoint).toBe(false);
      expect(seen.out.toString(), endpoint).toBe(`${before}event: error\ndata: {}\n\n`);
    }
    // Not errors: text ending in "error", an error's type named elsewhere, a Responses stream's failed end.
    for (const [endpoint, events] of [
      ['/chat/completions', delta('a syntax error')],
      ['/messages', 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"an error"}}\n\n'],
      ['/responses', chunk({ type: 'response.failed', sequence_number: 4, response: { error: { code: 'server_error', message: 'x' } } })],
    ] as const) {
      const seen = inspectEvents(Buffer.from(events), streamShapeFor(endpoint), false, null, false, () => 'replaced');
      expect(seen.errored, endpoint).toBe(false);
      expect(seen.out.toString(), endpoint).toBe(events);
    }
  });

  it('finds a null usage member with the comma that goes with it, in byte offsets, and nothing else', () => {
    const mid = '{"a":1,"usage": null ,"b":2}';
    const span = nullUsageSpan(Buffer.from(mid), at(mid));
    expect(span).not.toBeNull();
    const [from, to] = span as [number, number];
    expect(mid.slice(0, from) + mid.slice(to)).toBe('{"a":1,"b":2}');
    const last = '{"a":1, "usage":null}';
    const [f2, t2] = nullUsageSpan(Buffer.from(last), at(last)) as [number, number];
    expect(last.slice(0, f2) + last.slice(t2)).toBe('{"a":1}');
    expect(nullUsageSpan(Buffer.from('{"usage":{"x":1}}'), at('{"usage":{"x":1}}'))).toBeNull();
    expect(nullUsageSpan(Buffer.from('{"max_usage":null}'), at('{"max_usage":null}'))).toBeNull();
    expect(nullUsageSpan(Buffer.from('{"usage":nul'), at('{"usage":nul'))).toBeNull();
    // Multi-byte text before the member: offsets are bytes, as the relay's latin1 search gives them.
    const accented = '{"content":"héllo €","usage":null}';
    const bytes = Buffer.from(accented);
    const [f3, t3] = nullUsageSpan(bytes, bytes.indexOf('usage"')) as [number, number];
    expect(Buffer.concat([bytes.subarray(0, f3), bytes.subarray(t3)]).toString()).toBe('{"content":"héllo €"}');
  });

  it("knows Anthropic's message_start usage for provisional, and message_delta's (and a chat usage chunk) for final", () => {
    const shape = streamShapeFor('/messages');
    const ev = (type: string, o: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...o })}\n\n`;
    const start = inspectEvents(Buffer.from(ev('message_start', { message: { usage: { input_tokens: 9, output_tokens: 1 } } })), shape, false, null);
    expect(start).toMatchObject({ tokens: { input: 9, output: 1 }, provisional: true, complete: false });
    const text = inspectEvents(Buffer.from(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'x' } })), shape, false, start.tokens, start.provisional);
    expect(text.provisional).toBe(true);
    const end = inspectEvents(Buffer.from(ev('message_delta', { delta: {}, usage: { output_tokens: 40 } })), shape, false, text.tokens, text.provisional);
    expect(end).toMatchObject({ tokens: { input: 9, output: 40 }, provisional: false, complete: false });
    // A message_delta whose usage names no output count is not final: message_start's 1 is no count of the answer
    // (nor is 0, when message_start had no usage); once final, a later such delta leaves it final.
    const noOutput = (tokens: typeof start.tokens, provisional: boolean) => inspectEvents(Buffer.from(ev('message_delta', { delta: {}, usage: { input_tokens: 9 } })), shape, false, tokens, provisional);
    expect(noOutput(text.tokens, true)).toMatchObject({ tokens: { input: 9, output: 1 }, provisional: true });
    expect(noOutput(null, false)).toMatchObject({ tokens: { input: 9, output: 0 }, provisional: true });
    expect(noOutput(end.tokens, false)).toMatchObject({ tokens: { input: 9, output: 40 }, provisional: false });
    const chat = inspectEvents(Buffer.from(delta('', { choices: [], usage })), streamShapeFor('/chat/completions'), false, null);
    expect(chat).toMatchObject({ tokens: { input: 7, output: 3 }, provisional: false });
  });

  it('reads the usage and the end of a chat stream, and leaves the bytes alone when the client asked for usage', () => {
    const events = Buffer.from(delta('Hi', { usage: null }) + chunk({ id: 'c', choices: [], usage }) + 'data: [DONE]\n\n');
    const seen = inspectEvents(events, streamShapeFor('/chat/completions'), false, null);
    expect(seen.complete).toBe(true);
    expect(seen.tokens).toMatchObject({ input: 7, output: 3 });
    expect(seen.out).toBe(events);
  });

  it('leaves out what a client that did not ask for usage must not see: the null members and the usage-only chunk', () => {
    const events = Buffer.from(delta('Hi', { usage: null }) + delta(' there', { usage: null }) + chunk({ id: 'c', choices: [], usage }) + 'data: [DONE]\n\n');
    const seen = inspectEvents(events, streamShapeFor('/chat/completions'), true, null);
    expect(seen.tokens).toMatchObject({ input: 7, output: 3 });
    const out = seen.out.toString();
    expect(out).not.toContain('usage');
    expect(out).toBe(`${delta('Hi')}${delta(' there')}data: [DONE]\n\n`);
    expect(answerText([seen.out])).toBe('Hi there');
  });

  it("ends a Responses stream on its end event, with that event's usage, and never on a [DONE] it does not send", () => {
    const completed = chunk({ type: 'response.completed', response: { usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7 } } });
    const shape = streamShapeFor('/responses');
    const open = inspectEvents(Buffer.from(chunk({ type: 'response.output_text.delta', delta: 'x' })), shape, false, null);
    expect(open.complete).toBe(false);
    const done = inspectEvents(Buffer.from(`event: response.completed\n${completed}`), shape, false, null);
    expect(done.complete).toBe(true);
    expect(done.tokens).toMatchObject({ input: 5, output: 2 });
  });

  it('ends image and transcription streams on their last event, which sends no [DONE] (a [DONE] is taken too)', () => {
    const imageUsage = { input_tokens: 50, output_tokens: 4160, total_tokens: 4210, input_tokens_details: { text_tokens: 40, image_tokens: 10 } };
    for (const [endpoint, type] of [
      ['/images/generations', 'image_generation'],
      ['/images/edits', 'image_edit'],
    ]) {
      const shape = streamShapeFor(endpoint);
      const partial = inspectEvents(Buffer.from(`event: ${type}.partial_image\n${chunk({ type: `${type}.partial_image`, b64_json: 'AAAA', partial_image_index: 0 })}`), shape, false, null);
      expect(partial.complete, endpoint).toBe(false);
      const completed = inspectEvents(Buffer.from(`event: ${type}.completed\n${chunk({ type: `${type}.completed`, b64_json: 'AAAA', usage: imageUsage })}`), shape, false, null);
      expect(completed, endpoint).toMatchObject({ complete: true, tokens: { input: 50, output: 4160 } });
      // A compatible server's completed event without usage ends it too; so does a [DONE].
      expect(inspectEvents(Buffer.from(chunk({ type: `${type}.completed`, b64_json: 'AAAA' })), shape, false, null).complete).toBe(true);
      expect(inspectEvents(Buffer.from('data: [DONE]\n\n'), shape, false, null).complete).toBe(true);
    }
    const shape = streamShapeFor('/audio/transcriptions');
    // A transcript that says the end event's name is no end.
    const spoken = inspectEvents(Buffer.from(chunk({ type: 'transcript.text.delta', delta: 'transcript.text.done' })), shape, false, null);
    expect(spoken.complete).toBe(false);
    const usage = { type: 'tokens', input_tokens: 14, input_token_details: { text_tokens: 0, audio_tokens: 14 }, output_tokens: 45, total_tokens: 59 };
    const done = inspectEvents(Buffer.from(chunk({ type: 'transcript.text.done', text: 'hi', usage })), shape, false, null);
    expect(done).toMatchObject({ complete: true, tokens: { input: 14, output: 45 } });
    // Another endpoint's end event does not end these (a chat stream, Responses').
    expect(inspectEvents(Buffer.from(chunk({ type: 'response.completed', response: {} })), shape, false, null).complete).toBe(false);
    expect(inspectEvents(Buffer.from(chunk({ type: 'transcript.text.done', text: 'hi', usage })), streamShapeFor('/chat/completions'), false, null).complete).toBe(false);
  });

  it("reads an Anthropic stream: input from message_start, output from message_delta, the end at message_stop", () => {
    const ev = (type: string, obj: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...obj })}\n\n`;
    const shape = streamShapeFor('/messages');
    const start = ev('message_start', {
      message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], model: 'claude-haiku-4-5', stop_reason: null, usage: { input_tokens: 25, cache_creation_input_tokens: 5, cache_read_input_tokens: 0, output_tokens: 1 } },
    });
    const text = ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) + ev('ping', {}) + ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'message_stop is only text here' } });
    const first = inspectEvents(Buffer.from(start + text), shape, false, null);
    expect(first.complete).toBe(false);
    expect(first.tokens).toEqual({ input: 30, cached: 0, cacheWrite: 5, output: 1 });
    expect(first.out.toString()).toBe(start + text);
    const end = ev('content_block_stop', { index: 0 }) + ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 15 } }) + ev('message_stop', {});
    const last = inspectEvents(Buffer.from(end), shape, false, first.tokens);
    expect(last.complete).toBe(true);
    expect(last.tokens).toEqual({ input: 30, cached: 0, cacheWrite: 5, output: 15 });
    // An error event instead of message_stop: not complete.
    const broken = inspectEvents(Buffer.from(ev('error', { error: { type: 'overloaded_error', message: 'Overloaded' } })), shape, false, first.tokens);
    expect(broken.complete).toBe(false);
    expect(answerText([Buffer.from(text)])).toBe('message_stop is only text here');
    expect([first.serviceTier, last.serviceTier]).toEqual([null, null]);
  });

  it("reads the tier an Anthropic stream names (message_start's usage, message_delta's) by OpenAI's names", () => {
    const ev = (type: string, obj: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...obj })}\n\n`;
    const shape = streamShapeFor('/messages');
    const start = (tier: string) => ev('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], usage: { input_tokens: 2, output_tokens: 1, service_tier: tier } } });
    const delta = (usage: Record<string, unknown>) => ev('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3, ...usage } });
    expect(inspectEvents(Buffer.from(start('standard')), shape, false, null).serviceTier).toBe('default');
    expect(inspectEvents(Buffer.from(start('priority')), shape, false, null).serviceTier).toBe('priority');
    expect(inspectEvents(Buffer.from(delta({ service_tier: 'standard' })), shape, false, null).serviceTier).toBe('default');
    expect(inspectEvents(Buffer.from(delta({})), shape, false, null).serviceTier).toBeNull();
  });

  it("reads the speed an Anthropic stream ran at: message_start's usage (standard when it names none), message_delta's when it names one", () => {
    const ev = (type: string, obj: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...obj })}\n\n`;
    const shape = streamShapeFor('/messages');
    const start = (usage: Record<string, unknown>) => ev('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], usage: { input_tokens: 2, output_tokens: 1, ...usage } } });
    const delta = (usage: Record<string, unknown>) => ev('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3, ...usage } });
    const speed = (events: string) => inspectEvents(Buffer.from(events), shape, false, null).speed;
    expect(speed(start({ speed: 'fast' }))).toBe('fast');
    expect(speed(start({ speed: 'standard' }))).toBe('standard');
    expect(speed(start({}))).toBe('standard');
    expect(speed(start({ speed: 'FAST' }))).toBe('standard');
    expect(speed(start({ speed: 'fast' }) + delta({}))).toBe('fast');
    expect(speed(start({}) + delta({ speed: 'fast' }))).toBe('fast');
    expect(speed(delta({}))).toBeNull();
    // A chat stream has no speed, whatever its chunks hold.
    expect(inspectEvents(Buffer.from(chunk({ choices: [], usage, speed: 'fast' })), streamShapeFor('/chat/completions'), false, null).speed).toBeNull();
  });
});

describe('answerFinished: the generation of a stream is over, its usage still to come', () => {
  const ev = (data: unknown, event?: string) => Buffer.from(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  const chat = streamShapeFor('/chat/completions');
  const chunk = (finish: string | null, content = 'hi') => ({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: finish }], usage: null });

  it('a chat choice with a finish_reason that is a string, however spaced; null is not one, nor the words in a text', () => {
    expect(answerFinished(ev(chunk(null)), chat)).toBe(false);
    expect(answerFinished(ev(chunk('stop')), chat)).toBe(true);
    expect(answerFinished(ev(chunk('length')), streamShapeFor('/completions'))).toBe(true);
    expect(answerFinished(Buffer.from('data: {"choices":[{"index":0,"delta":{},"finish_reason" :\t "stop"}]}\n\n'), chat)).toBe(true);
    // Inside a JSON string every quote is escaped: a text that spells the member out is not the member.
    expect(answerFinished(ev(chunk(null, '{"finish_reason": "stop"}')), chat)).toBe(false);
    expect(answerFinished(Buffer.concat([ev(chunk(null)), ev(chunk(null)), ev(chunk('tool_calls'))]), chat)).toBe(true);
    // An unknown endpoint reads it as a chat stream.
    expect(answerFinished(ev(chunk('stop')), streamShapeFor('/fim/completions'))).toBe(true);
  });

  it("the Responses API's text done, Anthropic's message_delta; never the end of one block or tool call of several", () => {
    const responses = streamShapeFor('/responses');
    expect(answerFinished(ev({ type: 'response.output_text.delta', delta: 'hi' }, 'response.output_text.delta'), responses)).toBe(false);
    expect(answerFinished(ev({ type: 'response.output_text.done', text: 'hi' }, 'response.output_text.done'), responses)).toBe(true);
    // One tool call of several, one block of several (a thinking block before the text): the answer goes on.
    expect(answerFinished(ev({ type: 'response.function_call_arguments.done', arguments: '{}' }, 'response.function_call_arguments.done'), responses)).toBe(false);
    const messages = streamShapeFor('/messages');
    expect(answerFinished(ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } }, 'content_block_delta'), messages)).toBe(false);
    expect(answerFinished(ev({ type: 'content_block_stop', index: 0 }, 'content_block_stop'), messages)).toBe(false);
    expect(answerFinished(ev({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 5 } }, 'message_delta'), messages)).toBe(true);
  });

  // Found by a review: the end events were looked for as plain words anywhere in the bytes, so a text (or a tool call's
  // JSON, or thinking) that spelled one out marked the answer over; a client that hung up then had the stream read to
  // its end, the provider generating (and billing) up to max_tokens. Only the event's own type counts.
  it("an end event's name in model text, thinking, or a tool call's JSON is not the event", () => {
    const typed = (e: Record<string, unknown>, spaced = false) => Buffer.from(`event: ${e.type}\ndata: ${JSON.stringify(e, null, spaced ? 1 : undefined).replace(/\n\s*/g, ' ')}\n\n`);
    const messages = streamShapeFor('/messages');
    const responses = streamShapeFor('/responses');
    const block = (delta: Record<string, unknown>) => typed({ type: 'content_block_delta', index: 0, delta });
    for (const name of ['message_delta', 'message_stop']) {
      for (const text of [`see ${name}`, name, `"${name}"`, `{"type":"${name}"}`, `{"type": "${name}"}`, `\\"${name}`]) {
        expect(answerFinished(block({ type: 'text_delta', text }), messages), text).toBe(false);
        expect(answerFinished(block({ type: 'thinking_delta', thinking: text }), messages), text).toBe(false);
        expect(answerFinished(block({ type: 'input_json_delta', partial_json: text }), messages), text).toBe(false);
      }
      expect(answerFinished(block({ type: 'input_json_delta', partial_json: `{"e":"${name}` }), messages)).toBe(false);
      expect(answerFinished(block({ type: 'input_json_delta', partial_json: `{"type":"${name}` }), messages)).toBe(false);
      // A text that spells an event line out: its line ends are escaped, it starts no line of its own.
      expect(answerFinished(Buffer.from(`event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `\nevent: ${name}\n` } })}\n\n`), messages)).toBe(false);
    }
    for (const name of ['response.output_text.done', 'response.completed', 'response.incomplete', 'response.failed']) {
      for (const delta of [name, `see ${name}`, `{"type":"${name}"}`]) {
        expect(answerFinished(typed({ type: 'response.output_text.delta', item_id: 'm', output_index: 0, content_index: 0, delta }), responses), delta).toBe(false);
        expect(answerFinished(typed({ type: 'response.function_call_arguments.delta', item_id: 'f', output_index: 0, delta }), responses), delta).toBe(false);
        expect(answerFinished(typed({ type: 'response.reasoning_summary_text.delta', item_id: 'r', output_index: 0, delta }), responses), delta).toBe(false);
      }
    }
    // Image and transcription streams: a revised prompt or a transcript's text that names the end event.
    const transcript = streamShapeFor('/audio/transcriptions');
    expect(answerFinished(typed({ type: 'transcript.text.delta', delta: 'transcript.text.done' }), transcript)).toBe(false);
    expect(answerFinished(typed({ type: 'transcript.text.done', text: 'hi', usage: { type: 'tokens', input_tokens: 1, output_tokens: 1, total_tokens: 2 } }), transcript)).toBe(true);
    const images = streamShapeFor('/images/generations');
    expect(answerFinished(typed({ type: 'image_generation.partial_image', b64_json: 'AA==', revised_prompt: 'image_generation.completed' }), images)).toBe(false);
    expect(answerFinished(typed({ type: 'image_generation.completed', b64_json: 'AA==' }), images)).toBe(true);
    // The events themselves still count, however their JSON is spaced, and after events that only name them.
    expect(answerFinished(typed({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 5 } }, true), messages)).toBe(true);
    expect(answerFinished(typed({ type: 'message_stop' }), messages)).toBe(true);
    expect(answerFinished(Buffer.from('data: {"type"  :\t"message_stop"}\r\n\r\n'), messages)).toBe(true);
    expect(answerFinished(Buffer.concat([block({ type: 'text_delta', text: 'message_delta' }), typed({ type: 'message_stop' })]), messages)).toBe(true);
    expect(answerFinished(Buffer.concat([typed({ type: 'response.output_text.delta', delta: 'response.output_text.done' }), typed({ type: 'response.output_text.done', text: 'x' })]), responses)).toBe(true);
    expect(answerFinished(typed({ type: 'response.completed', response: { id: 'r', output: [], usage: null } }, true), responses)).toBe(true);
  });
});

describe("every marker the scanner looks for, spelled out in the answer's text, decides nothing", () => {
  const typed = (e: Record<string, unknown>) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
  /** Texts that spell out every marker of every shape: end events, usage, [DONE], a provider's error. */
  const texts = [
    'message_start',
    'message_delta',
    'message_stop',
    '{"type":"message_delta","usage":{"output_tokens":99999}}',
    '{"type":"message_start","message":{"usage":{"input_tokens":99999,"output_tokens":1}}}',
    'response.completed',
    '{"type":"response.completed","response":{"usage":{"input_tokens":99999,"output_tokens":99999,"total_tokens":199998}}}',
    'response.incomplete',
    'image_generation.completed',
    'transcript.text.done',
    'usage',
    '"usage": {"prompt_tokens": 99999, "completion_tokens": 99999, "total_tokens": 199998}',
    '"usage":null',
    '[DONE]',
    'data: [DONE]\n\n',
    'error',
    '{"type":"error","error":{"type":"overloaded_error"}}',
    '{"error":{"message":"x"}}',
  ];
  const unmoved = (r: ReturnType<typeof inspectEvents>, events: string, what: string) => {
    expect({ complete: r.complete, tokens: r.tokens, errored: r.errored, serviceTier: r.serviceTier }, what).toEqual({ complete: false, tokens: null, errored: false, serviceTier: null });
    expect(r.out.toString(), what).toBe(events);
  };

  it('in an Anthropic stream: a text, thinking or tool JSON delta', () => {
    for (const text of texts) {
      for (const delta of [{ type: 'text_delta', text }, { type: 'thinking_delta', thinking: text }, { type: 'input_json_delta', partial_json: text }]) {
        const events = typed({ type: 'content_block_delta', index: 0, delta });
        unmoved(inspectEvents(Buffer.from(events), streamShapeFor('/messages'), false, null), events, text);
      }
    }
  });

  it('in a Responses, image or transcription stream', () => {
    for (const text of texts) {
      for (const [endpoint, e] of [
        ['/responses', { type: 'response.output_text.delta', item_id: 'm', output_index: 0, content_index: 0, delta: text }],
        ['/responses', { type: 'response.function_call_arguments.delta', item_id: 'f', output_index: 0, delta: text }],
        ['/images/generations', { type: 'image_generation.partial_image', b64_json: 'AA==', partial_image_index: 0, revised_prompt: text }],
        ['/audio/transcriptions', { type: 'transcript.text.delta', delta: text }],
      ] as const) {
        const events = typed(e);
        unmoved(inspectEvents(Buffer.from(events), streamShapeFor(endpoint), false, null), events, `${endpoint} ${text}`);
      }
    }
  });

  it('in a chat stream, usage asked for the client or not: only the null usage member is left out', () => {
    const shape = streamShapeFor('/chat/completions');
    for (const text of texts) {
      for (const injectUsage of [false, true]) {
        const events = delta(text, { usage: null });
        const r = inspectEvents(Buffer.from(events), shape, injectUsage, null);
        expect({ complete: r.complete, tokens: r.tokens, errored: r.errored }, text).toEqual({ complete: false, tokens: null, errored: false });
        expect(r.out.toString(), text).toBe(injectUsage ? delta(text) : events);
        // With the usage chunk and [DONE] after it (the read's fast path): that usage, and the text untouched.
        const tail = `${events}${chunk({ id: 'c', object: 'chat.completion.chunk', choices: [], usage })}data: [DONE]\n\n`;
        const end = inspectEvents(Buffer.from(tail), shape, injectUsage, null);
        expect({ complete: end.complete, tokens: end.tokens }, text).toMatchObject({ complete: true, tokens: { input: 7, output: 3 } });
        expect(end.out.toString(), text).toContain(JSON.stringify(text));
      }
    }
  });
});

describe('serviceTierNamedIn: the tier a stream says it runs at before its usage', () => {
  const ev = (data: unknown, event?: string) => Buffer.from(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
  it("reads a chat chunk's tier and a Response's (response.created)", () => {
    expect(serviceTierNamedIn(ev({ object: 'chat.completion.chunk', service_tier: 'priority', choices: [] }))).toBe('priority');
    expect(serviceTierNamedIn(ev({ type: 'response.created', response: { service_tier: 'flex' } }, 'response.created'))).toBe('flex');
  });
  it('reads nothing from auto (what was asked), text ending in the key, a value that is no tier, or no key', () => {
    expect(serviceTierNamedIn(ev({ service_tier: 'auto', choices: [] }))).toBeNull();
    expect(serviceTierNamedIn(ev({ choices: [{ delta: { content: 'my service_tier' } }] }))).toBeNull();
    expect(serviceTierNamedIn(ev({ service_tier: 'Priority Plus!' }))).toBeNull();
    expect(serviceTierNamedIn(ev({ choices: [] }))).toBeNull();
    expect(serviceTierNamedIn(Buffer.from('data: {"service_tier": "priority", oops\n\n'))).toBeNull();
  });
  it('reads the tier a chunk names after a text that ends in the key (a server that writes its members in another order)', () => {
    for (const content of ['my service_tier', 'service_tier', 'say "service_tier']) {
      expect(serviceTierNamedIn(ev({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }], service_tier: 'priority' })), content).toBe('priority');
    }
    const text = ev({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'my service_tier' } }] });
    expect(serviceTierNamedIn(Buffer.concat([text, ev({ object: 'chat.completion.chunk', service_tier: 'flex', choices: [] })]))).toBe('flex');
  });
  it('is asked only of the shapes whose events name it early', () => {
    expect(['/chat/completions', '/completions', '/responses', '/messages'].map((e) => streamShapeFor(e).namesTierEarly)).toEqual([true, true, true, false]);
  });
});

describe("a provider's error event, and text that only ends like one", () => {
  const chat = streamShapeFor('/chat/completions');
  const err = 'data: {"error":{"message":"Overloaded for org-AbCdEfGh1234","type":"server_error","code":500}}\n\n';
  const rewrite = () => 'data: {"error":{"message":"rewritten"}}\n\n';

  it('is found when [DONE] follows it in the same read (vLLM writes both at once), and the stream is not complete for it', () => {
    const apart = inspectEvents(Buffer.from(err), chat, false, null, false, rewrite);
    expect(apart.errored).toBe(true);
    const together = inspectEvents(Buffer.from(`${err}data: [DONE]\n\n`), chat, false, null, false, rewrite);
    expect(together.errored).toBe(true);
    expect(together.out.toString()).not.toContain('AbCdEfGh1234');
  });

  it('a chunk whose text ends in "error" loses its "usage":null as every other chunk does when usage was asked for the client', () => {
    const chunk = (content: string) =>
      `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":null}],"usage":null}\n\n`;
    for (const text of [' fine', ' error', ' mirror']) {
      const r = inspectEvents(Buffer.from(chunk(text) + chunk(text)), chat, true, null);
      expect(r.errored, text).toBe(false);
      expect(r.out.toString(), text).not.toContain('"usage"');
      expect(r.out.toString(), text).toContain(JSON.stringify(text));
    }
  });

  it("takes a cleanly ended stream's unterminated rest as its last event, unless it is blank or JSON cut short", () => {
    const last = (s: string) => lastEventOf(Buffer.from(s))?.toString() ?? null;
    expect(last('data: [DONE]')).toBe('data: [DONE]\n\n');
    expect(last('event: response.completed\ndata: {"a":1}\n')).toBe('event: response.completed\ndata: {"a":1}\n\n');
    expect(last('data: {"a":1}\r\n')).toBe('data: {"a":1}\r\n\n');
    expect(last(': keep-alive')).toBe(': keep-alive\n\n');
    expect(last('data: plain text')).toBe('data: plain text\n\n');
    expect(last('data: {"id":"c","cho')).toBeNull();
    expect(last(' \n')).toBeNull();
    expect(lastEventOf(null)).toBeNull();
    // Read as a complete event: the [DONE] it holds ends the stream.
    expect(inspectEvents(lastEventOf(Buffer.from('data: [DONE]')) as Buffer, streamShapeFor('/chat/completions'), false, null).complete).toBe(true);
  });
});
