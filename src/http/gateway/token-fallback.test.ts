import { describe, expect, it } from 'vitest';
import { IMAGE_PART_TOKENS } from '../../core/estimate.js';
import { countTokens } from '../../core/tokenizer.js';
import { asksForAudioOutput, audioOutputTokens, countFallbackTokens, mayReasonUnseen, readsByReference, streamedTokens, utf8Bound, wouldReadOn } from './token-fallback.js';

const long = 'lorem ipsum dolor sit amet '.repeat(400); // ~2,000 tokens

describe('countFallbackTokens (a stream cut before its usage, an answer without usage)', () => {
  const messages = [{ role: 'user', content: 'hi' }];

  it('counts what a provider reads beside the messages: tools, instructions, a system prompt, a response format', async () => {
    const words = await countTokens(long);
    const bare = (await countFallbackTokens({ model: 'gpt-4o', messages }, '')).input;
    expect(bare).toBeLessThan(20);
    for (const extra of [
      { tools: [{ type: 'function', function: { name: 'f', description: long, parameters: { type: 'object', properties: {} } } }] },
      { system: long },
      { system: [{ type: 'text', text: long }] },
      { response_format: { type: 'json_schema', json_schema: { name: 's', schema: { description: long } } } },
    ]) {
      const input = (await countFallbackTokens({ model: 'gpt-4o', messages, ...extra }, '')).input;
      expect(input, Object.keys(extra)[0]).toBeGreaterThanOrEqual(words);
    }
    const responses = (await countFallbackTokens({ model: 'gpt-4o', instructions: long, input: 'hi' }, '')).input;
    expect(responses).toBeGreaterThanOrEqual(words);
    const items = (await countFallbackTokens({ model: 'gpt-4o', input: [{ type: 'function_call_output', call_id: 'c', output: long }] }, '')).input;
    expect(items).toBeGreaterThanOrEqual(words);
  });

  it('bills a body too deep to walk at an upper bound instead of throwing (the provider has run it)', async () => {
    let deep: unknown = long;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], tools: [{ x: deep }] };
    const counted = await countFallbackTokens(body, 'ok');
    expect(counted.input).toBe(utf8Bound(body));
    expect(counted.input).toBeGreaterThanOrEqual(await countTokens(long));
    expect(counted.output).toBeGreaterThan(0);
  });

  it('utf8Bound is at least the JSON size in UTF-8 of what it walks', () => {
    for (const v of [{ a: 'héllo €', b: [1, 2.5, null, true, { c: '\u{1F600}' }] }, ['x'.repeat(1000)], 'plain', -1.2345678901234568e-300]) {
      expect(utf8Bound(v)).toBeGreaterThanOrEqual(Buffer.byteLength(JSON.stringify(v)));
    }
  });

  it('counts a message tool call handed back, not only string members', async () => {
    const words = await countTokens(long);
    const input = (await countFallbackTokens({ model: 'gpt-4o', messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: long } }] }] }, '')).input;
    expect(input).toBeGreaterThanOrEqual(words);
  });

  it('counts an inline image at IMAGE_PART_TOKENS, never by its bytes, and leaves out what is no prompt', async () => {
    const data = `data:image/png;base64,${'A'.repeat(400_000)}`;
    const openai = await countFallbackTokens({ model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: data } }] }] }, '');
    expect(openai.input).toBeGreaterThanOrEqual(IMAGE_PART_TOKENS);
    expect(openai.input).toBeLessThan(IMAGE_PART_TOKENS + 50);
    const anthropic = await countFallbackTokens({ model: 'claude', messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(400_000) } }] }] }, '');
    expect(anthropic.input).toBeGreaterThanOrEqual(IMAGE_PART_TOKENS);
    expect(anthropic.input).toBeLessThan(IMAGE_PART_TOKENS + 50);
    // Given by file id or URL, an image is as much one: 50 of them by file id are 50 images, not their ids' text.
    const byFile = await countFallbackTokens({ model: 'gpt-4o', input: [{ role: 'user', content: Array.from({ length: 50 }, (_, i) => ({ type: 'input_image', file_id: `file-${i}` })) }] }, '');
    expect(byFile.input).toBeGreaterThanOrEqual(50 * IMAGE_PART_TOKENS);
    const byUrl = await countFallbackTokens({ model: 'claude', messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } }] }] }, '');
    expect(byUrl.input).toBeGreaterThanOrEqual(IMAGE_PART_TOKENS);
    const params = await countFallbackTokens({ model: long, metadata: { note: long }, user: long, messages }, '');
    expect(params.input).toBeLessThan(20);
  });
});

