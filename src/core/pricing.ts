// Model prices (USD) and the cost of a request in integer nano-dollars (1e-9 USD), so that sums are exact.
// A model is priced only by its own entry or, for a dated snapshot of it, by its base model's entry: never by a
// shorter model that happens to be a prefix (o1-pro is not o1). An unpriced model is no free model: the gateway
// refuses it to keys and projects with a spend limit (see core/metering-plan.ts and docs/metering.md).
// A model may also carry the rates of OpenAI's priority and flex processing tiers: a request is billed at the rates of
// the tier its answer names (else the one it asked for), and reserved at the rates of the tier it asks for.
// A Claude model may carry the multiple Anthropic bills its fast mode at (`fast`): a request is billed at it when its
// answer says it ran fast (`usage.speed`), and reserved at it when it asks for fast mode.
// The web searches a provider runs for a request (Anthropic's `usage.server_tool_use.web_search_requests`) are billed
// per search apart from tokens, at the price's `web_search`; a price without one leaves them unpriced, never free.

/** The price of one model. Token rates are USD per 1M tokens; the other dimensions are named by their unit. */
export interface ModelPrice {
  /** Input tokens (text; audio and image tokens too when they have no rate of their own). */
  input?: number;
  /** Cached input tokens (OpenAI's cached input, Anthropic's cache reads); `input` when absent. */
  cached_input?: number;
  /** Input tokens written to Anthropic's prompt cache with the default 5-minute lifetime; `input` when absent. */
  cache_write_input?: number;
  /** Input tokens written to Anthropic's prompt cache with a 1-hour lifetime; `cache_write_input` when absent. */
  cache_write_1h_input?: number;
  /** Output tokens (text); `image_output` when absent (image models bill every output token as an image token). */
  output?: number;
  /** Audio input tokens (audio chat models, transcription models). */
  audio_input?: number;
  /** Audio output tokens. */
  audio_output?: number;
  /** Image input tokens (GPT Image models). */
  image_input?: number;
  /** Image output tokens (GPT Image models). */
  image_output?: number;
  /**
   * A long-context tier (OpenAI's GPT-5.4 and later, Anthropic's Sonnet 4 and 4.5, Haiku 5.5's long prompts): a request
   * with more than `above_input_tokens` input tokens (cache reads and writes included) is priced at these rates for
   * all its tokens (input, cached input, cache writes and output).
   */
  long_context?: {
    above_input_tokens: number;
    input: number;
    cached_input?: number;
    output?: number;
    cache_write_input?: number;
    cache_write_1h_input?: number;
  };
  /** USD per image, by quality then size (DALL·E: `standard`/`hd`, `1024x1024`, …). */
  images?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** USD per 1M characters of input text (tts-1, tts-1-hd). */
  characters?: number;
  /** USD per minute of audio, billed by the second (whisper-1). */
  minutes?: number;
  /** Not a price: the most output tokens the model produces (core/model-limits.ts), reserved under a hard spend cap. */
  max_output_tokens?: number;
  /** Not a price: the most input tokens the model reads (core/model-limits.ts), reserved under a hard spend cap for input by reference. */
  max_input_tokens?: number;
  /** OpenAI's priority processing (`service_tier: "priority"`, or `"fast"`, which OpenAI serves and names as priority). */
  priority?: TierRates;
  /** OpenAI's flex processing (`service_tier: "flex"`). */
  flex?: TierRates;
  /**
   * Anthropic's fast mode (`speed: "fast"`): what every rate that applies is multiplied by when the answer says it ran
   * fast. Anthropic prices fast mode as a multiple of the model's standard rates across the whole context window, with
   * the prompt-caching multipliers on top (cache reads 0.1×, writes 1.25× and 2× of the fast input rate): the same as
   * multiplying each rate. Absent: the model has no fast rates here.
   */
  fast?: number;
  /**
   * USD per 1,000 web searches the provider runs for a request (Anthropic's web search tool, $10 per 1,000, reported as
   * `usage.server_tool_use.web_search_requests`), billed apart from the tokens their results bring in. Absent: the
   * searches have no price here, and a request that ran any is counted as unpriced.
   */
  web_search?: number;
}

