import type { TokenCounts } from './pricing.js';

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0);

/** Adds the audio and image parts a usage details object reports (only when it reports them). */
function withDetails(t: TokenCounts, input: unknown, output: unknown): TokenCounts {
  if (input && typeof input === 'object') {
    const d = input as Record<string, unknown>;
    if (num(d.audio_tokens) > 0) t.audioInput = num(d.audio_tokens);
    if (num(d.image_tokens) > 0) t.imageInput = num(d.image_tokens);
  }
  if (output && typeof output === 'object') {
    const d = output as Record<string, unknown>;
    if (num(d.audio_tokens) > 0) t.audioOutput = num(d.audio_tokens);
    if (num(d.image_tokens) > 0) t.imageOutput = num(d.image_tokens);
  }
  return t;
}

/**
 * Token counts from an OpenAI `usage` object of any endpoint (chat, completions, embeddings, responses, images,
 * transcriptions), with the audio and image parts it reports.
 */
export function tokensFromUsage(usage: unknown): TokenCounts | null {
  if (!usage || typeof usage !== 'object') return null;
  const u = usage as Record<string, unknown>;
  if ('input_tokens' in u || 'output_tokens' in u) {
    // Transcriptions spell it input_token_details.
    const details = (u.input_tokens_details ?? u.input_token_details) as Record<string, unknown> | undefined;
    const t: TokenCounts = { input: num(u.input_tokens), cached: num(details?.cached_tokens), output: num(u.output_tokens) };
    return details || u.output_tokens_details ? withDetails(t, details, u.output_tokens_details) : t;
  }
  if ('prompt_tokens' in u || 'completion_tokens' in u) {
    const details = u.prompt_tokens_details as Record<string, unknown> | undefined;
    const t: TokenCounts = { input: num(u.prompt_tokens), cached: num(details?.cached_tokens), output: num(u.completion_tokens) };
    return details || u.completion_tokens_details ? withDetails(t, details, u.completion_tokens_details) : t;
  }
  return null;
}

/** Generated text of a non-streamed answer (for counting when the upstream gives no usage). */
export function outputText(body: unknown): string {
  if (!body || typeof body !== 'object') return '';
  const b = body as { choices?: Array<{ message?: { content?: unknown }; text?: unknown }>; output_text?: unknown };
  if (Array.isArray(b.choices)) {
    return b.choices.map((c) => (typeof c.message?.content === 'string' ? c.message.content : typeof c.text === 'string' ? c.text : '')).join('');
  }
  return typeof b.output_text === 'string' ? b.output_text : '';
}

/** Generated text of one stream event (chat delta, completion text, responses delta). */
export function deltaText(event: unknown): string {
  if (!event || typeof event !== 'object') return '';
  const e = event as { choices?: Array<{ delta?: { content?: unknown }; text?: unknown }>; type?: string; delta?: unknown };
  if (Array.isArray(e.choices)) {
    return e.choices.map((c) => (typeof c.delta?.content === 'string' ? c.delta.content : typeof c.text === 'string' ? c.text : '')).join('');
  }
  if (e.type === 'response.output_text.delta' && typeof e.delta === 'string') return e.delta;
  return '';
}

/**
 * Where the last `"usage"` before `end` starts, or -1 (JSON answers and stream chunks alike). A loop from the end, where
 * usage stands: measured, ~3x cheaper than `Buffer#lastIndexOf`, which crosses into C++ and turns its string needle
 * into bytes on every call.
 */
export function lastUsageKey(buf: Buffer, end: number): number {
  for (let i = end - 7; i >= 0; i--) {
    if (buf[i] === 0x22 && buf[i + 6] === 0x22 && buf[i + 1] === 0x75 && buf[i + 2] === 0x73 && buf[i + 3] === 0x61 && buf[i + 4] === 0x67 && buf[i + 5] === 0x65) return i;
  }
  return -1;
}

/**
 * Reads `usage` from a JSON answer without parsing all of it: OpenAI-compatible servers put it last, and parsing a
 * whole completion per request was a measurable share of the gateway's CPU and garbage. Null when the body does
 * not look like one complete JSON object with a usage object (the caller then parses it whole).
 */
export function usageFromJsonTail(buf: Buffer): TokenCounts | null {
  let end = buf.length - 1;
  while (end >= 0 && (buf[end] === 0x20 || buf[end] === 0x0a || buf[end] === 0x0d || buf[end] === 0x09)) end--;
  if (end < 1 || buf[end] !== 0x7d || buf[0] !== 0x7b) return null;
  const at = lastUsageKey(buf, end);
  if (at < 0) return null;
  let i = at + 7;
  while (i < end && buf[i] !== 0x7b) {
    if (buf[i] !== 0x20 && buf[i] !== 0x3a && buf[i] !== 0x0a && buf[i] !== 0x0d && buf[i] !== 0x09) return null;
    i++;
  }
  const start = i;
  let depth = 0;
  let inString = false;
  for (; i <= end; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) {
      try {
        return tokensFromUsage(JSON.parse(buf.toString('utf8', start, i + 1)));
      } catch {
        return null;
      }
    }
  }
  return null;
}
