// Model prices (USD) and the cost of a request in integer nano-dollars (1e-9 USD), so that sums are exact.
// A model is priced only by its own entry or, for a dated snapshot of it, by its base model's entry: never by a
// shorter model that happens to be a prefix (o1-pro is not o1). An unpriced model is no free model: the gateway
// refuses it to keys and projects with a spend limit (see core/metering-plan.ts and docs/metering.md).
// A model may also carry the rates of OpenAI's priority and flex processing tiers: a request is billed at the rates of
// the tier its answer names (else the one it asked for), and reserved at the rates of the tier it asks for.
// A Claude model may carry the multiple Anthropic bills its fast mode at (`fast`): a request is billed at it when its
// answer says it ran fast (`usage.speed`), and reserved at it when it asks for fast mode.

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

const LONG_272K = 272_000;

/** An Anthropic model's price: cache writes at 1.25× input (5 minutes) and 2× input (1 hour), as Anthropic prices them. */
const claude = (input: number, output: number, cacheRead: number, long?: { above: number; input: number; output: number; cacheRead: number }): ModelPrice => ({
  input,
  cached_input: cacheRead,
  cache_write_input: input * 1.25,
  cache_write_1h_input: input * 2,
  output,
  ...(long
    ? { long_context: { above_input_tokens: long.above, input: long.input, cached_input: long.cacheRead, output: long.output, cache_write_input: long.input * 1.25, cache_write_1h_input: long.input * 2 } }
    : {}),
});

/**
 * Anthropic's public list prices (https://platform.claude.com/docs/en/about-claude/pricing, "Model pricing"; the
 * models' overview pages for the 5.x generation), read on 2026-12-04: base input, cache hits (`cached_input`), 5-minute
 * and 1-hour cache writes, output. Sonnet 4 and 4.5 charge their long-context rates above 200K input tokens, Haiku 5.5
 * above 100K (cache reads and writes counted); Sonnet 4.6 and later charge none. Dated ids (`-YYYYMMDD`) are priced by
 * their base id (snapshotBase). Fast mode (`speed: "fast"`) is priced at a multiple of the model's rates, read on
 * 2026-12-06: 6× for Opus 4.6 and 4.7 ($30/$150 per MTok: the fast mode page,
 * https://platform.claude.com/docs/en/build-with-claude/fast-mode, "Pricing"), 2× for Opus 4.8 and Opus 5 ($10/$50: not
 * on the versions of Anthropic's pages at hand, but as OpenRouter, Vercel and LiteLLM list them). Opus 5.5, Fable 5.2
 * and Mythos 5.2 run fast mode too, but Anthropic's pages give no rate for it (resellers list Opus 5.5's at $8/$40, 2×,
 * which is no list price): without one, a fast request to them is refused to keys with a spend limit, and a config's
 * `fast` prices it. Batch, the `inference_geo` uplift and server tools' per-use fees (web search, code execution) are
 * not modelled.
 */
