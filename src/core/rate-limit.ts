import { providerError } from './provider-error.js';
import { answersAsked, boundTokens, declaredMaxOutput, imagePartTokens } from './estimate.js';

// What a provider's 429 is about, so that a pool of its credentials answers it fairly. A 429 may say the key reached a
// limit (cool that key down, for that model: OpenAI's and Anthropic's limits are per model or model class), that the
// key's account is out of quota (set it aside for everything), or that the request alone exceeds a limit, which no key
// will ever accept: OpenAI's "Request too large for gpt-4o … on tokens per min (TPM): Limit 30000, Requested 52000",
// Anthropic's "This request would exceed the rate limit … of 30,000 input tokens per minute" for a prompt (or a
// max_tokens) over the limit. A client shapes only its request, so such a 429 must take no key away from anyone.

/**
 * - `request`: the request may alone exceed the limit: answered as it is, no key cooled, not retried on another key
 *   or a fallback (each would answer the same, and each such attempt still counts against the provider's limits).
 * - `limit`: the key reached a limit for this model: cooled down for it, the request moves on.
 * - `quota`: the key's account (or provider project) is out of quota or credit (OpenAI's `insufficient_quota`): set
 *   aside for every request, for the refusal cool-down; the request moves on.
 */
export type RateLimitVerdict = 'request' | 'limit' | 'quota';

const toNumber = (s: string) => Number(s.replace(/,/g, ''));

// OpenAI's own count of the request against the limit: "Limit 30000, Requested 52000" (too large), "Limit 30000, Used
// 28000, Requested 5000" (the limit reached). The last one in the message: the model named before it is the client's.
const OPENAI_COUNT = /Limit ([\d,]+), (?:Used [\d,]+, )?Requested ([\d,]+)/g;
// Anthropic's: "… of 30,000 input tokens per minute", "… of 8,000 output tokens per minute".
const ANTHROPIC_LIMIT = /of ([\d,]+) (input |output )?tokens per minute/g;
// Anthropic refuses a long-context request to an account without access to it with a 429 ("Extra usage is required
// for long context requests"): about the request, whatever the limits.
const LONG_CONTEXT = /long context/i;

/** The most tokens a request body can be: input (text, images, audio) and the output it asks for. */
export interface RequestTokenBound {
  input: number;
  output: number;
}

/**
 * An upper bound of what a request counts against a provider's token limits, read only for a 429. Input as a hard
 * spend cap bounds it (boundTokens in core/estimate.ts): its text by its bytes (a token is at least a byte), each image
 * part (OpenAI's `image_url` and `input_image`, Anthropic's image blocks, inline or by URL) as the budgets' allowance
 * for the model (imagePartTokens; the route's `model`, else the body's), inline audio by its bytes, and input it names
 * or carries in a form its bytes do not bound (a PDF, a file by id or URL, a stored response) as no bound at all. Its
 * bytes bounded images too, and fell short: 20 one-bit PNGs of 1092×1092 are 18 KB and 31,800 tokens to Claude (found
 * by an outside review). Output: what it asks for (max_tokens and its spellings, times `n`), which both providers
 * count up front. A body that is not a JSON object (a multipart upload) is bounded by its bytes.
 */
export function requestTokenBound(body: Buffer | null, model: string | null = null): RequestTokenBound {
  if (!body) return { input: 0, output: 0 };
  let b: unknown;
  try {
    b = JSON.parse(body.toString('utf8'));
  } catch {
    return { input: body.length, output: 0 };
  }
  if (b === null || typeof b !== 'object' || Array.isArray(b)) return { input: body.length, output: 0 };
  const o = b as Record<string, unknown>;
  const bound = boundTokens(o, '', 0, 0, imagePartTokens(model ?? (typeof o.model === 'string' ? o.model : null)));
  // The output limit it declares and the answers it asks for, read as the reservations read them (core/estimate.ts).
  const output = (declaredMaxOutput(o) ?? 0) * answersAsked(o);
  // Input it names but does not carry (a document by URL, a file by id, a stored response) has no bound: a 222-byte
  // request naming a 300-page PDF was taken for one that fit, and cooled every key of the pool (an outside review).
  return { input: bound.byReference ? Number.POSITIVE_INFINITY : bound.input, output };
}

const header = (h: Record<string, string | string[] | undefined>, name: string): number | null => {
  const v = h[name];
  const s = Array.isArray(v) ? v[0] : v;
  if (typeof s !== 'string' || !/^\s*\d+\s*$/.test(s)) return null;
  return Number(s);
};

/**
 * Whether a request of at most `bound` tokens may alone exceed a token limit the 429 names (in its message or its
 * headers): then it is not taken as the key's limit reached. The bound is generous on purpose: a request that might
 * be too large for the limit is given the benefit of the doubt (its client gets the 429, no key is cooled); the next
 * request that fits well within the limit and still gets a 429 cools the key.
 */
function mayAloneExceed(h: Record<string, string | string[] | undefined>, message: string, bound: RequestTokenBound): boolean {
  const limits: Array<[number | null, number]> = [
    [header(h, 'x-ratelimit-limit-tokens'), bound.input + bound.output],
    [header(h, 'anthropic-ratelimit-tokens-limit'), bound.input + bound.output],
    [header(h, 'anthropic-ratelimit-input-tokens-limit'), bound.input],
    [header(h, 'anthropic-ratelimit-output-tokens-limit'), bound.output],
  ];
  for (const m of message.matchAll(ANTHROPIC_LIMIT)) {
    const kind = m[2]?.trim();
    limits.push([toNumber(m[1]), kind === 'input' ? bound.input : kind === 'output' ? bound.output : bound.input + bound.output]);
  }
  for (const [limit, need] of limits) if (limit !== null && need >= limit) return true;
  return false;
}

/** Whether a header says no request is left in the window (`x-ratelimit-remaining-requests: 0` and the like). */
function requestsExhausted(h: Record<string, string | string[] | undefined>): boolean {
  return header(h, 'x-ratelimit-remaining-requests') === 0 || header(h, 'anthropic-ratelimit-requests-remaining') === 0;
}

/**
 * What a provider's 429 is about (RateLimitVerdict), from its body and headers and the request that got it (`sent`,
 * the body as sent). In order: OpenAI's `insufficient_quota` (its `code` or `type`, never its words, which may quote
 * what the client sent) is the account's quota; OpenAI's own count ("Limit L, Requested R") decides by R > L; a
 * long-context refusal is the request's; a window with no request left is the key's limit; a request that may alone
 * be as large as a token limit named is the request's (requestTokenBound, its images at `model`'s allowance, else the
 * body's model's); anything else is the key's limit.
 */
export function judgeRateLimit(h: Record<string, string | string[] | undefined>, body: string, sent: Buffer | null, model: string | null = null): RateLimitVerdict {
  const error = providerError(body);
  if (error && (error.code === 'insufficient_quota' || error.type === 'insufficient_quota')) return 'quota';
  const message = error?.message.slice(0, 4096) ?? '';
  let counted: RegExpMatchArray | null = null;
  for (const m of message.matchAll(OPENAI_COUNT)) counted = m;
  if (counted) return toNumber(counted[2]) > toNumber(counted[1]) ? 'request' : 'limit';
  if (LONG_CONTEXT.test(message)) return 'request';
  if (requestsExhausted(h)) return 'limit';
  return mayAloneExceed(h, message, requestTokenBound(sent, model)) ? 'request' : 'limit';
}
