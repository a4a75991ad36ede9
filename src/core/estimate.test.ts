import fc from 'fast-check';
import { Tiktoken } from 'js-tiktoken/lite';
import { describe, expect, it } from 'vitest';
import { boundTokens, estimateTokens, IMAGE_PART_TOKENS } from './estimate.js';
import { maxOutputTokens, UNKNOWN_MAX_OUTPUT_TOKENS } from './model-limits.js';
import { loadTokenizer } from './tokenizer.js';

describe('the reservation of a hard spend cap', () => {
  it('bounds the real input tokens from above, whatever the text (o200k and cl100k)', async () => {
    // o200k is the gateway's own encoder (built once per worker, shared with the suites that start a server).
    const encoders = [await loadTokenizer(), new Tiktoken((await import('js-tiktoken/ranks/cl100k_base')).default)];
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 4 }), fc.string({ unit: 'grapheme' }), (parts, system) => {
        const messages = [{ role: 'system', content: system }, ...parts.map((content) => ({ role: 'user', content }))];
        const bound = boundTokens({ model: 'm', messages }, '/chat/completions', 100).input;
        for (const enc of encoders) {
          const real = messages.reduce((n, m) => n + enc.encode(m.content).length + 4, 3);
          if (real > bound) return false;
        }
        return true;
      }),
      { numRuns: 100 },
    );
    // Where the usual estimate (characters / 4) falls far short: CJK, emoji.
    const cjk = '漢字仮名交じり文'.repeat(50);
    const usual = estimateTokens({ messages: [{ role: 'user', content: cjk }] }, '/chat/completions', 0).input;
    expect(encoders[0].encode(cjk).length).toBeGreaterThan(usual);
    expect(boundTokens({ messages: [{ role: 'user', content: cjk }] }, '/chat/completions', 0).input).toBeGreaterThan(encoders[0].encode(cjk).length);
  });

  it('counts instructions, tools and their schemas, an image as one allowance, and inline files by their bytes', () => {
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string', description: 'x'.repeat(500) } } } } }];
    expect(boundTokens({ input: 'hi', instructions: 'y'.repeat(1000), tools }, '/responses', 0).input).toBeGreaterThan(1500);
    const image = { type: 'image_url', image_url: { url: `data:image/png;base64,${'A'.repeat(2_000_000)}` } };
    expect(boundTokens({ messages: [{ role: 'user', content: [image] }] }, '/chat/completions', 0).input).toBeLessThan(IMAGE_PART_TOKENS + 100);
    expect(boundTokens({ messages: [{ role: 'user', content: [image, image] }] }, '/chat/completions', 0).input).toBeGreaterThanOrEqual(2 * IMAGE_PART_TOKENS);
    const file = { type: 'file', file: { filename: 'a.pdf', file_data: `data:application/pdf;base64,${'B'.repeat(30_000)}` } };
    expect(boundTokens({ messages: [{ role: 'user', content: [file] }] }, '/chat/completions', 0).input).toBeGreaterThan(30_000);
  });

  it("reserves the declared max_tokens, else the model's largest answer, times n; embeddings no output", () => {
    expect(boundTokens({ messages: [], max_tokens: 50 }, '/chat/completions', 16_384).output).toBe(50);
    expect(boundTokens({ messages: [], max_completion_tokens: 70, n: 3 }, '/chat/completions', 16_384).output).toBe(210);
    expect(boundTokens({ input: 'x', max_output_tokens: 9 }, '/responses', 16_384).output).toBe(9);
    expect(boundTokens({ messages: [] }, '/chat/completions', 16_384).output).toBe(16_384);
    expect(boundTokens({ input: 'x' }, '/embeddings', 16_384).output).toBe(0);
  });

  it('reserves for every answer generated and for the largest output limit declared, however the request spells them', () => {
    // Legacy completions generate best_of candidates and bill them all, returning n.
    expect(boundTokens({ prompt: 'x', max_tokens: 100, best_of: 5, n: 2 }, '/completions', 4_096).output).toBe(500);
    expect(estimateTokens({ prompt: 'x', max_tokens: 100, best_of: 5 }, '/completions', 4_096).output).toBe(500);
    // OpenAI-compatible servers coerce a numeric string.
    expect(boundTokens({ messages: [], max_tokens: 10, n: '4' }, '/chat/completions', 16_384).output).toBe(40);
    expect(boundTokens({ messages: [], max_tokens: 10, n: 'four' }, '/chat/completions', 16_384).output).toBe(10);
    // Two limits that disagree: the larger is what an upstream may run to.
    expect(boundTokens({ messages: [], max_completion_tokens: 1, max_tokens: 9_000 }, '/chat/completions', 16_384).output).toBe(9_000);
    expect(estimateTokens({ messages: [], max_completion_tokens: 1, max_tokens: 9_000 }, '/chat/completions', 4_096).output).toBe(9_000);
  });

  it("knows models' largest answers, their snapshots', a configured one, and assumes the most for the rest", () => {
    expect(maxOutputTokens('gpt-4o')).toBe(16_384);
    expect(maxOutputTokens('gpt-4o-2024-08-06')).toBe(16_384);
    expect(maxOutputTokens('gpt-4o-2024-05-13')).toBe(4_096);
    expect(maxOutputTokens('o1-pro')).toBe(100_000);
    expect(maxOutputTokens('gpt-4-0613')).toBe(8_192);
    expect(maxOutputTokens('gpt-5')).toBe(UNKNOWN_MAX_OUTPUT_TOKENS);
    expect(maxOutputTokens('my-local-llama')).toBe(UNKNOWN_MAX_OUTPUT_TOKENS);
    expect(maxOutputTokens('my-local-llama', () => 2048)).toBe(2048);
    expect(maxOutputTokens(null)).toBe(UNKNOWN_MAX_OUTPUT_TOKENS);
  });

  it("reads Anthropic's bodies: the system prompt beside the messages, max_tokens, and an image block as one image", () => {
    const system = 'x'.repeat(4000);
    const withSystem = estimateTokens({ system, messages: [{ role: 'user', content: 'hi' }], max_tokens: 300 }, '/messages', 1024);
    // The role and the text of the message, and the system prompt, at four characters a token.
    expect(withSystem).toEqual({ input: Math.ceil((4 + 2 + 4000) / 4) + 6, output: 300 });
    const blocks = estimateTokens({ system: [{ type: 'text', text: system }], messages: [{ role: 'user', content: 'hi' }], max_tokens: 300 }, '/messages', 1024);
    expect(blocks.input).toBeGreaterThanOrEqual(withSystem.input);
    const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(2_000_000) } };
    const bound = boundTokens({ model: 'claude-opus-4-6', max_tokens: 10, messages: [{ role: 'user', content: [image, { type: 'text', text: 'what is it?' }] }] }, '/messages', 128_000);
    expect(bound.input).toBeGreaterThanOrEqual(IMAGE_PART_TOKENS);
    expect(bound.input).toBeLessThan(IMAGE_PART_TOKENS + 200);
    expect(bound.output).toBe(10);
    expect(maxOutputTokens('claude-sonnet-4-5-20250929')).toBe(64_000);
    expect(maxOutputTokens('claude-opus-4-1')).toBe(32_000);
  });

  it("notices a request for prompt caching anywhere in the body (its input may be billed as Anthropic's cache writes)", () => {
    const messages = [{ role: 'user', content: 'hi' }];
    expect(boundTokens({ messages, max_tokens: 1 }, '/messages', 1).cacheWrites).toBe(false);
    expect(boundTokens({ messages, max_tokens: 1, cache_control: { type: 'ephemeral' } }, '/messages', 1).cacheWrites).toBe(true);
    expect(boundTokens({ messages, max_tokens: 1, system: [{ type: 'text', text: 's', cache_control: { type: 'ephemeral', ttl: '1h' } }] }, '/messages', 1).cacheWrites).toBe(true);
    expect(boundTokens({ messages, max_tokens: 1, tools: [{ name: 'f', input_schema: { type: 'object' }, cache_control: { type: 'ephemeral' } }] }, '/messages', 1).cacheWrites).toBe(true);
    const image = { type: 'image', source: { type: 'url', url: 'https://x/y.png' }, cache_control: { type: 'ephemeral' } };
    expect(boundTokens({ messages: [{ role: 'user', content: [image] }], max_tokens: 1 }, '/messages', 1).cacheWrites).toBe(true);
    let deep: unknown = { type: 'text', text: 't', cache_control: { type: 'ephemeral' } };
    for (let i = 0; i < 80; i++) deep = [deep];
    expect(boundTokens({ messages: [{ role: 'user', content: deep }], max_tokens: 1 }, '/messages', 1).cacheWrites).toBe(true);
    expect(boundTokens({ messages, max_tokens: 1, cache_control: null }, '/messages', 1).cacheWrites).toBe(false);
  });
});
