import { snapshotBase } from './pricing.js';

// The most output tokens a model can produce in one answer (OpenAI's model pages; LiteLLM's table of them). A budget
// with a hard cap reserves this much output for a request that sets no max_tokens, so that no answer can cost more
// than was reserved for it (docs/metering.md, "How far a hard cap can be overshot").

/** Reserved for a model this table does not know: the most any current OpenAI model produces. */
export const UNKNOWN_MAX_OUTPUT_TOKENS = 128_000;

const MAX_OUTPUT_TOKENS: Readonly<Record<string, number>> = {
  'gpt-4o': 16_384,
  'gpt-4o-2024-05-13': 4_096,
  'gpt-4o-mini': 16_384,
  'chatgpt-4o-latest': 16_384,
  'gpt-4o-audio-preview': 16_384,
  'gpt-4o-mini-audio-preview': 16_384,
  'gpt-audio': 16_384,
  'gpt-audio-mini': 16_384,
  'gpt-4.1': 32_768,
  'gpt-4.1-mini': 32_768,
  'gpt-4.1-nano': 32_768,
  'gpt-4.5-preview': 16_384,
  'gpt-5-chat-latest': 16_384,
  'gpt-5.1-chat-latest': 16_384,
  'gpt-5.2-chat-latest': 16_384,
  'gpt-5.3-chat-latest': 16_384,
  o1: 100_000,
  'o1-pro': 100_000,
  'o1-preview': 32_768,
  'o1-mini': 65_536,
  o3: 100_000,
  'o3-pro': 100_000,
  'o3-mini': 100_000,
  'o3-deep-research': 100_000,
  'o4-mini': 100_000,
  'o4-mini-deep-research': 100_000,
  'codex-mini-latest': 100_000,
  'computer-use-preview': 1_024,
  'gpt-4': 8_192,
  'gpt-4-32k': 32_768,
  'gpt-4-turbo': 4_096,
  'gpt-4-turbo-preview': 4_096,
  'gpt-4-1106-preview': 4_096,
  'gpt-4-0125-preview': 4_096,
  'gpt-4-vision-preview': 4_096,
  'gpt-3.5-turbo': 4_096,
  'gpt-3.5-turbo-16k': 4_096,
  'gpt-3.5-turbo-instruct': 4_096,
  'davinci-002': 16_384,
  'babbage-002': 16_384,
  'tollgate-echo': 16_384,
  // Anthropic's models (platform.claude.com model pages): dated ids are read by their base id.
  'claude-fable-5-2': 128_000,
  'claude-mythos-5-2': 128_000,
  'claude-fable-5-1': 128_000,
  'claude-mythos-5-1': 128_000,
  'claude-fable-5': 128_000,
  'claude-mythos-5': 128_000,
  'claude-opus-5-5': 128_000,
  'claude-opus-5': 128_000,
  'claude-sonnet-5-5': 128_000,
  'claude-sonnet-5': 128_000,
  'claude-haiku-5-5': 128_000,
  'claude-opus-4-8': 128_000,
  'claude-opus-4-7': 128_000,
  'claude-opus-4-6': 128_000,
  'claude-opus-4-5': 64_000,
  'claude-opus-4-1': 32_000,
  'claude-opus-4-0': 32_000,
  'claude-opus-4': 32_000,
  'claude-sonnet-4-6': 64_000,
  'claude-sonnet-4-5': 64_000,
  'claude-sonnet-4-0': 64_000,
  'claude-sonnet-4': 64_000,
  'claude-3-7-sonnet': 64_000,
  'claude-3-7-sonnet-latest': 64_000,
  'claude-haiku-4-5': 64_000,
  'claude-3-5-haiku': 8_192,
  'claude-3-5-haiku-latest': 8_192,
  'claude-3-opus': 4_096,
  'claude-3-opus-latest': 4_096,
  'claude-3-haiku': 4_096,
};

/** Whether the table knows a model's largest answer (its own entry or its snapshot's base model's). */
export function knowsMaxOutputTokens(model: string): boolean {
  if (Object.hasOwn(MAX_OUTPUT_TOKENS, model)) return true;
  const base = snapshotBase(model);
  return base !== null && Object.hasOwn(MAX_OUTPUT_TOKENS, base);
}

/**
 * The most output a model can produce: a configured `max_output_tokens` (pricing entry), its own entry, its snapshot's
 * base model's entry, else UNKNOWN_MAX_OUTPUT_TOKENS (GPT-5 models, whose answers may reach 128,000 tokens, among them).
 */
export function maxOutputTokens(model: string | null, configured?: (model: string) => number | undefined): number {
  return modelLimit(MAX_OUTPUT_TOKENS, UNKNOWN_MAX_OUTPUT_TOKENS, model, configured);
}

/** A model's limit: configured for it, its own entry in `table`, its snapshot's base model's (configured, then the table's), else `unknown`. */
function modelLimit(table: Readonly<Record<string, number>>, unknown: number, model: string | null, configured?: (model: string) => number | undefined): number {
  if (model === null) return unknown;
  const own = configured?.(model);
  if (own !== undefined) return own;
  if (Object.hasOwn(table, model)) return table[model];
  const base = snapshotBase(model);
  if (base !== null) {
    const fromBase = configured?.(base);
    if (fromBase !== undefined) return fromBase;
    if (Object.hasOwn(table, base)) return table[base];
  }
  return unknown;
}

// The most input tokens a model reads in one request: its context window less the output it keeps room for (OpenAI's
// model pages, LiteLLM's `max_input_tokens`; Anthropic's model pages). A budget with a hard cap reserves this much input
// for a request that names input by reference (a stored response, conversation or prompt, a file by id or URL), which
// the gateway cannot measure, since no request can read more.

