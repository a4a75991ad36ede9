import { describe, expect, it } from 'vitest';
import { boundTokens } from './estimate.js';
import { judgeRateLimit, requestTokenBound } from './rate-limit.js';

const openai = (message: string, code: string | null = 'rate_limit_exceeded', type = 'tokens') => JSON.stringify({ error: { message, type, param: null, code } });
const anthropic = (message: string) => JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', message } });
const chat = (o: Record<string, unknown> = {}) => Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], ...o }));

const TOO_LARGE =
  'Request too large for gpt-4o in organization org-abc on tokens per min (TPM): Limit 30000, Requested 52000. The input or output tokens must be reduced in order to run successfully.';
const REACHED = 'Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit 30000, Used 28000, Requested 5000. Please try again in 6s.';
const ANTHROPIC_ITPM =
  'This request would exceed the rate limit for your organization (0dccdde6) of 30,000 input tokens per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage.';

describe('judgeRateLimit: what a 429 is about', () => {
  it("OpenAI's request too large is the request's; its limit reached is the key's; RPM and RPD too", () => {
    expect(judgeRateLimit({}, openai(TOO_LARGE), chat())).toBe('request');
    expect(judgeRateLimit({}, openai(REACHED), chat())).toBe('limit');
    expect(judgeRateLimit({}, openai('Rate limit reached for gpt-4o on requests per min (RPM): Limit 3, Used 3, Requested 1.', 'rate_limit_exceeded', 'requests'), chat())).toBe('limit');
    // Its own count decides, whatever the size of the body and the limit headers.
    expect(judgeRateLimit({ 'x-ratelimit-limit-tokens': '30000' }, openai(REACHED), chat({ max_tokens: 40_000 }))).toBe('limit');
    // A "Requested" over the limit is the request's whatever the words round it (a model the client named comes first).
    expect(judgeRateLimit({}, openai('Rate limit reached for Limit 1, Requested 2 on TPM: Limit 30000, Used 100, Requested 40,000.'), chat())).toBe('request');
  });

  it("OpenAI's insufficient_quota is the account's, by its code or type only: never by its words", () => {
    const quota = 'You exceeded your current quota, please check your plan and billing details.';
    expect(judgeRateLimit({}, openai(quota, 'insufficient_quota', 'insufficient_quota'), chat())).toBe('quota');
    expect(judgeRateLimit({}, openai(quota, null, 'insufficient_quota'), chat())).toBe('quota');
    // A message quoting "insufficient_quota" (a model named so by the client, echoed) is not the account's.
    expect(judgeRateLimit({}, openai('Rate limit reached for insufficient_quota: Limit 3, Used 3, Requested 1.'), chat())).toBe('limit');
    expect(judgeRateLimit({}, anthropic('insufficient_quota'), chat())).toBe('limit');
  });

  it("Anthropic's limit named in its message: a request that may alone be as large is the request's", () => {
    // 40,000 bytes of prompt may be 40,000 tokens: over 30,000.
    const big = Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: 'x'.repeat(40_000) }] }));
    const small = Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: 'hi' }] }));
    expect(judgeRateLimit({}, anthropic(ANTHROPIC_ITPM), big)).toBe('request');
    expect(judgeRateLimit({}, anthropic(ANTHROPIC_ITPM), small)).toBe('limit');
    // Output per minute: max_tokens counts up front.
    const otpm = anthropic('This request would exceed the rate limit for your organization (x) of 8,000 output tokens per minute.');
    expect(judgeRateLimit({}, otpm, Buffer.from(JSON.stringify({ max_tokens: 64_000, messages: [] })))).toBe('request');
    expect(judgeRateLimit({}, otpm, small)).toBe('limit');
    expect(judgeRateLimit({}, anthropic('Extra usage is required for long context requests.'), small)).toBe('request');
  });

  it("the limit headers, when the words say nothing: OpenAI's x-ratelimit-limit-tokens, Anthropic's per kind", () => {
    const words = anthropic('Number of request tokens has exceeded your per-minute rate limit; see the response headers for current usage.');
    const h = { 'anthropic-ratelimit-input-tokens-limit': '30000', 'anthropic-ratelimit-output-tokens-limit': '8000', 'anthropic-ratelimit-requests-remaining': '49' };
    expect(judgeRateLimit(h, words, Buffer.from(JSON.stringify({ max_tokens: 9000, messages: [] })))).toBe('request');
    expect(judgeRateLimit(h, words, Buffer.from(JSON.stringify({ max_tokens: 100, messages: [] })))).toBe('limit');
    expect(judgeRateLimit({ 'x-ratelimit-limit-tokens': '1000' }, '{}', chat({ max_completion_tokens: 2000 }))).toBe('request');
    expect(judgeRateLimit({ 'x-ratelimit-limit-tokens': '1000' }, '{}', chat({ max_completion_tokens: 200, n: 8 }))).toBe('request');
    expect(judgeRateLimit({ 'x-ratelimit-limit-tokens': '1000' }, '{}', chat({ max_completion_tokens: 200 }))).toBe('limit');
    // No request left in the window: the key's limit, however large the request.
    expect(judgeRateLimit({ ...h, 'anthropic-ratelimit-requests-remaining': '0' }, words, Buffer.from(JSON.stringify({ max_tokens: 9000 })))).toBe('limit');
  });

  it('a request naming input by reference (a document by URL, a file by id) may alone exceed any input limit', () => {
    const words = anthropic(ANTHROPIC_ITPM);
    const h = { 'anthropic-ratelimit-input-tokens-limit': '30000', 'anthropic-ratelimit-requests-remaining': '49' };
    const doc = (source: Record<string, unknown>) =>
      Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'document', source }] }] }));
    expect(judgeRateLimit(h, words, doc({ type: 'url', url: 'https://example.com/300-pages.pdf' }))).toBe('request');
    expect(judgeRateLimit(h, words, doc({ type: 'file', file_id: 'file_011' }))).toBe('request');
    expect(requestTokenBound(doc({ type: 'url', url: 'https://x/y.pdf' })).input).toBe(Number.POSITIVE_INFINITY);
    // Text it carries is bound by its bytes, as before.
    expect(judgeRateLimit(h, words, doc({ type: 'text', media_type: 'text/plain', data: 'short' }))).toBe('limit');
  });

  it('an image counts as the tokens a budget reserves for it, not its bytes: OpenAI and Anthropic shapes alike', () => {
    // 20 small images (a 1092×1092 one-bit PNG is under 1 KB and ~1,590 tokens to Claude): their bytes are under the
    // 30,000 input tokens a minute the 429 names, their tokens are not. Both keys of a pool were cooled for it.
    const words = anthropic(ANTHROPIC_ITPM);
    const h = { 'anthropic-ratelimit-input-tokens-limit': '30000', 'anthropic-ratelimit-requests-remaining': '49' };
    const data = 'iVBORw0KGgo'.padEnd(892, 'A');
    const images = (part: Record<string, unknown>, n = 20) => Array.from({ length: n }, () => part);
    const anthropicBody = (n?: number) =>
      Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: images({ type: 'image', source: { type: 'base64', media_type: 'image/png', data } }, n) }] }));
    expect(anthropicBody().length).toBeLessThan(30_000);
    expect(judgeRateLimit(h, words, anthropicBody())).toBe('request');
    // An image by URL is an image too.
    const byUrl = Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: images({ type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } }) }] }));
    expect(judgeRateLimit(h, words, byUrl)).toBe('request');
    // OpenAI's chat image parts and the Responses API's input_image.
    const limit = { 'x-ratelimit-limit-tokens': '30000' };
    const chatImages = chat({ messages: [{ role: 'user', content: images({ type: 'image_url', image_url: { url: `data:image/png;base64,${data}` } }) }] });
    expect(judgeRateLimit(limit, '{}', chatImages)).toBe('request');
    const responses = Buffer.from(JSON.stringify({ model: 'gpt-4o', input: [{ role: 'user', content: images({ type: 'input_image', image_url: `data:image/png;base64,${data}` }) }] }));
    expect(judgeRateLimit(limit, '{}', responses)).toBe('request');
    // The allowance is the budgets' (imagePartTokens): gpt-4o-mini's is larger, named by the body or by the route.
    const mini = chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: images({ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }, 1) }] });
    expect(requestTokenBound(mini).input).toBeGreaterThanOrEqual(48_169);
    expect(requestTokenBound(chat({ messages: [{ role: 'user', content: images({ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }, 1) }] }), 'gpt-4o-mini').input).toBeGreaterThanOrEqual(48_169);
    // A few images well within the limit are the key's limit reached, as before.
    expect(judgeRateLimit(h, words, anthropicBody(2))).toBe('limit');
    // Inline audio counts its bytes; a PDF (its pages are billed as images and text) may be any size.
    const audio = chat({ model: 'gpt-4o-audio-preview', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'A'.repeat(40_000), format: 'wav' } }] }] });
    expect(judgeRateLimit(limit, '{}', audio)).toBe('request');
    const pdf = Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data } }] }] }));
    expect(requestTokenBound(pdf).input).toBe(Number.POSITIVE_INFINITY);
  });

  it('a hostile or odd answer: no body, not JSON, a huge body, odd headers are the key\'s limit (as before)', () => {
    expect(judgeRateLimit({}, '', null)).toBe('limit');
    expect(judgeRateLimit({}, '<html>Too Many Requests</html>', chat())).toBe('limit');
    expect(judgeRateLimit({}, openai(`${TOO_LARGE}${' '.repeat(20_000)}`), chat())).toBe('limit');
    expect(judgeRateLimit({ 'x-ratelimit-limit-tokens': '-5', 'anthropic-ratelimit-input-tokens-limit': ['abc'] }, '{}', chat())).toBe('limit');
    expect(judgeRateLimit({}, JSON.stringify({ error: 'busy' }), chat())).toBe('limit');
    // Both shapes at once: OpenAI's quota code wins (it sets the key aside, and is never the client's to write).
    expect(judgeRateLimit({}, JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', code: 'insufficient_quota', message: ANTHROPIC_ITPM } }), chat())).toBe('quota');
  });
});

describe('requestTokenBound', () => {
  it("the budgets' input bound (its text's bytes at most), the output it asks for (the largest spelling, times n); a body that is not JSON by its bytes", () => {
    expect(requestTokenBound(null)).toEqual({ input: 0, output: 0 });
    const body = chat({ max_tokens: 100, max_completion_tokens: 300, n: 2 });
    const parsed = JSON.parse(body.toString()) as Record<string, unknown>;
    expect(requestTokenBound(body)).toEqual({ input: boundTokens(parsed, '', 0, 0).input, output: 600 });
    expect(requestTokenBound(body).input).toBeLessThanOrEqual(body.length);
    const text = Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1, messages: [{ role: 'user', content: 'x'.repeat(40_000) }] }));
    expect(requestTokenBound(text).input).toBeGreaterThanOrEqual(40_000);
    expect(requestTokenBound(Buffer.from('--boundary'))).toEqual({ input: 10, output: 0 });
    // Counted as the reservations count them: best_of's candidates, and a count sent as a numeric string.
    expect(requestTokenBound(chat({ max_tokens: 100, best_of: 3 })).output).toBe(300);
    expect(requestTokenBound(chat({ max_tokens: 100, n: '4' })).output).toBe(400);
  });
});