/**
 * The token rates of a service tier, USD per 1M tokens. They replace the model's input, cached input and output rates
 * (cache writes are billed at the tier's input rate); audio and image tokens keep the model's own rates, as no tier
 * prices them apart. Without a `long_context` of its own, a long request under a tier is billed at whichever is dearer,
 * rate by rate, of the tier's rates and the model's long-context ones: OpenAI publishes no long-context tier rates for
 * most models, and a tier is never billed below the standard long-context rate.
 */
export interface TierRates {
  input: number;
  /** `input` when absent. */
  cached_input?: number;
  output: number;
  long_context?: {
    above_input_tokens: number;
    input: number;
    /** The tier's long-context `input` when absent. */
    cached_input?: number;
    /** The tier's `output` when absent. */
    output?: number;
  };
}

export type PriceTable = Readonly<Record<string, ModelPrice>>;

export { DEFAULT_PRICES } from './price-list.js';

/**
 * The base model of a dated snapshot id, or null when the id names no snapshot. OpenAI dates snapshots with a last
 * `-YYYY-MM-DD` (gpt-4o-2024-08-06, o1-pro-2025-03-19) or, for older models, `-MMDD` (gpt-4-0613,
 * gpt-3.5-turbo-0125); Anthropic with `-YYYYMMDD` (claude-sonnet-4-5-20250929). The date must be a plausible calendar
 * date (month 01–12, day 01–31).
 */
export function snapshotBase(model: string): string | null {
  const m = /^(.+?)-(?:(20\d\d)-(\d\d)-(\d\d)|20\d\d(\d\d)(\d\d)|(\d\d)(\d\d))$/.exec(model);
  if (!m) return null;
  const month = Number(m[3] ?? m[5] ?? m[7]);
  const day = Number(m[4] ?? m[6] ?? m[8]);
  if (month < 1 || month > 12 || day < 1 || day > 31) return null;
  return m[1];
}

/** The price of a model: its own entry, else its base model's when it is a dated snapshot of it; null otherwise. */
export function priceFor(prices: PriceTable, model: string): ModelPrice | null {
  if (Object.hasOwn(prices, model)) return prices[model];
  const base = snapshotBase(model);
  return base !== null && Object.hasOwn(prices, base) ? prices[base] : null;
}

/**
 * USD per 1M units → pico-dollars per unit: exact for rates with up to 6 decimals per 1M, so that flex's cached rates
 * ($0.0025, $0.0375 per 1M: fractions of a nano-dollar per token) are billed as priced, not rounded up per token.
 */
const perToken = (usdPerMillion: number | undefined) => Math.round((usdPerMillion ?? 0) * 1e6);

/** Token counts of a request; the detail counts are parts of `input` and `output`, when the upstream reports them. */
export interface TokenCounts {
  input: number;
  /** Input tokens read from a prompt cache (OpenAI's cached tokens, Anthropic's cache reads). */
  cached: number;
  output: number;
  /** Input tokens written to Anthropic's prompt cache: with the 5-minute lifetime, and with the 1-hour one. */
  cacheWrite?: number;
  cacheWrite1h?: number;
  audioInput?: number;
  imageInput?: number;
  audioOutput?: number;
  imageOutput?: number;
  /**
   * Set when the usage these counts came from named no input at all (no `prompt_tokens`, `input_tokens` or cache
   * counts: an Anthropic-compatible stream whose message_start carried no usage): `input` is then 0 for want of a count,
   * not the provider's word, and the gateway counts the prompt itself (http/gateway/token-fallback.ts).
   */
  inputUnnamed?: true;
  /**
   * Set when a usage by OpenAI's chat names (`prompt_tokens`) named no output (`completion_tokens` missing or null):
   * `output` is then 0 for want of a count, and the gateway counts what the answer delivered (token-fallback.ts).
   */
  outputUnnamed?: true;
  /**
   * Web searches the provider ran for the request, which it bills per search beside the tokens (Anthropic's
   * `usage.server_tool_use.web_search_requests`; a stream's message_delta has the total). Not tokens: no limit on
   * tokens counts them.
   */
  webSearches?: number;
}

/** Whether a price can bill tokens (chat, completions, responses, embeddings). */
export function pricesTokens(price: ModelPrice | null): price is ModelPrice {
  return price !== null && (price.input !== undefined || price.output !== undefined || price.image_output !== undefined);
}

/**
 * Whether a price bills tokens at nothing, at every rate it has (a tier's and long-context ones included): the built-in
 * echo model, a local model priced 0. Such a model costs nothing at any service tier or speed, whose rates are
 * multiples of its own or its price's own, so a tier it has no rates for is no reason to keep it from a budget.
 */