/** Reserved for a model this table does not know: the largest window of any current model (GPT-5.4's 1,050,000). */
export const UNKNOWN_MAX_INPUT_TOKENS = 1_050_000;

const WINDOW_1M = 1_000_000;
const GPT_1M = 1_050_000;
/** GPT-5's 400,000-token window less its 128,000 of output. */
const GPT5_INPUT = 272_000;

const MAX_INPUT_TOKENS: Readonly<Record<string, number>> = {
  'gpt-5.6': GPT_1M,
  'gpt-5.6-sol': GPT_1M,
  'gpt-5.6-terra': GPT_1M,
  'gpt-5.6-luna': GPT_1M,
  'gpt-5.5': GPT_1M,
  'gpt-5.5-pro': GPT_1M,
  'gpt-5.4': GPT_1M,
  'gpt-5.4-pro': GPT_1M,
  'gpt-5.4-mini': GPT5_INPUT,
  'gpt-5.4-nano': GPT5_INPUT,
  'gpt-5.3-codex': GPT5_INPUT,
  'gpt-5.3-chat-latest': 128_000,
  'gpt-5.2': GPT5_INPUT,
  'gpt-5.2-chat-latest': 128_000,
  'gpt-5.2-codex': GPT5_INPUT,
  'gpt-5.2-pro': GPT5_INPUT,
  'gpt-5.1': GPT5_INPUT,
  'gpt-5.1-chat-latest': 128_000,
  'gpt-5.1-codex': GPT5_INPUT,
  'gpt-5.1-codex-max': GPT5_INPUT,
  'gpt-5.1-codex-mini': GPT5_INPUT,
  'gpt-5': GPT5_INPUT,
  'gpt-5-chat-latest': 128_000,
  'gpt-5-codex': GPT5_INPUT,
  // 400,000 less 272,000 of output leaves 128,000; the larger figure is kept, as the pro models' pages have varied.
  'gpt-5-pro': GPT5_INPUT,
  'gpt-5-mini': GPT5_INPUT,
  'gpt-5-nano': GPT5_INPUT,
  'gpt-4.1': 1_047_576,
  'gpt-4.1-mini': 1_047_576,
  'gpt-4.1-nano': 1_047_576,
  'gpt-4.5-preview': 128_000,
  'gpt-4o': 128_000,
  'gpt-4o-mini': 128_000,
  'chatgpt-4o-latest': 128_000,
  'gpt-4o-audio-preview': 128_000,
  'gpt-4o-mini-audio-preview': 128_000,
  'gpt-audio': 128_000,
  'gpt-audio-mini': 128_000,
  o1: 200_000,
  'o1-pro': 200_000,
  'o1-preview': 128_000,
  'o1-mini': 128_000,
  o3: 200_000,
  'o3-pro': 200_000,
  'o3-mini': 200_000,
  'o3-deep-research': 200_000,
  'o4-mini': 200_000,
  'o4-mini-deep-research': 200_000,
  'codex-mini-latest': 200_000,
  'computer-use-preview': 8_192,
  'gpt-4': 8_192,
  'gpt-4-32k': 32_768,
  'gpt-4-turbo': 128_000,
  'gpt-4-turbo-preview': 128_000,
  'gpt-4-1106-preview': 128_000,
  'gpt-4-0125-preview': 128_000,
  'gpt-4-vision-preview': 128_000,
  'gpt-3.5-turbo': 16_385,
  'gpt-3.5-turbo-16k': 16_385,
  'gpt-3.5-turbo-instruct': 4_096,
  'davinci-002': 16_384,
  'babbage-002': 16_384,
  'tollgate-echo': 128_000,
  // Anthropic's models (platform.claude.com model pages). Sonnet 4 and 4.5 read 1M tokens with the `context-1m` beta,
  // which the budget does not look for: they are reserved at the larger window.
  'claude-fable-5-2': WINDOW_1M,
  'claude-mythos-5-2': WINDOW_1M,
  'claude-fable-5-1': WINDOW_1M,
  'claude-mythos-5-1': WINDOW_1M,
  'claude-fable-5': WINDOW_1M,
  'claude-mythos-5': WINDOW_1M,
  'claude-opus-5-5': WINDOW_1M,
  'claude-opus-5': WINDOW_1M,
  'claude-sonnet-5-5': WINDOW_1M,
  'claude-sonnet-5': WINDOW_1M,
  'claude-haiku-5-5': WINDOW_1M,
  'claude-opus-4-8': WINDOW_1M,
  'claude-opus-4-7': WINDOW_1M,
  'claude-opus-4-6': WINDOW_1M,
  'claude-opus-4-5': 200_000,
  'claude-opus-4-1': 200_000,
  'claude-opus-4-0': 200_000,
  'claude-opus-4': 200_000,
  'claude-sonnet-4-6': WINDOW_1M,
  'claude-sonnet-4-5': WINDOW_1M,
  'claude-sonnet-4-0': WINDOW_1M,
  'claude-sonnet-4': WINDOW_1M,
  'claude-3-7-sonnet': 200_000,
  'claude-3-7-sonnet-latest': 200_000,
  'claude-haiku-4-5': 200_000,
  'claude-3-5-haiku': 200_000,
  'claude-3-5-haiku-latest': 200_000,
  'claude-3-opus': 200_000,
  'claude-3-opus-latest': 200_000,
  'claude-3-haiku': 200_000,
};

/**
 * The most input a model reads in one request: a configured `max_input_tokens` (pricing entry), its own entry, its
 * snapshot's base model's entry, else UNKNOWN_MAX_INPUT_TOKENS.
 */
export function maxInputTokens(model: string | null, configured?: (model: string) => number | undefined): number {
  return modelLimit(MAX_INPUT_TOKENS, UNKNOWN_MAX_INPUT_TOKENS, model, configured);
}