const ANTHROPIC_PRICES: PriceTable = {
  'claude-fable-5-2': claude(8, 40, 0.2),
  'claude-mythos-5-2': claude(8, 40, 0.2),
  'claude-fable-5-1': claude(10, 50, 0.25),
  'claude-mythos-5-1': claude(10, 50, 0.25),
  'claude-fable-5': claude(10, 50, 1),
  'claude-mythos-5': claude(10, 50, 1),
  'claude-opus-5-5': claude(4, 20, 0.2),
  'claude-opus-5': { ...claude(5, 25, 0.5), fast: 2 },
  'claude-sonnet-5-5': claude(2, 10, 0.1),
  'claude-sonnet-5': claude(2, 10, 0.2),
  'claude-haiku-5-5': claude(0.1, 0.5, 0.01, { above: 100_000, input: 0.5, output: 2.5, cacheRead: 0.05 }),
  'claude-opus-4-8': { ...claude(5, 25, 0.5), fast: 2 },
  'claude-opus-4-7': { ...claude(5, 25, 0.5), fast: 6 },
  'claude-opus-4-6': { ...claude(5, 25, 0.5), fast: 6 },
  'claude-opus-4-5': claude(5, 25, 0.5),
  'claude-opus-4-1': claude(15, 75, 1.5),
  'claude-opus-4-0': claude(15, 75, 1.5),
  'claude-opus-4': claude(15, 75, 1.5),
  'claude-sonnet-4-6': claude(3, 15, 0.3),
  'claude-sonnet-4-5': claude(3, 15, 0.3, { above: 200_000, input: 6, output: 22.5, cacheRead: 0.6 }),
  'claude-sonnet-4-0': claude(3, 15, 0.3, { above: 200_000, input: 6, output: 22.5, cacheRead: 0.6 }),
  'claude-sonnet-4': claude(3, 15, 0.3, { above: 200_000, input: 6, output: 22.5, cacheRead: 0.6 }),
  'claude-3-7-sonnet': claude(3, 15, 0.3),
  'claude-3-7-sonnet-latest': claude(3, 15, 0.3),
  'claude-haiku-4-5': claude(1, 5, 0.1),
  'claude-3-5-haiku': claude(0.8, 4, 0.08),
  'claude-3-5-haiku-latest': claude(0.8, 4, 0.08),
  'claude-3-opus': claude(15, 75, 1.5),
  'claude-3-opus-latest': claude(15, 75, 1.5),
  'claude-3-haiku': { input: 0.25, cached_input: 0.03, cache_write_input: 0.3, cache_write_1h_input: 0.5, output: 1.25 },
};

/** A tier's rates: input, cached input (the tier's input when null) and output, USD per 1M tokens. */
const tier = (input: number, cached: number | null, output: number): TierRates => (cached === null ? { input, output } : { input, cached_input: cached, output });

/**
 * Public list prices, as published on OpenAI's pricing page (https://developers.openai.com/api/docs/pricing), read on
 * 2026-12-04 through LiteLLM's transcription of it (BerriAI/litellm model_prices_and_context_window.json at 00035b69);
 * the older models that table no longer lists (gpt-4-32k, gpt-4.5-preview, chatgpt-4o-latest, o1-mini, o1-pro,
 * o3-pro) at the prices OpenAI published for them, as public price tables of late 2025 quote them, and the
 * transcription models' audio rates from OpenAI's cookbook. The standard tier's rates, and the priority and flex
 * tiers' (`priority`, `flex`) from the same transcription (its `*_priority` and `*_flex` fields) where it gives them
 * for the model itself; it gives no long-context rates for either tier. Its priority input rate for gpt-5-nano (50×
 * the standard rate, with no priority output or cached rate) is taken for a slip and left out: a priority request to
 * gpt-5-nano is refused to keys with a spend limit. Batch, scale and ultrafast tiers, regional uplifts and per-call
 * tool fees are not modelled. Realtime models are left out: the Realtime API (WebSocket, WebRTC) is not metered by
 * Tollgate and is refused to keys with a spend limit. Every entry is overridable, and `pricing.default` prices what is
 * not here (see gateway-config.ts).
 */
