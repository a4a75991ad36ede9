import { TollgateError } from '../errors.js';
import type { TokenCounts } from '../pricing.js';

// What the translations between OpenAI's chat completions and Anthropic's Messages API share: how a field that cannot
// be translated is refused (a 400 naming it, never dropped), and the two usage objects. docs/providers.md is the
// table of every field.

export type Json = Record<string, unknown>;

/** Which way a request is translated, for the refusal's words. */
export type Target = 'anthropic' | 'openai';

const SERVED_BY: Record<Target, string> = {
  anthropic: "which an Anthropic provider serves through Anthropic's Messages API",
  openai: "which an OpenAI-compatible provider serves through OpenAI's chat completions",
};

/** The 400 for a field Tollgate cannot translate: names the field (as a path into the body) and why. */
export function untranslatable(target: Target, model: string, field: string, why: string): TollgateError {
  return new TollgateError('invalid_value', `Tollgate cannot translate '${field}' for the model '${model}', ${SERVED_BY[target]}: ${why}.`, field);
}

export const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Whether a value is a string with something in it (Azure's first chunk names its id and model ""). */
export const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';

/**
 * An Anthropic message's id, which Anthropic's clients expect to start `msg_`: the completion's id under that prefix
 * (`chatcmpl-abc` is `msg_abc`, an id already `msg_…` kept), else one made of Tollgate's request id.
 */
export function messageId(id: unknown, requestId: string | undefined): string {
  if (!nonEmpty(id)) return `msg_${requestId ?? 'tollgate'}`;
  return id.startsWith('msg_') ? id : `msg_${id.startsWith('chatcmpl-') ? id.slice('chatcmpl-'.length) : id}`;
}

/** Whether a member is absent (OpenAI's and Anthropic's APIs take null for an optional member left out). */
export const absent = (v: unknown): boolean => v === undefined || v === null;

/**
 * A flag member: true, false, or undefined when absent. Anything else is refused: read as false, a `stream: "true"`
 * would be dropped without a word (both APIs refuse it themselves).
 */
export function flagOf(value: unknown, field: string, refuse: (field: string, why: string) => never): boolean | undefined {
  if (absent(value)) return undefined;
  if (typeof value !== 'boolean') refuse(field, 'it must be true or false');
  return value as boolean;
}

/** Refuses any member of `o` besides `allowed` (null members are absent ones), naming it under `at`. */
export function onlyMembers(o: Json, allowed: readonly string[], at: string, refuse: (field: string, why: string) => never, why: string): void {
  for (const k in o) if (!allowed.includes(k) && !absent(o[k])) refuse(`${at}.${k}`, why);
}

/** Other spellings of a media type, as the type they name: `image/jpg` is common, and OpenAI takes it for JPEG. */
const MEDIA_TYPE_ALIASES: Readonly<Record<string, string>> = { 'image/jpg': 'image/jpeg' };

/** A `data:` URL's media type (lower case, aliases as the type they name) and base64 data, or null when it is not a base64 data URL. */
export function parseDataUrl(url: string): { mediaType: string; data: string } | null {
  const m = /^data:([\w.+-]+\/[\w.+-]+)(?:;[^;,]*)*;base64,/i.exec(url);
  if (!m) return null;
  const type = m[1].toLowerCase();
  return { mediaType: Object.hasOwn(MEDIA_TYPE_ALIASES, type) ? MEDIA_TYPE_ALIASES[type] : type, data: url.slice(m[0].length) };
}

/** The image types Anthropic's Messages API reads. */
export const ANTHROPIC_IMAGE_TYPES: ReadonlySet<string> = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

const int = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0);

/** OpenAI's chat `usage` for Anthropic's counts (cache writes and reads are prompt tokens; reads are its cached tokens). */
export function chatUsageOf(t: TokenCounts, thinkingTokens?: number): Json {
  const usage: Json = {
    prompt_tokens: t.input,
    completion_tokens: t.output,
    total_tokens: t.input + t.output,
    prompt_tokens_details: { cached_tokens: t.cached },
  };
  if (thinkingTokens !== undefined) usage.completion_tokens_details = { reasoning_tokens: thinkingTokens };
  return usage;
}

/** Anthropic's `usage` for OpenAI's counts: the cached prompt tokens are cache reads; nothing is written to a cache. */
export function anthropicUsageOf(t: TokenCounts): Json {
  const cached = Math.min(t.cached, t.input);
  return { input_tokens: t.input - cached, cache_creation_input_tokens: 0, cache_read_input_tokens: cached, output_tokens: t.output };
}

/** The thinking tokens an Anthropic usage reports (`output_tokens_details.thinking_tokens`), if it does. */
export function thinkingTokensOf(usage: unknown): number | undefined {
  const details = isObject(usage) ? usage.output_tokens_details : undefined;
  return isObject(details) && typeof details.thinking_tokens === 'number' ? int(details.thinking_tokens) : undefined;
}

/** One Server-Sent Event in Anthropic's framing (`event:` then `data:`). */
export const anthropicEvent = (type: string, data: Json): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/** One chat completion chunk (or [DONE]) in OpenAI's framing. */
export const chatEvent = (data: Json | '[DONE]'): string => `data: ${data === '[DONE]' ? data : JSON.stringify(data)}\n\n`;

/** Characters of a stream's output a translator keeps for counting (a cut stream's delivered output; 4 MiB of bytes on the pass-through relay). */
export const MAX_KEPT_TEXT = 4 * 1024 * 1024;
