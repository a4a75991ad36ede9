// What a request may cost before it runs: TPM reservations and budget reservations are settled to the real usage
// afterwards. Input is estimated from text length (≈4 characters per token, erring high for code and JSON), output
// from max_tokens / max_completion_tokens / max_output_tokens, else a configured default.

export interface TokenEstimate {
  input: number;
  output: number;
}

// The walks below run on every request of a key with TPM or a budget: plain loops over the parsed JSON (for…in sees
// exactly the own keys of a JSON.parse object), not Object.entries and reduce, which allocate for every object.

// Depth-capped: a body nested 10,000 deep must not overflow the stack (what lies deeper is not prompt text anyway).
function textLength(v: unknown, depth = 0): number {
  if (typeof v === 'string') return v.length;
  if (depth > 32) return 0;
  let n = 0;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) n += textLength(v[i], depth + 1);
    return n;
  }
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k in o) if (k !== 'image_url') n += textLength(o[k], depth + 1);
  }
  return n;
}

/**
 * How many answers a request has generated and billed: `n`, or the legacy completions' `best_of` (its candidates are
 * generated and billed, though only `n` come back), whichever is more; a count sent as a numeric string counts too
 * (OpenAI refuses one, but OpenAI-compatible servers that coerce types run it). At most 128.
 */
function answersAsked(body: Record<string, unknown>): number {
  let most = 1;
  for (const v of [body.n, body.best_of]) {
    const count = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : 1;
    if (count > most) most = count;
  }
  return Math.min(Math.ceil(most), 128);
}

/**
 * The output limit a body declares: the largest of max_completion_tokens, max_tokens and max_output_tokens, so that a
 * body setting two of them differently is reserved for the one an upstream may honour (an OpenAI-compatible server
 * that reads only max_tokens); undefined when none is a positive number.
 */
function declaredMaxOutput(body: Record<string, unknown>): number | undefined {
  let most: number | undefined;
  for (const v of [body.max_completion_tokens, body.max_tokens, body.max_output_tokens]) {
    if (typeof v === 'number' && v > 0 && (most === undefined || v > most)) most = v;
  }
  return most;
}

/** Upper-leaning token estimate of a request body. */
export function estimateTokens(body: Record<string, unknown> | null, endpoint: string, defaultMaxOutput: number): TokenEstimate {
  if (!body) return { input: 0, output: 0 };
  const source = body.messages ?? body.input ?? body.prompt ?? '';
  // Anthropic's Messages API keeps the system prompt beside the messages.
  const chars = textLength(source) + (body.system === undefined ? 0 : textLength(body.system));
  const input = Math.ceil(chars / 4) + (Array.isArray(body.messages) ? 3 * body.messages.length + 3 : 0);
  if (endpoint === '/embeddings') return { input, output: 0 };
  const declared = declaredMaxOutput(body);
  const n = answersAsked(body);
  return { input, output: (declared ?? defaultMaxOutput) * n };
}

/** Input tokens reserved for an image part under a hard cap (a high-detail image costs any current model less). */
export const IMAGE_PART_TOKENS = 6_000;

/** The most a request's tokens may be: boundTokens. */
export interface TokenBound extends TokenEstimate {
  /**
   * Whether the body asks for prompt caching (Anthropic's `cache_control`, on a block, a tool, the system prompt or
   * the whole request): its input may then be billed as cache writes, at up to twice the input rate.
   */
  cacheWrites: boolean;
}

/** What a walk of the body noticed besides its size. */
interface Walk {
  cacheWrites: boolean;
}

/**
 * Input tokens of a body, counted so that the real count cannot be higher: every token of OpenAI's byte-level
 * tokenizers is at least one byte, so a text's UTF-8 length bounds its tokens. Every string and key of the body is
 * counted (messages, instructions, tools and their schemas, …), an image part as IMAGE_PART_TOKENS whatever its
 * bytes, inline files and audio as their (base64) bytes.
 */
function inputBound(v: unknown, key: string, depth: number, walk: Walk): number {
  if (typeof v === 'string') {
    if (key === 'image_url' || (key === 'url' && v.startsWith('data:image/'))) return IMAGE_PART_TOKENS;
    return Buffer.byteLength(v, 'utf8') + 1;
  }
  if (v === null || typeof v !== 'object') return 1;
  // Deeper than any prompt nests: counted whole (the body was parsed at this depth, so it serialises at it too).
  if (depth > 64) {
    const text = JSON.stringify(v);
    if (text.includes('"cache_control"')) walk.cacheWrites = true;
    return Buffer.byteLength(text, 'utf8');
  }
  if (Array.isArray(v)) {
    let n = 1;
    for (let i = 0; i < v.length; i++) n += inputBound(v[i], key, depth + 1, walk);
    return n;
  }
  return objectBound(v as Record<string, unknown>, depth, false, walk);
}

/** inputBound of an object; `top` leaves out the body's members that are not input (model, stream, stream_options). */
function objectBound(o: Record<string, unknown>, depth: number, top: boolean, walk: Walk): number {
  // An image part: one allowance, not its bytes (a 2 MB data URL is still one image). Anthropic's image blocks too.
  if (o.type === 'image_url' || o.type === 'input_image' || (o.type === 'image' && o.source !== null && typeof o.source === 'object')) {
    if (o.cache_control !== undefined && o.cache_control !== null) walk.cacheWrites = true;
    return IMAGE_PART_TOKENS;
  }
  let n = 1;
  for (const k in o) {
    if (top && (k === 'model' || k === 'stream' || k === 'stream_options')) continue;
    if (k === 'cache_control' && o[k] !== null && o[k] !== undefined) walk.cacheWrites = true;
    n += Buffer.byteLength(k, 'utf8') + inputBound(o[k], k, depth + 1, walk);
  }
  return n;
}

/**
 * What a request may cost at most, in tokens, for a budget with a hard cap: input bounded from above (inputBound),
 * and output the declared max_tokens / max_completion_tokens / max_output_tokens, else the model's largest answer,
 * times `n`; and whether that input may be billed as cache writes. Only input the body does not carry (files named by
 * id, stored conversation items) can exceed it.
 */
export function boundTokens(body: Record<string, unknown> | null, endpoint: string, modelMaxOutput: number): TokenBound {
  if (!body) return { input: 0, output: 0, cacheWrites: false };
  const walk: Walk = { cacheWrites: false };
  const input = objectBound(body, 0, true, walk);
  if (endpoint === '/embeddings') return { input, output: 0, cacheWrites: walk.cacheWrites };
  const declared = declaredMaxOutput(body);
  const n = answersAsked(body);
  return { input, output: (declared ?? modelMaxOutput) * n, cacheWrites: walk.cacheWrites };
}
