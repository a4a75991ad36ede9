import fc from 'fast-check';
import { Tiktoken } from 'js-tiktoken/lite';
import { describe, expect, it } from 'vitest';
import { boundTokens, estimateTokens, IMAGE_PART_TOKENS, imagePartTokens, TOOL_PROMPT_TOKENS, USUAL_IMAGE_TOKENS } from './estimate.js';
import { maxInputTokens, maxOutputTokens, UNKNOWN_MAX_INPUT_TOKENS, UNKNOWN_MAX_OUTPUT_TOKENS } from './model-limits.js';
import { loadTokenizer } from './tokenizer.js';

/** A model's largest input, for the bound of a request that names input by reference. */
const MAX_INPUT = 200_000;

describe('the reservation of a hard spend cap', () => {
  it('bounds the real input tokens from above, whatever the text (o200k and cl100k)', async () => {
    // o200k is the gateway's own encoder (built once per worker, shared with the suites that start a server).
    const encoders = [await loadTokenizer(), new Tiktoken((await import('js-tiktoken/ranks/cl100k_base')).default)];
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 4 }), fc.string({ unit: 'grapheme' }), (parts, system) => {
        const messages = [{ role: 'system', content: system }, ...parts.map((content) => ({ role: 'user', content }))];
        const bound = boundTokens({ model: 'm', messages }, '/chat/completions', 100, MAX_INPUT).input;
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
    expect(boundTokens({ messages: [{ role: 'user', content: cjk }] }, '/chat/completions', 0, MAX_INPUT).input).toBeGreaterThan(encoders[0].encode(cjk).length);
  });

  it('counts instructions, tools and their schemas, an image as one allowance, and inline files by their bytes', () => {
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string', description: 'x'.repeat(500) } } } } }];
    expect(boundTokens({ input: 'hi', instructions: 'y'.repeat(1000), tools }, '/responses', 0, MAX_INPUT).input).toBeGreaterThan(1500);
    const image = { type: 'image_url', image_url: { url: `data:image/png;base64,${'A'.repeat(2_000_000)}` } };
    expect(boundTokens({ messages: [{ role: 'user', content: [image] }] }, '/chat/completions', 0, MAX_INPUT).input).toBeLessThan(IMAGE_PART_TOKENS + 100);
    expect(boundTokens({ messages: [{ role: 'user', content: [image, image] }] }, '/chat/completions', 0, MAX_INPUT).input).toBeGreaterThanOrEqual(2 * IMAGE_PART_TOKENS);
    const file = { type: 'file', file: { filename: 'a.pdf', file_data: `data:application/pdf;base64,${'B'.repeat(30_000)}` } };
    expect(boundTokens({ messages: [{ role: 'user', content: [file] }] }, '/chat/completions', 0, MAX_INPUT).input).toBeGreaterThan(30_000);
  });

  it('estimates (for TPM) every prompt member, not only the messages: instructions, system, tools, formats', () => {
    const long = 'word '.repeat(4000);
    const bare = estimateTokens({ input: 'hi', max_output_tokens: 16 }, '/responses', 0).input;
    const tool = { type: 'function', function: { name: 'f', description: long, parameters: { type: 'object' } } };
    for (const body of [
      { input: 'hi', instructions: long },
      { input: 'hi', tools: [tool] },
      { messages: [{ role: 'user', content: 'hi' }], tools: [tool] },
      { messages: [{ role: 'user', content: 'hi' }], functions: [{ name: 'f', description: long }] },
      { messages: [{ role: 'user', content: 'hi' }], system: long },
      { messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_schema', json_schema: { name: 's', schema: { description: long } } } },
      { input: 'hi', prompt: { id: 'pmpt_1', variables: { doc: long } } },
    ]) {
      expect(estimateTokens({ model: 'm', max_tokens: 16, ...body }, '/responses', 0).input, JSON.stringify(Object.keys(body))).toBeGreaterThanOrEqual(long.length / 4);
    }
    // What is no prompt stays out: the model's name, labels, sampling settings.
    expect(estimateTokens({ input: 'hi', model: 'x'.repeat(400), user: 'u'.repeat(400), metadata: { k: 'v'.repeat(400) }, temperature: 0.5, max_output_tokens: 16 }, '/responses', 0).input).toBe(bare);
  });

  it('estimates member names, text under a member named image_url that is no image, and text at any depth', () => {
    const long = 'x'.repeat(20_000);
    const tool = (parameters: unknown) => ({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 16, tools: [{ type: 'function', function: { name: 'f', parameters } }] });
    let deep: unknown = { description: long };
    for (let i = 0; i < 40; i++) deep = { properties: { a: deep } };
    for (const parameters of [{ type: 'object', properties: { [long]: { type: 'string' } } }, { type: 'object', properties: { image_url: { type: 'string', description: long } } }, deep]) {
      expect(estimateTokens(tool(parameters), '/chat/completions', 0).input).toBeGreaterThanOrEqual(long.length / 4);
    }
    // An image part's URL is still left out: it counts as one image.
    const image = { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${long}`, detail: 'low' } }] }] };
    expect(estimateTokens(image, '/chat/completions', 0).input).toBeGreaterThanOrEqual(USUAL_IMAGE_TOKENS);
    expect(estimateTokens(image, '/chat/completions', 0).input).toBeLessThan(USUAL_IMAGE_TOKENS + 100);
    expect(estimateTokens(image, '/chat/completions', 0).inputAtMost).toBeGreaterThanOrEqual(IMAGE_PART_TOKENS);
    expect(estimateTokens(image, '/chat/completions', 0).inputAtMost).toBeLessThan(IMAGE_PART_TOKENS + 100);
  });

  it('estimates (for TPM) each image at a usual image, and at most at the allowance the hard cap reserves, however it is given', () => {
    // Found by an outside review: images counted as nothing, 200 high-detail images were admitted under a 1,000 TPM
    // limit reserving 670 tokens, and billed 157,000. (The caller reserves up to `inputAtMost`, at most its limit.)
    const url = 'https://example.com/a.png';
    const parts: Record<string, [Record<string, unknown>, string]> = {
      'chat image by URL': [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url, detail: 'high' } }] }] }, '/chat/completions'],
      'chat image inline': [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: `data:image/png;base64,${'A'.repeat(100_000)}` }] }] }, '/chat/completions'],
      'input_image by URL': [{ input: [{ role: 'user', content: [{ type: 'input_image', image_url: url }] }] }, '/responses'],
      'input_image by file_id': [{ input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file-1' }] }] }, '/responses'],
      'input_image in another case': [{ input: [{ role: 'user', content: [{ Type: 'input_image', image_url: url }] }] }, '/responses'],
      'Anthropic image inline': [{ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(2_000_000) } }] }] }, '/messages'],
      'Anthropic image by URL': [{ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url } }] }] }, '/messages'],
    };
    for (const [name, [body, endpoint]] of Object.entries(parts)) {
      const e = estimateTokens({ model: 'm', max_tokens: 1, ...body }, endpoint, 0);
      expect(e.input, name).toBeGreaterThanOrEqual(USUAL_IMAGE_TOKENS);
      // One image, not its bytes.
      expect(e.input, name).toBeLessThan(USUAL_IMAGE_TOKENS + 100);
      expect(e.inputAtMost, name).toBeGreaterThanOrEqual(IMAGE_PART_TOKENS);
      expect(e.inputAtMost, name).toBeLessThan(IMAGE_PART_TOKENS + 100);
      expect(e.byReference, name).toBe(false);
      expect(estimateTokens({ model: 'gpt-4o-mini', max_tokens: 1, ...body }, endpoint, 0, imagePartTokens('gpt-4o-mini')).inputAtMost, name).toBeGreaterThanOrEqual(imagePartTokens('gpt-4o-mini'));
    }
    const many = Array.from({ length: 200 }, (_, i) => ({ type: 'image_url', image_url: { url: `https://img.example/${i}.png`, detail: 'high' } }));
    expect(estimateTokens({ messages: [{ role: 'user', content: many }], max_tokens: 5 }, '/chat/completions', 0).input).toBeGreaterThanOrEqual(200 * USUAL_IMAGE_TOKENS);
  });

  it("reserves the declared max_tokens, else the model's largest answer, times n; embeddings no output", () => {
    expect(boundTokens({ messages: [], max_tokens: 50 }, '/chat/completions', 16_384, MAX_INPUT).output).toBe(50);
    expect(boundTokens({ messages: [], max_completion_tokens: 70, n: 3 }, '/chat/completions', 16_384, MAX_INPUT).output).toBe(210);
    expect(boundTokens({ input: 'x', max_output_tokens: 9 }, '/responses', 16_384, MAX_INPUT).output).toBe(9);
    expect(boundTokens({ messages: [] }, '/chat/completions', 16_384, MAX_INPUT).output).toBe(16_384);
    expect(boundTokens({ input: 'x' }, '/embeddings', 16_384, MAX_INPUT).output).toBe(0);
  });

  it('reserves for every answer generated and for the largest output limit declared, however the request spells them', () => {
    // Legacy completions generate best_of candidates and bill them all, returning n.
    expect(boundTokens({ prompt: 'x', max_tokens: 100, best_of: 5, n: 2 }, '/completions', 4_096, MAX_INPUT).output).toBe(500);
    expect(estimateTokens({ prompt: 'x', max_tokens: 100, best_of: 5 }, '/completions', 4_096).output).toBe(500);
    // OpenAI-compatible servers coerce a numeric string.
    expect(boundTokens({ messages: [], max_tokens: 10, n: '4' }, '/chat/completions', 16_384, MAX_INPUT).output).toBe(40);
    expect(boundTokens({ messages: [], max_tokens: 10, n: 'four' }, '/chat/completions', 16_384, MAX_INPUT).output).toBe(10);
    // Two limits that disagree: the larger is what an upstream may run to.
    expect(boundTokens({ messages: [], max_completion_tokens: 1, max_tokens: 9_000 }, '/chat/completions', 16_384, MAX_INPUT).output).toBe(9_000);
    expect(estimateTokens({ messages: [], max_completion_tokens: 1, max_tokens: 9_000 }, '/chat/completions', 4_096).output).toBe(9_000);
  });

  it('reserves every prompt of a legacy completion: n and best_of answers for each, its suffix read with each', () => {
    const tokenPrompts = Array.from({ length: 500 }, () => [1]);
    // The reviewer's case: 500 one-token prompts at 16,384 tokens each were reserved as one answer.
    expect(boundTokens({ prompt: tokenPrompts, max_tokens: 16_384 }, '/completions', 4_096, MAX_INPUT).output).toBe(500 * 16_384);
    expect(estimateTokens({ prompt: tokenPrompts, max_tokens: 16_384 }, '/completions', 4_096).output).toBe(500 * 16_384);
    expect(boundTokens({ prompt: ['a', 'b', 'c'], max_tokens: 10, best_of: 4, n: 2 }, '/completions', 4_096, MAX_INPUT).output).toBe(120);
    expect(estimateTokens({ prompt: ['a', 'b', 'c'], n: '2' }, '/completions', 100).output).toBe(600);
    // Without max_tokens: the model's largest answer for each prompt.
    expect(boundTokens({ prompt: ['a', 'b'] }, '/completions', 4_096, MAX_INPUT).output).toBe(8_192);
    // One prompt given as token ids is one prompt; a mixed array counts its items.
    expect(boundTokens({ prompt: [1, 2, 3], max_tokens: 10 }, '/completions', 4_096, MAX_INPUT).output).toBe(10);
    expect(boundTokens({ prompt: [1, 'b', [3]], max_tokens: 10 }, '/completions', 4_096, MAX_INPUT).output).toBe(30);
    expect(boundTokens({ prompt: [], max_tokens: 10 }, '/completions', 4_096, MAX_INPUT).output).toBe(10);
    // A count past OpenAI's 128 is reserved as sent (a compatible server may run it).
    expect(boundTokens({ messages: [], max_tokens: 10, n: 1_000 }, '/chat/completions', 4_096, MAX_INPUT).output).toBe(10_000);
    // The suffix is read with each prompt; token ids count as input for TPM too.
    const suffix = 'z'.repeat(1_000);
    expect(boundTokens({ prompt: ['a', 'b', 'c', 'd'], suffix, max_tokens: 1 }, '/completions', 1, MAX_INPUT).input).toBeGreaterThanOrEqual(4_000);
    expect(estimateTokens({ prompt: ['a', 'b', 'c', 'd'], suffix, max_tokens: 1 }, '/completions', 1).input).toBeGreaterThanOrEqual(1_000);
    expect(estimateTokens({ prompt: tokenPrompts, max_tokens: 1 }, '/completions', 1).input).toBeGreaterThanOrEqual(500);
    expect(estimateTokens({ input: [Array.from({ length: 2_000 }, () => 7)] }, '/embeddings', 1).input).toBeGreaterThanOrEqual(2_000);
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
    // The message's member names, role and text, and the system prompt, at four characters a token.
    const input = Math.ceil(('role'.length + 'user'.length + 'content'.length + 2 + 4000) / 4) + 6;
    expect(withSystem).toEqual({ input, output: 300, byReference: false, inputAtMost: input });
    const blocks = estimateTokens({ system: [{ type: 'text', text: system }], messages: [{ role: 'user', content: 'hi' }], max_tokens: 300 }, '/messages', 1024);
    expect(blocks.input).toBeGreaterThanOrEqual(withSystem.input);
    const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(2_000_000) } };
    const bound = boundTokens({ model: 'claude-opus-4-6', max_tokens: 10, messages: [{ role: 'user', content: [image, { type: 'text', text: 'what is it?' }] }] }, '/messages', 128_000, MAX_INPUT);
    expect(bound.input).toBeGreaterThanOrEqual(IMAGE_PART_TOKENS);
    expect(bound.input).toBeLessThan(IMAGE_PART_TOKENS + 200);
    expect(bound.output).toBe(10);
    expect(maxOutputTokens('claude-sonnet-4-5-20250929')).toBe(64_000);
    expect(maxOutputTokens('claude-opus-4-1')).toBe(32_000);
  });

  it("notices a request for prompt caching anywhere in the body (its input may be billed as Anthropic's cache writes)", () => {
    const messages = [{ role: 'user', content: 'hi' }];
    expect(boundTokens({ messages, max_tokens: 1 }, '/messages', 1, MAX_INPUT).cacheWrites).toBe(false);
    expect(boundTokens({ messages, max_tokens: 1, cache_control: { type: 'ephemeral' } }, '/messages', 1, MAX_INPUT).cacheWrites).toBe(true);
    expect(boundTokens({ messages, max_tokens: 1, system: [{ type: 'text', text: 's', cache_control: { type: 'ephemeral', ttl: '1h' } }] }, '/messages', 1, MAX_INPUT).cacheWrites).toBe(true);
    expect(boundTokens({ messages, max_tokens: 1, tools: [{ name: 'f', input_schema: { type: 'object' }, cache_control: { type: 'ephemeral' } }] }, '/messages', 1, MAX_INPUT).cacheWrites).toBe(true);
    const image = { type: 'image', source: { type: 'url', url: 'https://x/y.png' }, cache_control: { type: 'ephemeral' } };
    expect(boundTokens({ messages: [{ role: 'user', content: [image] }], max_tokens: 1 }, '/messages', 1, MAX_INPUT).cacheWrites).toBe(true);
    let deep: unknown = { type: 'text', text: 't', cache_control: { type: 'ephemeral' } };
    for (let i = 0; i < 80; i++) deep = [deep];
    expect(boundTokens({ messages: [{ role: 'user', content: deep }], max_tokens: 1 }, '/messages', 1, MAX_INPUT).cacheWrites).toBe(true);
    expect(boundTokens({ messages, max_tokens: 1, cache_control: null }, '/messages', 1, MAX_INPUT).cacheWrites).toBe(false);
  });
});