export function isFreeOfCharge(price: ModelPrice | null): boolean {
  return pricesTokens(price) && allZero(price, 0);
}

const NOT_RATES = new Set(['max_output_tokens', 'max_input_tokens', 'above_input_tokens', 'fast']);

/** Whether a price has a price for every web search a request's counts name (none named: nothing to price). */
export function pricesWebSearches(price: ModelPrice | null, tokens: TokenCounts): boolean {
  return !tokens.webSearches || price?.web_search !== undefined;
}

/**
 * What a request's web searches cost, in nano-dollars: `web_search` (USD per 1,000) per search, at no service tier's or
 * speed's multiple (Anthropic prices search apart from the model's rates); 0 without a price for them.
 */
export function webSearchNanoUsd(price: ModelPrice | null, tokens: TokenCounts): number {
  if (!tokens.webSearches || price?.web_search === undefined) return 0;
  // USD per 1,000 → pico-dollars per search: exact to nine decimals per 1,000, rounded once with the whole sum.
  return Math.round((tokens.webSearches * Math.round(price.web_search * 1e9)) / 1000);
}

function allZero(v: unknown, depth: number): boolean {
  if (typeof v === 'number') return v === 0;
  if (v === null || typeof v !== 'object' || depth > 4) return false;
  for (const [name, x] of Object.entries(v)) {
    if (x === undefined || NOT_RATES.has(name)) continue;
    if (!allZero(x, depth + 1)) return false;
  }
  return true;
}

/**
 * The rates of a service tier, as a request asks for it or an answer names it: `priority` (and `fast`, which OpenAI
 * serves and names as priority) and `flex`, when the price has them; null for every other tier, the standard
 * (`default`, `auto`) included, and for a tier the price has no rates for.
 */
export function tierRates(price: ModelPrice, tier: string | null): TierRates | null {
  if (tier === 'priority' || tier === 'fast') return price.priority ?? null;
  return tier === 'flex' ? (price.flex ?? null) : null;
}

/**
 * What a price's rates are multiplied by at an Anthropic `speed` (as an answer names it, or a request asks for it): the
 * price's `fast` multiple for `fast`, when it has one; 1 for every other speed, and for a price without fast rates.
 */
export function speedMultiple(price: ModelPrice, speed: string | null): number {
  return speed === 'fast' ? (price.fast ?? 1) : 1;
}

/** Whether a price has the rates of an Anthropic `speed`: every speed but `fast`, and `fast` when it has fast rates. */
export function pricesSpeed(price: ModelPrice, speed: string | null): boolean {
  return speed !== 'fast' || price.fast !== undefined;
}

/** A request's tokens as it is billed: disjoint parts of its input and of its output, each billed at a rate of its own. */
export interface TokenParts {
  /** Input read from a prompt cache. */
  cached: number;
  /** Input written to a prompt cache with the 5-minute lifetime, and with the 1-hour one. */
  cacheWrite: number;
  cacheWrite1h: number;
  /** Uncached audio and image input. */
  audioInput: number;
  imageInput: number;
  /** The rest of the input: uncached text. */
  textInput: number;
  audioOutput: number;
  imageOutput: number;
  /** The rest of the output: text (reasoning included). */
  textOutput: number;
}

/**
 * The parts of a request's tokens, as costNanoUsd bills them: cached, cache-write (5 minutes, 1 hour), audio and image
 * input are taken from `input` in that order, each no more than what is left of it; audio and image output from
 * `output`; the rest is text. So a usage whose details add up to more than its total is never billed twice.
 */
export function tokenParts(tokens: TokenCounts): TokenParts {
  const cached = Math.min(tokens.cached, tokens.input);
  const cacheWrite = Math.min(tokens.cacheWrite ?? 0, tokens.input - cached);
  const cacheWrite1h = Math.min(tokens.cacheWrite1h ?? 0, tokens.input - cached - cacheWrite);
  const audioInput = Math.min(tokens.audioInput ?? 0, tokens.input - cached - cacheWrite - cacheWrite1h);
  const imageInput = Math.min(tokens.imageInput ?? 0, tokens.input - cached - cacheWrite - cacheWrite1h - audioInput);
  const audioOutput = Math.min(tokens.audioOutput ?? 0, tokens.output);
  const imageOutput = Math.min(tokens.imageOutput ?? 0, tokens.output - audioOutput);
  return {
    cached,
    cacheWrite,
    cacheWrite1h,
    audioInput,
    imageInput,
    textInput: tokens.input - cached - cacheWrite - cacheWrite1h - audioInput - imageInput,
    audioOutput,
    imageOutput,
    textOutput: tokens.output - audioOutput - imageOutput,
  };
}