export const DEFAULT_PRICES: PriceTable = {
  // GPT-5 family
  'gpt-5.6': { input: 5, cached_input: 0.5, output: 30, long_context: { above_input_tokens: LONG_272K, input: 10, cached_input: 1, output: 45 }, priority: tier(10, 1, 60), flex: tier(2.5, 0.25, 15) },
  'gpt-5.6-sol': { input: 5, cached_input: 0.5, output: 30, long_context: { above_input_tokens: LONG_272K, input: 10, cached_input: 1, output: 45 }, priority: tier(10, 1, 60), flex: tier(2.5, 0.25, 15) },
  'gpt-5.6-terra': { input: 2.5, cached_input: 0.25, output: 15, long_context: { above_input_tokens: LONG_272K, input: 5, cached_input: 0.5, output: 22.5 }, priority: tier(5, 0.5, 30), flex: tier(1.25, 0.125, 7.5) },
  'gpt-5.6-luna': { input: 1, cached_input: 0.1, output: 6, long_context: { above_input_tokens: LONG_272K, input: 2, cached_input: 0.2, output: 9 }, priority: tier(2, 0.2, 12), flex: tier(0.5, 0.05, 3) },
  'gpt-5.5': { input: 5, cached_input: 0.5, output: 30, long_context: { above_input_tokens: LONG_272K, input: 10, cached_input: 1, output: 45 }, priority: tier(10, 1, 60), flex: tier(2.5, 0.25, 15) },
  'gpt-5.5-pro': { input: 30, cached_input: 3, output: 180, long_context: { above_input_tokens: LONG_272K, input: 60, cached_input: 6, output: 270 }, flex: tier(15, null, 90) },
  'gpt-5.4': { input: 2.5, cached_input: 0.25, output: 15, long_context: { above_input_tokens: LONG_272K, input: 5, cached_input: 0.5, output: 22.5 }, priority: tier(5, 0.5, 30), flex: tier(1.25, 0.13, 7.5) },
  'gpt-5.4-pro': { input: 30, cached_input: 3, output: 180, long_context: { above_input_tokens: LONG_272K, input: 60, cached_input: 6, output: 270 }, flex: tier(15, null, 90) },
  'gpt-5.4-mini': { input: 0.75, cached_input: 0.075, output: 4.5, priority: tier(1.5, 0.15, 9), flex: tier(0.375, 0.0375, 2.25) },
  'gpt-5.4-nano': { input: 0.2, cached_input: 0.02, output: 1.25, flex: tier(0.1, 0.01, 0.625) },
  'gpt-5.3-codex': { input: 1.75, cached_input: 0.175, output: 14, priority: tier(3.5, 0.35, 28) },
  'gpt-5.3-chat-latest': { input: 1.75, cached_input: 0.175, output: 14, priority: tier(3.5, 0.35, 28) },
  'gpt-5.2': { input: 1.75, cached_input: 0.175, output: 14, priority: tier(3.5, 0.35, 28) },
  'gpt-5.2-chat-latest': { input: 1.75, cached_input: 0.175, output: 14, priority: tier(3.5, 0.35, 28) },
  'gpt-5.2-codex': { input: 1.75, cached_input: 0.175, output: 14, priority: tier(3.5, 0.35, 28) },
  'gpt-5.2-pro': { input: 21, output: 168 },
  'gpt-5.1': { input: 1.25, cached_input: 0.125, output: 10, priority: tier(2.5, 0.25, 20) },
  'gpt-5.1-chat-latest': { input: 1.25, cached_input: 0.125, output: 10, priority: tier(2.5, 0.25, 20) },
  'gpt-5.1-codex': { input: 1.25, cached_input: 0.125, output: 10, priority: tier(2.5, 0.25, 20) },
  'gpt-5.1-codex-max': { input: 1.25, cached_input: 0.125, output: 10 },
  'gpt-5.1-codex-mini': { input: 0.25, cached_input: 0.025, output: 2, priority: tier(0.45, 0.045, 3.6) },
  'gpt-5': { input: 1.25, cached_input: 0.125, output: 10, priority: tier(2.5, 0.25, 20), flex: tier(0.625, 0.0625, 5) },
  'gpt-5-chat-latest': { input: 1.25, cached_input: 0.125, output: 10 },
  'gpt-5-codex': { input: 1.25, cached_input: 0.125, output: 10 },
  'gpt-5-pro': { input: 15, output: 120 },
  'gpt-5-mini': { input: 0.25, cached_input: 0.025, output: 2, priority: tier(0.45, 0.045, 3.6), flex: tier(0.125, 0.0125, 1) },
  'gpt-5-nano': { input: 0.05, cached_input: 0.005, output: 0.4, flex: tier(0.025, 0.0025, 0.2) },
  // GPT-4.1, GPT-4.5, GPT-4o
  'gpt-4.1': { input: 2, cached_input: 0.5, output: 8, priority: tier(3.5, 0.875, 14) },
  'gpt-4.1-mini': { input: 0.4, cached_input: 0.1, output: 1.6, priority: tier(0.7, 0.175, 2.8) },
  'gpt-4.1-nano': { input: 0.1, cached_input: 0.025, output: 0.4, priority: tier(0.2, 0.05, 0.8) },
  'gpt-4.5-preview': { input: 75, cached_input: 37.5, output: 150 },
  'gpt-4o': { input: 2.5, cached_input: 1.25, output: 10, priority: tier(4.25, 2.125, 17) },
  // The first gpt-4o snapshot kept its launch price: a snapshot's own entry wins over its base model's.
  'gpt-4o-2024-05-13': { input: 5, output: 15, priority: tier(8.75, null, 26.25) },
  'gpt-4o-mini': { input: 0.15, cached_input: 0.075, output: 0.6, priority: tier(0.25, 0.125, 1) },
  'chatgpt-4o-latest': { input: 5, output: 15 },
  'gpt-4o-audio-preview': { input: 2.5, output: 10, audio_input: 40, audio_output: 80 },
  'gpt-4o-mini-audio-preview': { input: 0.15, output: 0.6, audio_input: 10, audio_output: 20 },
  'gpt-audio': { input: 2.5, output: 10, audio_input: 32, audio_output: 64 },
  'gpt-audio-mini': { input: 0.6, output: 2.4, audio_input: 10, audio_output: 20 },
  // o-series reasoning models
  o1: { input: 15, cached_input: 7.5, output: 60 },
  'o1-pro': { input: 150, output: 600 },
  'o1-preview': { input: 15, cached_input: 7.5, output: 60 },
  'o1-mini': { input: 1.1, cached_input: 0.55, output: 4.4 },
  o3: { input: 2, cached_input: 0.5, output: 8, priority: tier(3.5, 0.875, 14), flex: tier(1, 0.25, 4) },
  'o3-pro': { input: 20, output: 80 },
  'o3-mini': { input: 1.1, cached_input: 0.55, output: 4.4 },
  'o3-deep-research': { input: 10, cached_input: 2.5, output: 40 },
  'o4-mini': { input: 1.1, cached_input: 0.275, output: 4.4, priority: tier(2, 0.5, 8), flex: tier(0.55, 0.1375, 2.2) },
  'o4-mini-deep-research': { input: 2, cached_input: 0.5, output: 8 },
  'codex-mini-latest': { input: 1.5, cached_input: 0.375, output: 6 },
  'computer-use-preview': { input: 3, output: 12 },
  // Older GPT-4 and GPT-3.5 models (-0613 and -0125 snapshots are priced by their base model)
  'gpt-4': { input: 30, output: 60 },
  'gpt-4-32k': { input: 60, output: 120 },
  'gpt-4-turbo': { input: 10, output: 30 },
  'gpt-4-turbo-preview': { input: 10, output: 30 },
  'gpt-4-1106-preview': { input: 10, output: 30 },
  'gpt-4-0125-preview': { input: 10, output: 30 },
  'gpt-4-vision-preview': { input: 10, output: 30 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  'gpt-3.5-turbo-1106': { input: 1, output: 2 },
  'gpt-3.5-turbo-0613': { input: 1.5, output: 2 },
  'gpt-3.5-turbo-0301': { input: 1.5, output: 2 },
  'gpt-3.5-turbo-16k': { input: 3, output: 4 },
  'gpt-3.5-turbo-instruct': { input: 1.5, output: 2 },
  'davinci-002': { input: 2, output: 2 },
  'babbage-002': { input: 0.4, output: 0.4 },
  // Embeddings
  'text-embedding-3-small': { input: 0.02 },
  'text-embedding-3-large': { input: 0.13 },
  'text-embedding-ada-002': { input: 0.1 },
  // Images: GPT Image models by token (text and image input, image output), DALL·E per image
  'gpt-image-2': { input: 5, cached_input: 1.25, output: 10, image_input: 8, image_output: 30 },
  'gpt-image-1.5': { input: 5, cached_input: 1.25, output: 10, image_input: 8, image_output: 32 },
  'gpt-image-1': { input: 5, cached_input: 1.25, image_input: 10, image_output: 40 },
  'gpt-image-1-mini': { input: 2, cached_input: 0.2, image_input: 2.5, image_output: 8 },
  'dall-e-3': {
    images: { standard: { '1024x1024': 0.04, '1024x1792': 0.08, '1792x1024': 0.08 }, hd: { '1024x1024': 0.08, '1024x1792': 0.12, '1792x1024': 0.12 } },
  },
  'dall-e-2': { images: { standard: { '256x256': 0.016, '512x512': 0.018, '1024x1024': 0.02 } } },
  // Audio: speech by character, transcription by the second (whisper) or by token
  'tts-1': { characters: 15 },
  'tts-1-hd': { characters: 30 },
  'whisper-1': { minutes: 0.006 },
  'gpt-4o-transcribe': { input: 2.5, output: 10, audio_input: 6 },
  'gpt-4o-mini-transcribe': { input: 1.25, output: 5, audio_input: 3 },
  // The built-in echo model is free.
  'tollgate-echo': { input: 0, cached_input: 0, output: 0 },
  ...ANTHROPIC_PRICES,
};

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
}