describe('readsByReference', () => {
  it('names bodies whose input the gateway cannot count', () => {
    expect(readsByReference({ model: 'gpt-4o', input: 'x', previous_response_id: 'resp_1' })).toBe(true);
    expect(readsByReference({ model: 'gpt-4o', input: 'x', conversation: 'conv_1' })).toBe(true);
    expect(readsByReference({ model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-1' } }] }] })).toBe(true);
    expect(readsByReference({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })).toBe(false);
    expect(readsByReference(null)).toBe(false);
  });

  it('takes a body naming a member it decides on in two spellings for one, never throwing as its client hangs up', () => {
    // Refused before forwarding only where a hard cap reads the body; any other key's stream gets here.
    const twice = { model: 'gpt-4o', input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://x/a.png', detail: 'low', Detail: 'original' }] }] };
    expect(readsByReference(twice)).toBe(true);
    expect(readsByReference({ model: 'gpt-4o', input: [{ Type: 'item_reference', ID: 'msg_1' }] })).toBe(true);
  });
});

describe('mayReasonUnseen (a stream read to its end when its client hangs up mid-answer)', () => {
  it("takes every model not known to show all it generates: OpenAI's reasoning models, other providers' and unknown names", () => {
    const reasoning = ['o1', 'o3', 'o3-mini', 'o4-mini-2025-04-16', 'gpt-5', 'gpt-5.1-codex', 'GPT-5-mini', 'gpt-oss-120b', 'openai/o3', 'codex-mini-latest', 'computer-use-preview'];
    const others = ['gemini-2.5-pro', 'gemini-3-pro-preview', 'google/gemini-2.5-flash', 'grok-4', 'grok-3-mini', 'x-ai/grok-4-fast', 'qwen3-235b-a22b', 'deepseek-reasoner', 'deepseek-r1', 'kimi-k2-thinking', 'magistral-medium-latest'];
    // Names that say they reason, after a name otherwise known to show all.
    const saysSo = ['anthropic/claude-3.7-sonnet:thinking', 'gemini-2.0-flash-thinking-exp', 'gpt-4o-reasoning'];
    for (const model of [...reasoning, ...others, ...saysSo, 'acme-large', 'llama-3.3-70b', null]) expect(mayReasonUnseen(model, null), String(model)).toBe(true);
    // The client cannot opt an unknown model out: its word that it wants no reasoning is not the model's.
    expect(mayReasonUnseen('gemini-2.5-pro', { reasoning_effort: 'none' })).toBe(true);
    expect(mayReasonUnseen('acme-large', { thinking: { type: 'disabled' } })).toBe(true);
  });
  it('takes a model known to show all it generates only when the request asks for reasoning or thinking', () => {
    const showsAll = ['gpt-4o', 'gpt-4o-mini-2024-07-18', 'gpt-4.1-mini', 'GPT-4-turbo', 'gpt-3.5-turbo', 'chatgpt-4o-latest', 'ft:gpt-4o-mini:acme::abc', 'openai/gpt-4o', 'claude-sonnet-4-5', 'anthropic/claude-3.5-sonnet', 'gemini-2.0-flash', 'gemini-1.5-pro'];
    for (const model of showsAll) expect(mayReasonUnseen(model, {}), model).toBe(false);
    const asks = [{ reasoning: { effort: 'low' } }, { reasoning_effort: 'minimal' }, { thinking: { type: 'enabled', budget_tokens: 1024 } }, { thinking: { type: 'adaptive' } }, { thinking: 'on' }, { include_reasoning: true }, { enable_thinking: true }];
    for (const body of asks) expect(mayReasonUnseen('gpt-4o', body), JSON.stringify(body)).toBe(true);
    for (const body of [{ reasoning: null }, { reasoning_effort: 'none' }, { thinking: { type: 'disabled' } }, { thinking: null }, { include_reasoning: false }]) expect(mayReasonUnseen('claude-sonnet-4-5', body), JSON.stringify(body)).toBe(false);
  });
  it("takes the operator's word (a provider's shows_all_output) for the models it names, over the built-in default", () => {
    const list = ['llama-*', 'mistral-small', 'deepseek-r1-distill-*'];
    // Named exactly or by prefix, case as written (as routes match): cut unless the request asks for reasoning.
    for (const model of ['llama-3.3-70b', 'llama-', 'mistral-small', 'deepseek-r1-distill-llama-70b']) {
      expect(mayReasonUnseen(model, {}, list), model).toBe(false);
      expect(mayReasonUnseen(model, { reasoning_effort: 'high' }, list), model).toBe(true);
      expect(mayReasonUnseen(model, { reasoning_effort: 'none' }, list), model).toBe(false);
    }
    for (const model of ['Llama-3.3-70b', 'mistral-small-2503', 'meta/llama-3', 'qwen3-32b', null]) expect(mayReasonUnseen(model, {}, list), String(model)).toBe(true);
    // true: every model of the provider, even a name that speaks of reasoning (the operator's server, its word).
    for (const model of ['acme-large', 'kimi-k2-thinking', 'gpt-oss-120b']) expect(mayReasonUnseen(model, {}, true), model).toBe(false);
    expect(mayReasonUnseen('acme-large', { enable_thinking: true }, true)).toBe(true);
    // The built-in list still holds beside the operator's.
    expect(mayReasonUnseen('gpt-4o', {}, list)).toBe(false);
    expect(mayReasonUnseen('gpt-4o', {}, undefined)).toBe(false);
  });
});


describe('spoken output (a chat answer asked for in audio)', () => {
  const spoken = { model: 'gpt-4o-audio-preview', modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'pcm16' }, messages: [{ role: 'user', content: 'hi' }] };
  const second = Buffer.alloc(48_000).toString('base64');

  it('is asked for by `modalities` naming audio, or by an `audio` member, and read on after a hang-up', () => {
    expect(asksForAudioOutput(spoken)).toBe(true);
    expect(asksForAudioOutput({ ...spoken, modalities: undefined })).toBe(true);
    expect(asksForAudioOutput({ model: 'gpt-4o-audio-preview', modalities: ['audio'] })).toBe(true);
    expect(asksForAudioOutput({ model: 'gpt-4o-audio-preview', modalities: ['text'], messages: [] })).toBe(false);
    expect(asksForAudioOutput({ model: 'gpt-4o', audio: null })).toBe(false);
    // gpt-4o-audio-preview shows all it writes, but not the audio it bills: read on when asked to speak.
    expect(wouldReadOn({ model: 'gpt-4o-audio-preview', messages: [] }, 'gpt-4o-audio-preview', null, undefined)).toBe(false);
    expect(wouldReadOn(spoken, 'gpt-4o-audio-preview', null, undefined)).toBe(true);
    expect(wouldReadOn(spoken, 'gpt-audio', null, true)).toBe(true);
  });

  it('bills audio delivered without a usage as audio output, 20 tokens a second, beside its transcript', async () => {
    expect(audioOutputTokens(48_000, spoken)).toBe(20);
    // A compressed format's second is taken at 2,000 bytes at most: its tokens are bounded from above.
    expect(audioOutputTokens(2_000, { audio: { format: 'opus' } })).toBe(20);
    const streamed = await streamedTokens(spoken, { final: false, tokens: null, text: 'one two three ', audioBytes: 5 * 48_000 });
    expect(streamed.audioOutput).toBe(100);
    expect(streamed.output).toBeGreaterThan(100);
    const whole = await countFallbackTokens(spoken, { choices: [0, 1].map((index) => ({ index, message: { role: 'assistant', audio: { id: 'a', data: second, transcript: 'hello' } } })) });
    expect(whole.audioOutput).toBe(40);
    expect(whole.output).toBeGreaterThan(40);
  });
});
