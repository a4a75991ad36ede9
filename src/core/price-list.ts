import type { ModelPrice, PriceTable, TierRates } from './pricing.js';

// The built-in price list: public list prices of OpenAI's and Anthropic's models, as core/pricing.ts bills them. Data
// only, apart from the rules that read it (core/pricing.ts); a gateway config's `pricing` overrides any entry.

const LONG_272K = 272_000;

/** Anthropic's web search tool: USD per 1,000 searches, whatever the model (its pricing page, "Web search tool"). */
const ANTHROPIC_WEB_SEARCH = 10;

/**
 * An Anthropic model's price: cache writes at 1.25× input (5 minutes) and 2× input (1 hour), and web searches at $10
 * per 1,000, as Anthropic prices them.
 */
const claude = (input: number, output: number, cacheRead: number, long?: { above: number; input: number; output: number; cacheRead: number }): ModelPrice => ({
  input,
  cached_input: cacheRead,
  cache_write_input: input * 1.25,
  cache_write_1h_input: input * 2,
  output,
  web_search: ANTHROPIC_WEB_SEARCH,
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
 * `fast` prices it. Web search is billed at $10 per 1,000 searches on every model (the pricing page's "Web search
 * tool", and the web search tool's page; counted by `usage.server_tool_use.web_search_requests`); web fetch has no fee
 * of its own (its pages are input tokens). Batch, the `inference_geo` uplift and the other server tools' fees (code execution's container
 * hours) are not modelled.
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
  'claude-3-haiku': { input: 0.25, cached_input: 0.03, cache_write_input: 0.3, cache_write_1h_input: 0.5, output: 1.25, web_search: ANTHROPIC_WEB_SEARCH },
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
  // The first snapshot kept its launch audio rates (OpenAI's pricing page): not its base's later, lower ones.
  'gpt-4o-audio-preview-2024-10-01': { input: 2.5, output: 10, audio_input: 100, audio_output: 200 },
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