/** Whether a price can bill tokens (chat, completions, responses, embeddings). */
export function pricesTokens(price: ModelPrice | null): price is ModelPrice {
  return price !== null && (price.input !== undefined || price.output !== undefined || price.image_output !== undefined);
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

/**
 * Cost of a request's tokens in integer nano-dollars, at the rates of `tier` (see tierRates; the standard rates when it
 * has none) and of Anthropic's `speed` (see speedMultiple). Cached, cache-write, audio and image input tokens are parts
 * of `input`, audio and image output tokens parts of `output`; each part is billed at its own rate (the text rate when
 * it has none). An unpriced model costs 0 here: whether that is allowed is decided before forwarding.
 */
export function costNanoUsd(price: ModelPrice | null, tokens: TokenCounts, tier: string | null = null, speed: string | null = null): number {
  if (!price) return 0;
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
  const cached = Math.min(tokens.cached, tokens.input);
  const write = Math.min(tokens.cacheWrite ?? 0, tokens.input - cached);
  const write1h = Math.min(tokens.cacheWrite1h ?? 0, tokens.input - cached - write);
  const audioIn = Math.min(tokens.audioInput ?? 0, tokens.input - cached - write - write1h);
  const imageIn = Math.min(tokens.imageInput ?? 0, tokens.input - cached - write - write1h - audioIn);
  const textIn = tokens.input - cached - write - write1h - audioIn - imageIn;
  const audioOut = Math.min(tokens.audioOutput ?? 0, tokens.output);
  const imageOut = Math.min(tokens.imageOutput ?? 0, tokens.output - audioOut);
  const textOut = tokens.output - audioOut - imageOut;
  const pico =
    textIn * perToken(inputRate) +
    cached * perToken(cachedRate) +
    write * perToken(writeRate) +
    write1h * perToken(write1hRate) +
    audioIn * perToken(price.audio_input ?? inputRate) +
    imageIn * perToken(price.image_input ?? inputRate) +
    textOut * perToken(outputRate) +
    audioOut * perToken(price.audio_output ?? outputRate) +
    imageOut * perToken(price.image_output ?? outputRate);
  // Fast mode multiplies every rate alike, so the sum: rounded once, as the rates are.
  return Math.round((speed === null ? pico : pico * speedMultiple(price, speed)) / 1000);
}

/**
 * What a request bounded at `input` and `output` tokens may cost at most (a hard spend cap's reservation), at the
 * rates of the tier it asks for (`tier`, see tierRates) and of the Anthropic speed it asks for (`speed`): input at the
 * input rate or, when the request asks for prompt caching, at whichever of the input and cache-write rates (5 minutes,
 * 1 hour) is dearest, since Anthropic bills a prompt written to its cache as writes (1.25× and 2× input for Claude).
 */
export function boundCostNanoUsd(
  price: ModelPrice | null,
  bound: { input: number; output: number; cacheWrites: boolean },
  tier: string | null = null,
  speed: string | null = null,
): number {
  const plain = costNanoUsd(price, { input: bound.input, cached: 0, output: bound.output }, tier, speed);
  if (!bound.cacheWrites) return plain;
  const written = costNanoUsd(price, { input: bound.input, cached: 0, cacheWrite: bound.input, output: bound.output }, tier, speed);
  const written1h = costNanoUsd(price, { input: bound.input, cached: 0, cacheWrite1h: bound.input, output: bound.output }, tier, speed);
  return Math.max(plain, written, written1h);
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