/**
 * Cost of a request's tokens in integer nano-dollars, at the rates of `tier` (see tierRates; the standard rates when it
 * has none) and of Anthropic's `speed` (see speedMultiple), and of the web searches its counts name (webSearchNanoUsd).
 * Cached, cache-write, audio and image input tokens are parts of `input`, audio and image output tokens parts of
 * `output`; each part is billed at its own rate (the text rate when it has none). An unpriced model costs 0 here:
 * whether that is allowed is decided before forwarding.
 */
export function costNanoUsd(price: ModelPrice | null, tokens: TokenCounts, tier: string | null = null, speed: string | null = null): number {
  if (!price) return 0;
  const pico = billedPico(price, tokens, tier, null);
  // Fast mode multiplies every rate alike, so the sum: rounded once, as the rates are.
  return Math.round((speed === null ? pico : pico * speedMultiple(price, speed)) / 1000) + webSearchNanoUsd(price, tokens);
}

/**
 * The cost of a request's tokens in pico-dollars at the standard speed (see costNanoUsd), and, into `lines` when given,
 * its three line items: input (uncached text, cache writes, uncached audio and image input), cached input, and
 * output (text, audio and image), each part at its own rate. The request as a whole decides the rates (its whole
 * input the long-context threshold).
 */
function billedPico(price: ModelPrice, tokens: TokenCounts, tier: string | null, lines: [number, number, number] | null): number {
  const t = tier === null ? null : tierRates(price, tier);
  const long = price.long_context && tokens.input > price.long_context.above_input_tokens ? price.long_context : null;
  let inputRate: number | undefined;
  let cachedRate: number | undefined;
  let writeRate: number | undefined;
  let write1hRate: number | undefined;
  let outputRate: number | undefined;
  if (t === null) {
    inputRate = long ? long.input : price.input;
    cachedRate = long ? (long.cached_input ?? long.input) : (price.cached_input ?? price.input);
    writeRate = long ? (long.cache_write_input ?? long.input) : (price.cache_write_input ?? price.input);
    write1hRate = long ? (long.cache_write_1h_input ?? writeRate) : (price.cache_write_1h_input ?? writeRate);
    outputRate = long ? long.output : (price.output ?? price.image_output);
  } else {
    const tierLong = t.long_context && tokens.input > t.long_context.above_input_tokens ? t.long_context : null;
    inputRate = tierLong ? tierLong.input : t.input;
    cachedRate = tierLong ? (tierLong.cached_input ?? tierLong.input) : (t.cached_input ?? t.input);
    outputRate = tierLong ? (tierLong.output ?? t.output) : t.output;
    if (long && !t.long_context) {
      // The model's long-context rates, where the tier has none of its own: whichever is dearer (see TierRates).
      inputRate = Math.max(inputRate, long.input);
      cachedRate = Math.max(cachedRate, long.cached_input ?? long.input);
      outputRate = Math.max(outputRate, long.output ?? 0);
    }
    // No tier prices cache writes apart (OpenAI has none): at the tier's input rate.
    writeRate = inputRate;
    write1hRate = inputRate;
  }
  const p = tokenParts(tokens);
  const input =
    p.textInput * perToken(inputRate) +
    p.cacheWrite * perToken(writeRate) +
    p.cacheWrite1h * perToken(write1hRate) +
    p.audioInput * perToken(price.audio_input ?? inputRate) +
    p.imageInput * perToken(price.image_input ?? inputRate);
  const cached = p.cached * perToken(cachedRate);
  const output = p.textOutput * perToken(outputRate) + p.audioOutput * perToken(price.audio_output ?? outputRate) + p.imageOutput * perToken(price.image_output ?? outputRate);
  if (lines !== null) {
    lines[0] = input;
    lines[1] = cached;
    lines[2] = output;
  }
  // Whole pico-dollars (rates are whole pico-dollars per token) well below 2^53: the sum is exact in any order.
  return input + cached + output;
}