describe('the reservation of input by reference', () => {
  const user = (content: unknown) => ({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content }] });
  const responses = (input: unknown, extra: Record<string, unknown> = {}) => ({ model: 'm', max_output_tokens: 1, input, ...extra });
  const bound = (body: Record<string, unknown>, endpoint = '/responses') => boundTokens(body, endpoint, 16_384, MAX_INPUT);
  const inputFile = (part: Record<string, unknown>) => responses([{ role: 'user', content: [{ type: 'input_file', ...part }] }]);
  const document = (source: Record<string, unknown>) => user([{ type: 'document', source }, { type: 'text', text: 'summarise' }]);

  // Each names input the body does not carry (or whose bytes do not bound its tokens).
  const byReference: Record<string, Record<string, unknown>> = {
    previous_response_id: responses('and then?', { previous_response_id: 'resp_123' }),
    'conversation by id': responses('hi', { conversation: 'conv_123' }),
    'conversation object': responses('hi', { conversation: { id: 'conv_123' } }),
    'stored prompt': { model: 'm', prompt: { id: 'pmpt_123', version: '2', variables: { city: 'Paris' } } },
    item_reference: responses([{ type: 'item_reference', id: 'msg_123' }]),
    'item given only by id': responses([{ id: 'msg_123' }]),
    'item reference with a null type': responses([{ type: null, id: 'msg_123' }]),
    'stored reasoning item': responses([{ type: 'reasoning', id: 'rs_123', summary: [] }]),
    'encrypted reasoning': responses([{ type: 'reasoning', summary: [], encrypted_content: 'gAAAA' }]),
    'compaction item': responses([{ type: 'compaction', encrypted_content: 'gAAAA' }]),
    'input_file by file_id': inputFile({ file_id: 'file-123' }),
    'input_file by file_url': inputFile({ file_url: 'https://example.com/a.pdf' }),
    'input_file inline (a PDF is billed by its pages)': inputFile({ filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' }),
    'Chat Completions file by file_id': user([{ type: 'file', file: { file_id: 'file-123' } }]),
    'Chat Completions audio answer by id': { model: 'm', messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', audio: { id: 'audio_123' } }] },
    'Anthropic document by URL': document({ type: 'url', url: 'https://example.com/a.pdf' }),
    'Anthropic document by file': document({ type: 'file', file_id: 'file_011' }),
    'Anthropic PDF inline': document({ type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }),
    'Anthropic document without a source': user([{ type: 'document' }]),
    'Anthropic container_upload': user([{ type: 'container_upload', file_id: 'file_011' }]),
    'Anthropic redacted thinking': { model: 'm', max_tokens: 1, messages: [{ role: 'assistant', content: [{ type: 'redacted_thinking', data: 'EmwK' }] }] },
    'skill by reference': responses('hi', { tools: [{ type: 'shell', environment: { type: 'container_auto', skills: [{ type: 'skill_reference', skill_id: 'skill_1' }] } }] }),
    'a file as { type: "file_id", id }': responses('hi', { text: { x: [{ type: 'file_id', id: 'file-1' }] } }),
    'file_ids of an attachment': { model: 'm', messages: [{ role: 'user', content: 'hi', attachments: [{ file_ids: ['file-1'] }] }] },
    // A tool call's `input` is literal data, but the body itself is no tool call: a top-level type does not hide its input.
    'a body posing as a tool call': responses([{ role: 'user', content: [{ type: 'input_file', file_id: 'file-123' }] }], { type: 'tool_use' }),
  };

  it("reserves the model's largest input for each kind of input by reference", () => {
    for (const [name, body] of Object.entries(byReference)) {
      const b = bound(body, body.messages ? '/chat/completions' : '/responses');
      expect(b.byReference, name).toBe(true);
      expect(b.input, name).toBeGreaterThanOrEqual(MAX_INPUT);
      expect(b.input, name).toBeLessThan(MAX_INPUT + TOOL_PROMPT_TOKENS + 1_000);
    }
  });

  it('tells the TPM estimate of every kind of input by reference, as the bound knows them (the caller reserves them apart)', () => {
    // Found by an outside review: a stored response or a file by id counted as the characters of its id, 20 requests at
    // once were admitted under a 1,000 TPM limit and billed 2M tokens.
    for (const [name, body] of Object.entries(byReference)) {
      const endpoint = body.messages ? '/chat/completions' : '/responses';
      expect(estimateTokens(body, endpoint, 16).byReference, name).toBe(true);
    }
  });

  it('keeps the body bound of a request without references: text, inline and linked images, text documents, tool schemas', () => {
    const plain: Record<string, Record<string, unknown>> = {
      text: user('hi'),
      'Responses text': responses([{ role: 'user', content: [{ type: 'input_text', text: 'hi' }] }]),
      'image by URL': user([{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }]),
      'input_image by URL': responses([{ role: 'user', content: [{ type: 'input_image', image_url: 'https://example.com/a.png' }] }]),
      // One image whatever its source: its tokens follow its pixels, scaled down by the provider.
      'input_image by file_id': responses([{ role: 'user', content: [{ type: 'input_image', file_id: 'file-123' }] }]),
      'Anthropic image by URL': user([{ type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } }]),
      'Anthropic text document': document({ type: 'text', media_type: 'text/plain', data: 'the text' }),
      'Anthropic content document': document({ type: 'content', content: [{ type: 'text', text: 'the text' }] }),
      'legacy completions prompt': { model: 'm', prompt: ['x', 'y'], max_tokens: 1 },
      'output items with ids and content': responses([{ type: 'message', id: 'msg_1', role: 'assistant', content: [{ type: 'output_text', text: 'hi' }] }, { type: 'function_call', id: 'fc_1', call_id: 'c', name: 'f', arguments: '{"file_id":"file-1"}' }]),
      'a null previous_response_id': responses('hi', { previous_response_id: null }),
      // A schema naming `file_id` or `url` properties, metadata, and a call's arguments are not references.
      'tool schemas': responses('hi', { tools: [{ type: 'function', name: 'f', parameters: { type: 'object', properties: { file_id: { type: 'string' }, url: { type: 'string', default: 'https://x' } } } }] }),
      'Anthropic tool_use arguments': { model: 'm', max_tokens: 1, messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'fetch', input: { url: 'https://example.com', file_id: 'file-1' } }] }] },
      metadata: responses('hi', { metadata: { file_id: 'file-1', url: 'https://x' } }),
    };
    for (const [name, body] of Object.entries(plain)) {
      const b = bound(body, body.messages ? '/chat/completions' : '/responses');
      expect(b.byReference, name).toBe(false);
      expect(b.input, name).toBeLessThan(IMAGE_PART_TOKENS + TOOL_PROMPT_TOKENS + 1_000);
      expect(estimateTokens(body, body.messages ? '/chat/completions' : '/responses', 16).byReference, name).toBe(false);
    }
  });

  it("reserves an image at a detail the allowance does not bound (GPT-5.4's original) as input by reference", () => {
    const url = 'https://example.com/a.png';
    for (const detail of ['original', 'ORIGINAL', 'ultra', 7]) {
      expect(bound(responses([{ role: 'user', content: [{ type: 'input_image', image_url: url, detail }] }])).byReference, String(detail)).toBe(true);
      expect(bound(user([{ type: 'image_url', image_url: { url, detail } }])).byReference, String(detail)).toBe(true);
    }
    for (const detail of ['low', 'high', 'auto', null, undefined]) {
      expect(bound(responses([{ role: 'user', content: [{ type: 'input_image', image_url: url, detail }] }])).byReference, String(detail)).toBe(false);
      expect(bound(user([{ type: 'image_url', image_url: { url, detail } }])).byReference, String(detail)).toBe(false);
    }
  });

  it('finds references nested deep, in tool results, in arrays, and spelt in another case', () => {
    // A function's output carrying a file (Responses), a tool result carrying a document (Anthropic).
    expect(bound(responses([{ type: 'function_call_output', call_id: 'c', output: [{ type: 'input_file', file_id: 'file-1' }] }])).byReference).toBe(true);
    const toolResult = { type: 'tool_result', tool_use_id: 't', content: [{ type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } }] };
    expect(bound(user([toolResult]), '/messages').byReference).toBe(true);
    // A stored prompt's variables, and a reference 40 levels down.
    expect(bound({ model: 'm', input: 'hi', text: { x: [{ y: { file_id: 'file-1' } }] } }).byReference).toBe(true);
    let deep: unknown = { type: 'input_file', file_url: 'https://example.com/a.pdf' };
    for (let i = 0; i < 40; i++) deep = [{ role: 'user', content: [deep] }];
    expect(bound(responses(deep)).byReference).toBe(true);
    // Deeper than the walk looks: taken for a reference.
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(bound(responses(deep)).byReference).toBe(true);
    // An upstream matching names without regard to case (Go) reads these as file_id, file_url, previous_response_id.
    for (const name of ['File_Id', 'FILE_URL', 'Previous_Response_ID', 'ſkill_id', 's\u212Aill_id', 'Encrypted_Content']) {
      expect(bound(responses([{ role: 'user', content: [{ type: 'input_text', text: 'x', [name]: 'ref-1' }] }])).byReference, name).toBe(true);
    }
    expect(bound(responses([{ role: 'user', content: [{ type: 'input_file', fILE_iD: 'file-1' }] }])).byReference).toBe(true);
  });

  it('reads the members it decides on (type, id, content, source, detail, cache_control) in any case, refusing two spellings', () => {
    // Read in lower case only, each of these was bounded by its bytes while an upstream folding names reads a reference,
    // an image at its own resolution or prompt caching (found by an outside review).
    const url = 'https://example.com/a.png';
    for (const [name, body] of Object.entries<Record<string, unknown>>({
      'item_reference as Type and ID': responses([{ Type: 'item_reference', ID: 'msg_123' }]),
      'a file as { TYPE: "file_id", Id }': responses('hi', { text: { x: [{ TYPE: 'file_id', Id: 'file-1' }] } }),
      'item given only by its ID': responses([{ ID: 'msg_123' }]),
      'stored reasoning item': responses([{ TYPE: 'reasoning', id: 'rs_123', summary: [] }]),
      'redacted thinking': { model: 'm', max_tokens: 1, messages: [{ role: 'assistant', content: [{ Type: 'redacted_thinking', data: 'EmwK' }] }] },
      'input_image at original detail': responses([{ role: 'user', content: [{ Type: 'input_image', image_url: url, Detail: 'original' }] }]),
      'image_url at original detail': user([{ type: 'image_url', Image_Url: { url, DETAIL: 'original' } }]),
      'Anthropic PDF by a source in another case': document({ Type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }),
    })) {
      expect(bound(body, body.messages ? '/chat/completions' : '/responses').byReference, name).toBe(true);
    }
    // An image part in another case is one image, not its URL's bytes; caching asked for in another case is caching.
    expect(bound(responses([{ role: 'user', content: [{ Type: 'input_image', image_url: url }] }])).input).toBeGreaterThanOrEqual(IMAGE_PART_TOKENS);
    expect(bound(user([{ type: 'text', text: 't', Cache_Control: { type: 'ephemeral' } }]), '/messages').cacheWrites).toBe(true);
    // A tool call's arguments and a schema are literal: their names, in any case, are the caller's.
    const literal = { model: 'm', max_tokens: 1, messages: [{ role: 'assistant', content: [{ Type: 'tool_use', id: 't', name: 'f', input: { id: 1, ID: 2, Type: 'x', type: 'y', file_id: 'file-1' } }] }] };
    expect(bound(literal, '/messages').byReference).toBe(false);
    expect(bound(responses('hi', { tools: [{ type: 'function', name: 'f', parameters: { type: 'object', properties: { id: {}, ID: {} } } }] })).byReference).toBe(false);
    for (const [body, param] of [
      [responses([{ type: 'message', Type: 'item_reference', id: 'msg_1', content: 'x' }]), 'type'],
      [responses([{ role: 'user', content: [{ type: 'input_image', image_url: url, detail: 'low', Detail: 'original' }] }]), 'detail'],
      [document({ type: 'text', TYPE: 'base64', data: 'x' }), 'type'],
    ] as const) {
      expect(() => bound(body), JSON.stringify(body)).toThrow(expect.objectContaining({ status: 400, code: 'invalid_value', param }));
    }
  });

  it("bounds a request by reference at the model's largest input, or at its own body when that is larger", () => {
    const small = bound(responses('hi', { previous_response_id: 'resp_1' }));
    expect(small.input).toBe(MAX_INPUT);
    expect(small.output).toBe(1);
    const large = bound(responses('x'.repeat(300_000), { previous_response_id: 'resp_1' }));
    expect(large.input).toBeGreaterThan(300_000);
    // Cache writes are still noticed under a reference (the walk goes on).
    expect(bound({ ...document({ type: 'url', url: 'https://x/a.pdf' }), cache_control: { type: 'ephemeral' } }, '/messages')).toMatchObject({ byReference: true, cacheWrites: true });
  });

  it('adds an allowance for the system prompt a provider adds when tools are offered', () => {
    const without = bound(user('hi'), '/messages').input;
    const tools = [{ name: 'f', input_schema: { type: 'object' } }];
    expect(bound({ ...user('hi'), tools }, '/messages').input).toBeGreaterThanOrEqual(without + TOOL_PROMPT_TOKENS);
    expect(bound({ ...user('hi'), tools: [] }, '/messages').input).toBe(without + 'tools'.length + 1);
    expect(bound({ ...user('hi'), functions: [{ name: 'f' }] }, '/chat/completions').input).toBeGreaterThanOrEqual(without + TOOL_PROMPT_TOKENS);
  });

  it("knows models' largest inputs, their snapshots', a configured one, and assumes the most for the rest", () => {
    expect(maxInputTokens('gpt-5')).toBe(272_000);
    expect(maxInputTokens('gpt-5-mini-2025-08-07')).toBe(272_000);
    expect(maxInputTokens('gpt-5.4')).toBe(1_050_000);
    expect(maxInputTokens('gpt-4.1')).toBe(1_047_576);
    expect(maxInputTokens('gpt-4o-2024-08-06')).toBe(128_000);
    expect(maxInputTokens('o3')).toBe(200_000);
    expect(maxInputTokens('o4-mini')).toBe(200_000);
    expect(maxInputTokens('claude-opus-4-1-20250805')).toBe(200_000);
    // Sonnet 4.5 reads 1M tokens under the context-1m beta, which the budget does not look for.
    expect(maxInputTokens('claude-sonnet-4-5-20250929')).toBe(1_000_000);
    expect(maxInputTokens('claude-opus-5-5')).toBe(1_000_000);
    expect(maxInputTokens('my-local-llama')).toBe(UNKNOWN_MAX_INPUT_TOKENS);
    expect(maxInputTokens('my-local-llama', () => 8_192)).toBe(8_192);
    expect(maxInputTokens(null)).toBe(UNKNOWN_MAX_INPUT_TOKENS);
    // No known model reads more than the default for unknown ones.
    for (const model of ['gpt-5.6', 'gpt-4.1-nano', 'claude-fable-5-2']) expect(maxInputTokens(model)).toBeLessThanOrEqual(UNKNOWN_MAX_INPUT_TOKENS);
  });
});

describe('imagePartTokens', () => {
  it("bounds gpt-4o-mini's images at its multiplied tile count, every other model's at the common allowance", () => {
    const image = { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'high' } }] };
    const bound = (model: string) => boundTokens({ model, messages: [image, image] }, '/chat/completions', 1, 1_000_000, imagePartTokens(model)).input;
    expect(imagePartTokens('gpt-4o-mini')).toBe(48_169);
    expect(imagePartTokens('gpt-4o-mini-2024-07-18')).toBe(48_169);
    expect(bound('gpt-4o-mini')).toBeGreaterThanOrEqual(2 * 48_169);
    for (const other of ['gpt-4o', 'gpt-4.1-mini', 'gpt-4o-mini-tts', null]) expect(imagePartTokens(other), String(other)).toBe(IMAGE_PART_TOKENS);
    expect(bound('gpt-4o')).toBeLessThan(2 * 48_169);
  });
});
