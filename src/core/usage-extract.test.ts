import { describe, expect, it } from 'vitest';
import { usageFromJsonTail } from './usage-extract.js';

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
});