/**
 * A request's token cost (costNanoUsd at the standard speed, its web searches left out: webSearchNanoUsd) as the Costs
 * API's line items, in nano-dollars: input (uncached text, cache writes, uncached audio and image input, each at its
 * rate), cached input, output (text, audio, image). Each is rounded where it ends in the running sum, so the three add
 * up to that cost exactly.
 */
export function costLineItems(price: ModelPrice | null, tokens: TokenCounts, tier: string | null = null): [input: number, cached: number, output: number] {
  if (!price) return [0, 0, 0];
  const lines: [number, number, number] = [0, 0, 0];
  const total = Math.round(billedPico(price, tokens, tier, lines) / 1000);
  const input = Math.round(lines[0] / 1000);
  const cached = Math.round((lines[0] + lines[1]) / 1000) - input;
  return [input, cached, total - input - cached];
}

/**
 * What a request bounded at `input` and `output` tokens may cost at most (a hard spend cap's reservation), at the
 * rates of the tier it asks for (`tier`, see tierRates) and of the Anthropic speed it asks for (`speed`): input at the
 * input rate or, when the request asks for prompt caching, at whichever of the input and cache-write rates (5 minutes,
 * 1 hour) is dearest, since Anthropic bills a prompt written to its cache as writes (1.25× and 2× input for Claude).
 */
export function boundCostNanoUsd(
  price: ModelPrice | null,
  bound: { input: number; output: number; cacheWrites: boolean; byReference?: boolean },
  tier: string | null = null,
  speed: string | null = null,
): number {
  const plain = costNanoUsd(price, { input: bound.input, cached: 0, output: bound.output }, tier, speed);
  // Output at the dearest rate the model bills it at: a model with audio or image output rates may answer in audio or
  // images, billed at those (an audio model's $80 per million against its $10 text rate let a $10 cap pass $79).
  const outputs: Array<Partial<TokenCounts>> = [];
  if (price?.audio_output !== undefined) outputs.push({ audioOutput: bound.output });
  if (price?.image_output !== undefined) outputs.push({ imageOutput: bound.output });
  // Input named by reference (a spoken answer handed back by its id, a file) may be audio or image input, billed at
  // those rates: reserved at the dearest (an audio model's earlier answers, 120,000 audio tokens, were reserved at its
  // text rate: $0.32 against $4.80 billed).
  const referenced: Array<Partial<TokenCounts>> = [];
  if (bound.byReference && price?.audio_input !== undefined) referenced.push({ audioInput: bound.input });
  if (bound.byReference && price?.image_input !== undefined) referenced.push({ imageInput: bound.input });
  if (!bound.cacheWrites && outputs.length === 0 && referenced.length === 0) return plain;
  const inputs: Array<Partial<TokenCounts>> = [{}, ...referenced];
  if (bound.cacheWrites) inputs.push({ cacheWrite: bound.input }, { cacheWrite1h: bound.input });
  outputs.push({});
  let most = plain;
  for (const i of inputs) for (const o of outputs) most = Math.max(most, costNanoUsd(price, { input: bound.input, cached: 0, output: bound.output, ...i, ...o }, tier, speed));
  return most;
}

/** Nano-dollars per unit of a USD amount per unit (an image, a second). */
export function usdToNano(usd: number): number {
  return Math.round(usd * 1e9);
}

/** Nano-dollars as a USD number (for display and the usage API). */
export function nanoToUsd(nano: number): number {
  return nano / 1e9;
}

/**
 * Nano-dollars as USD text with six decimals: `(nano / 1e9).toFixed(6)`, the same text, by integer arithmetic where
 * that is exact (a whole number of nano-dollars, below 10^15, not halfway between two micro-dollars). A limited key's
 * remaining budget is written so on every answer, and toFixed cost ~0.35 µs a call under load (a profile at 32
 * connections: the costliest line of the limits path).
 */
export function nanoToUsdText6(nano: number): string {
  if (!Number.isSafeInteger(nano) || nano < 0 || nano >= 1e15 || nano % 1000 === 500) return (nano / 1e9).toFixed(6);
  const micro = Math.round(nano / 1000);
  const whole = Math.floor(micro / 1e6);
  const frac = micro - whole * 1e6;
  return `${whole}.${frac < 100_000 ? String(frac + 1_000_000).slice(1) : frac}`;
}
