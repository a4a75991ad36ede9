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

const isCount = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/**
 * Token counts from an OpenAI `usage` object of any endpoint (chat, completions, embeddings, responses, images,
 * transcriptions), with the audio and image parts it reports, or from an Anthropic one (anthropicTokens).
 *
 * A usage is read as Anthropic's only when it names no OpenAI count (`prompt_tokens`, `completion_tokens`): LiteLLM
 * and other OpenAI-compatible proxies answer OpenAI's counts with Anthropic's cache counters beside them at the top
 * level, and read as Anthropic's (input_tokens plus cache, output_tokens: none of which it has) such a usage was
 * billed 0 tokens (found by a review). Read as OpenAI's, its `prompt_tokens` are the whole input (cache reads and
 * writes included), and the cache counters only say which part of it was read from the cache or written to it. A
 * usage that names OpenAI's chat counts and the Responses API's both (`input_tokens`, `output_tokens`) is read both
 * ways and billed the larger of each (largerReading): `prompt_tokens: 0` beside `input_tokens: 5000` was billed 0.
 * An output count a usage does not give (a missing or null `completion_tokens` or `output_tokens`) is marked
 * unnamed, for the gateway to count the answer's text.
 */
export function tokensFromUsage(usage: unknown): TokenCounts | null {
  if (!usage || typeof usage !== 'object') return null;
  const u = usage as Record<string, unknown>;
  const t = tokensOfUsage(u);
  // The web searches it names are billed whichever names its tokens go by (LiteLLM passes Anthropic's on in OpenAI's).
  if (t !== null) withWebSearches(t, u);
  return t;
}

function tokensOfUsage(u: Record<string, unknown>): TokenCounts | null {
  if (isCount(u.prompt_tokens) || isCount(u.completion_tokens)) {
    const chat = openAIChatTokens(u);
    return isCount(u.input_tokens) || isCount(u.output_tokens) ? largerReading(chat, responsesTokens(u)) : chat;
  }
  if ('cache_creation_input_tokens' in u || 'cache_read_input_tokens' in u || 'iterations' in u) {
    const t = anthropicTokens(u);
    // A whole message's usage without its output count (a compatible server's): 0 for want of a count. (A stream's
    // message_start names 1, its message_delta is read by withAnthropicDelta.)
    if (!isCount(u.output_tokens)) t.outputUnnamed = true;
    return t;
  }
  if ('input_tokens' in u || 'output_tokens' in u) return responsesTokens(u);
  if ('prompt_tokens' in u || 'completion_tokens' in u) return openAIChatTokens(u);
  return null;
}

/**
 * The web searches an Anthropic usage names (`server_tool_use.web_search_requests`: Anthropic bills $10 per 1,000
 * beside the tokens), added to `t` when there are any. Web fetches (`web_fetch_requests`) are not counted: they cost
 * only the tokens of the pages they bring in, which the input counts.
 */
function withWebSearches(t: TokenCounts, u: Record<string, unknown>): TokenCounts {
  const tools = u.server_tool_use;
  if (tools === null || typeof tools !== 'object') return t;
  const searches = num((tools as Record<string, unknown>).web_search_requests);
  if (searches > 0) t.webSearches = searches;
  return t;
}

/**
 * Counts of a usage by the Responses API's names (also images', transcriptions', and an Anthropic message's without
 * cache counters): `input_tokens`, `output_tokens`, their details (transcriptions spell it `input_token_details`).
 */
function responsesTokens(u: Record<string, unknown>): TokenCounts {
  const details = (u.input_tokens_details ?? u.input_token_details) as Record<string, unknown> | undefined;
  const outDetails = u.output_tokens_details as Record<string, unknown> | null | undefined;
  const output = num(u.output_tokens) + reasoningOutside(u, num(u.input_tokens), num(u.output_tokens), outDetails);
  const t: TokenCounts = { input: num(u.input_tokens), cached: num(details?.cached_tokens), output };
  if (!('input_tokens' in u)) t.inputUnnamed = true;
  if (!isCount(u.output_tokens)) t.outputUnnamed = true;
  return details || outDetails ? withDetails(t, details, outDetails) : t;
}

/**
 * The reasoning tokens a usage reports apart from its output count, to be added to it: xAI (and Grok on Vertex, and
 * some translators of Gemini) count `reasoning_tokens` outside `completion_tokens`, which OpenAI counts them in. Told
 * by the total: `total_tokens` is the input, the output and the reasoning, not the input and output alone. 0 otherwise
 * (OpenAI's own, a usage without a total). Found by a review: 10,000 reasoning tokens of grok billed as 50 output.
 */
function reasoningOutside(u: Record<string, unknown>, input: number, output: number, details: Record<string, unknown> | null | undefined): number {
  const reasoning = details && typeof details === 'object' ? num(details.reasoning_tokens) : 0;
  if (reasoning === 0 || !isCount(u.total_tokens)) return 0;
  const total = num(u.total_tokens);
  return total === input + output + reasoning && total !== input + output ? reasoning : 0;
}

/**
 * The larger of two readings of one usage, each count never below either's: the input side (input and its parts:
 * cache reads and writes, audio, images) of the reading with the larger input (on a tie, the fewer cache reads, which
 * bill less), the output side of the one with the larger output; a count one reading names is taken over one the
 * other does not.
 */
function largerReading(a: TokenCounts, b: TokenCounts): TokenCounts {
  const inB = a.inputUnnamed && !b.inputUnnamed ? true : b.inputUnnamed && !a.inputUnnamed ? false : b.input > a.input || (b.input === a.input && b.cached < a.cached);
  const outB = a.outputUnnamed && !b.outputUnnamed ? true : b.outputUnnamed && !a.outputUnnamed ? false : b.output > a.output;
  const i = inB ? b : a;
  const o = outB ? b : a;
  const t: TokenCounts = { input: i.input, cached: i.cached, output: o.output };
  if (i.cacheWrite !== undefined) t.cacheWrite = i.cacheWrite;
  if (i.cacheWrite1h !== undefined) t.cacheWrite1h = i.cacheWrite1h;
  if (i.audioInput !== undefined) t.audioInput = i.audioInput;
  if (i.imageInput !== undefined) t.imageInput = i.imageInput;
  if (i.inputUnnamed) t.inputUnnamed = true;
  if (o.audioOutput !== undefined) t.audioOutput = o.audioOutput;
  if (o.imageOutput !== undefined) t.imageOutput = o.imageOutput;
  if (o.outputUnnamed) t.outputUnnamed = true;
  return t;
}

/**
 * Counts of a usage by OpenAI's chat names: `prompt_tokens` is the input, all of it. The parts of it read from a cache
 * are `prompt_tokens_details.cached_tokens` (else a top-level `cache_read_input_tokens`, as LiteLLM adds); the parts
 * written to one, Anthropic's `cache_creation_input_tokens` beside it (LiteLLM) or `prompt_tokens_details.
 * cache_write_tokens` (OpenRouter) or `.cache_creation_tokens` (LiteLLM): parts of the input priced at the cache-write
 * rates, never added to it, split by lifetime as `cache_creation` says (Anthropic's), else `prompt_tokens_details.
 * cache_creation_token_details` (LiteLLM's). A count it does not name (a missing or null `prompt_tokens`,
 * `completion_tokens`) is marked unnamed, for the gateway to count. Reasoning counted outside `completion_tokens` is
 * added to the output (reasoningOutside).
 */
function openAIChatTokens(u: Record<string, unknown>): TokenCounts {
  const details = u.prompt_tokens_details as Record<string, unknown> | null | undefined;
  const d = details && typeof details === 'object' ? details : null;
  const cached = isCount(d?.cached_tokens) ? num(d?.cached_tokens) : num(u.cache_read_input_tokens);
  const outDetails = u.completion_tokens_details as Record<string, unknown> | null | undefined;
  const output = num(u.completion_tokens) + reasoningOutside(u, num(u.prompt_tokens), num(u.completion_tokens), outDetails);
  const t: TokenCounts = { input: num(u.prompt_tokens), cached, output };
  if (!isCount(u.prompt_tokens)) t.inputUnnamed = true;
  if (!isCount(u.completion_tokens)) t.outputUnnamed = true;
  const written = isCount(u.cache_creation_input_tokens) ? num(u.cache_creation_input_tokens) : isCount(d?.cache_write_tokens) ? num(d?.cache_write_tokens) : num(d?.cache_creation_tokens);
  if (written > 0) {
    const split = (u.cache_creation ?? d?.cache_creation_token_details) as Record<string, unknown> | null | undefined;
    const hour = split && typeof split === 'object' ? Math.min(num(split.ephemeral_1h_input_tokens), written) : 0;
    if (hour > 0) t.cacheWrite1h = hour;
    if (written - hour > 0) t.cacheWrite = written - hour;
  }
  return d || outDetails ? withDetails(t, d, outDetails) : t;
}

/**
 * Token counts of an Anthropic `usage` object: its `input_tokens` are only the input after the last cache breakpoint,
 * so the input is those plus the cache writes and reads. Cache writes are split by lifetime when the usage says
 * (`cache_creation.ephemeral_1h_input_tokens`), else all are taken for 5-minute writes. A request that sampled more
 * than once lists each step in `iterations`, and its top-level counts are only those of the message's own steps
 * (`type: 'message'`): every other step (server-side compaction's summary, the advisor tool's model) is billed too,
 * so it is added (Anthropic's compaction guide: "sum across all entries in the usage.iterations array").
 */
export function anthropicTokens(u: Record<string, unknown>): TokenCounts {
  const t = anthropicStep(u);
  if (Array.isArray(u.iterations)) {
    for (const step of u.iterations as unknown[]) {
      if (step === null || typeof step !== 'object' || (step as { type?: unknown }).type === 'message') continue;
      const s = anthropicStep(step as Record<string, unknown>);
      t.input += s.input;
      t.cached += s.cached;
      t.output += s.output;
      if (s.cacheWrite) t.cacheWrite = (t.cacheWrite ?? 0) + s.cacheWrite;
      if (s.cacheWrite1h) t.cacheWrite1h = (t.cacheWrite1h ?? 0) + s.cacheWrite1h;
    }
  }
  return t;
}

/** The counts of one sampling step (or of the top level) of an Anthropic usage. */
function anthropicStep(u: Record<string, unknown>): TokenCounts {
  const written = num(u.cache_creation_input_tokens);
  const read = num(u.cache_read_input_tokens);
  const t: TokenCounts = { input: num(u.input_tokens) + written + read, cached: read, output: num(u.output_tokens) };
  if (written > 0) {
    const split = u.cache_creation as Record<string, unknown> | null | undefined;
    const hour = split && typeof split === 'object' ? Math.min(num(split.ephemeral_1h_input_tokens), written) : 0;
    if (hour > 0) t.cacheWrite1h = hour;
    if (written - hour > 0) t.cacheWrite = written - hour;
  }
  return t;
}

/**
 * Whether an Anthropic usage names the answer's output count: message_delta's, which is the final one. Without it a
 * stream's output is not known (message_start's output_tokens is 1 whatever follows).
 */
export function namesOutputCount(usage: unknown): boolean {
  return usage !== null && typeof usage === 'object' && typeof (usage as { output_tokens?: unknown }).output_tokens === 'number';
}

/**
 * An Anthropic stream's counts once a `message_delta` reports its usage: `message_start`'s counts (`prev`) with the
 * delta's laid over them. The delta's counts are cumulative totals of the whole message, each omitted when it does not
 * apply, so each one it has replaces the one before and the others stay.
 */
export function withAnthropicDelta(prev: TokenCounts | null, delta: unknown): TokenCounts {
  const p = prev ?? { input: 0, cached: 0, output: 0 };
  const writes = (p.cacheWrite ?? 0) + (p.cacheWrite1h ?? 0);
  const merged: Record<string, unknown> = {
    input_tokens: p.input - p.cached - writes,
    cache_read_input_tokens: p.cached,
    cache_creation_input_tokens: writes,
    cache_creation: { ephemeral_1h_input_tokens: p.cacheWrite1h ?? 0 },
    output_tokens: p.output,
    // The searches message_start named, if any: a delta's own count (the whole message's so far) replaces them.
    server_tool_use: { web_search_requests: p.webSearches ?? 0 },
  };
  let named = prev !== null && prev.inputUnnamed !== true;
  if (delta && typeof delta === 'object') {
    for (const [k, v] of Object.entries(delta as Record<string, unknown>)) {
      if (v === null || v === undefined) continue;
      // A server_tool_use naming some tools' counts leaves the others' standing, as the top-level counts do.
      merged[k] = k === 'server_tool_use' && typeof v === 'object' ? { ...(merged[k] as object), ...v } : v;
      if (k === 'input_tokens' || k === 'cache_read_input_tokens' || k === 'cache_creation_input_tokens') named = true;
    }
  }
  const t = withWebSearches(anthropicTokens(merged), merged);
  // No message_start usage, or one without input, and a delta that names none either: the input is not known.
  if (!named) t.inputUnnamed = true;
  return t;
}

// What "generated text" is, for counting when an upstream reports no usage: one definition for whole answers
// (outputText) and stream events (deltaText), so that an answer is counted the same whether or not it was streamed.
// Every piece is output the provider bills: text, refusals, tool calls' arguments, reasoning and thinking shown,
// audio answers' transcripts.

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * Generated text of a chat choice's `message` or a chunk's `delta` (the same members): its content (a string, or parts
 * with text), refusal, tool calls' arguments (a custom tool's input), a legacy function call's arguments, an audio
 * answer's transcript, and the reasoning text OpenAI-compatible servers send beside the content.
 */
function chatMessageText(m: unknown): string {
  if (!m || typeof m !== 'object') return '';
  const d = m as Record<string, unknown>;
  let text = str(d.content) + str(d.refusal) + str(d.reasoning_content) + str(d.reasoning);
  if (Array.isArray(d.content)) for (const part of d.content) text += partText(part);
  if (Array.isArray(d.tool_calls)) {
    for (const call of d.tool_calls as Array<{ function?: { arguments?: unknown } | null; custom?: { input?: unknown } | null } | null>) {
      if (!call || typeof call !== 'object') continue;
      text += str(call.function?.arguments) + str(call.custom?.input);
    }
  }
  const fn = d.function_call as { arguments?: unknown } | null | undefined;
  if (fn && typeof fn === 'object') text += str(fn.arguments);
  const audio = d.audio as { transcript?: unknown } | null | undefined;
  if (audio && typeof audio === 'object') text += str(audio.transcript);
  return text;
}

/** A content part's text or refusal (chat parts, the Responses API's output_text and refusal parts, reasoning's summary and text parts). */
function partText(part: unknown): string {
  if (!part || typeof part !== 'object') return '';
  const p = part as { text?: unknown; refusal?: unknown };
  return str(p.text) + str(p.refusal);
}

/** Generated text of the Responses API's output items: messages, function, custom-tool and MCP calls, reasoning shown. */
function responseItemText(item: unknown): string {
  if (!item || typeof item !== 'object') return '';
  const o = item as { type?: unknown; content?: unknown; summary?: unknown; arguments?: unknown; input?: unknown };
  let text = '';
  if (o.type === 'function_call' || o.type === 'mcp_call') text += str(o.arguments);
  else if (o.type === 'custom_tool_call') text += str(o.input);
  if (o.type === 'message' || o.type === 'reasoning') {
    if (Array.isArray(o.summary)) for (const part of o.summary) text += partText(part);
    if (Array.isArray(o.content)) for (const part of o.content) text += partText(part);
  }
  return text;
}

/**
 * Generated text of an Anthropic content block, or of a stream's delta of one: text, thinking, a tool call's input
 * (whole, as JSON; in a stream, its pieces of JSON). A signature or redacted thinking is not text to count.
 */
function anthropicBlockText(block: unknown): string {
  if (!block || typeof block !== 'object') return '';
  const b = block as { type?: unknown; text?: unknown; thinking?: unknown; partial_json?: unknown; input?: unknown };
  switch (b.type) {
    case 'text':
    case 'text_delta':
      return str(b.text);
    case 'thinking':
    case 'thinking_delta':
      return str(b.thinking);
    case 'input_json_delta':
      return str(b.partial_json);
    case 'tool_use':
    case 'server_tool_use':
    case 'mcp_tool_use':
      return b.input === undefined ? '' : (JSON.stringify(b.input) ?? '');
    default:
      return '';
  }
}

/** Generated text of a non-streamed answer (for counting when the upstream gives no usage): see chatMessageText, responseItemText, anthropicBlockText. */
export function outputText(body: unknown): string {
  if (!body || typeof body !== 'object') return '';
  const b = body as { choices?: unknown; output?: unknown; output_text?: unknown; type?: unknown; content?: unknown };
  if (Array.isArray(b.choices)) {
    let text = '';
    for (const c of b.choices as Array<{ message?: unknown; text?: unknown } | null>) if (c && typeof c === 'object') text += str(c.text) + chatMessageText(c.message);
    return text;
  }
  // An Anthropic message: its blocks.
  if (b.type === 'message' && Array.isArray(b.content)) {
    let text = '';
    for (const block of b.content) text += anthropicBlockText(block);
    return text;
  }
  // A Response: its output items (`output_text` is the SDKs' join of their text, sent by some compatible servers).
  if (Array.isArray(b.output)) {
    let text = '';
    for (const item of b.output) text += responseItemText(item);
    return text;
  }
  return str(b.output_text);
}

/**
 * Generated output of one stream event, as text to count when the upstream reports no (final) usage: chat deltas
 * (chatMessageText) and completion text, the Responses API's text, refusal, argument and reasoning deltas, Anthropic's
 * block deltas (anthropicBlockText). A stream cut before its usage is billed at least for what it delivered.
 */
export function deltaText(event: unknown): string {
  if (!event || typeof event !== 'object') return '';
  const e = event as { choices?: unknown; type?: unknown; delta?: unknown };
  if (Array.isArray(e.choices)) {
    let text = '';
    for (const c of e.choices as Array<{ delta?: unknown; text?: unknown } | null>) if (c && typeof c === 'object') text += str(c.text) + chatMessageText(c.delta);
    return text;
  }
  if (typeof e.type !== 'string') return '';
  if (typeof e.delta === 'string' && RESPONSE_OUTPUT_DELTAS.has(e.type)) return e.delta;
  if (e.type === 'content_block_delta') return anthropicBlockText(e.delta);
  return '';
}

/** The Responses API's stream events whose `delta` is generated output (responseItemText's pieces). */
const RESPONSE_OUTPUT_DELTAS: ReadonlySet<string> = new Set([
  'response.output_text.delta',
  'response.audio.transcript.delta',
  'response.refusal.delta',
  'response.function_call_arguments.delta',
  'response.custom_tool_call_input.delta',
  'response.mcp_call_arguments.delta',
  'response.reasoning_summary_text.delta',
  'response.reasoning_text.delta',
]);

// Spoken output (a chat answer asked for with `modalities: ["audio"]` or `audio`): its transcript is text above, but
// the provider bills the audio itself as audio output tokens, dearer by far (gpt-4o-audio-preview: $80 against $10 per
// million). Measured by the bytes of audio delivered, for a stream cut before its usage (token-fallback.ts).

/** Bytes of audio a base64 string holds (its padding left out). */
function base64Bytes(v: unknown): number {
  if (typeof v !== 'string' || v.length === 0) return 0;
  let pad = 0;
  if (v.endsWith('==')) pad = 2;
  else if (v.endsWith('=')) pad = 1;
  return Math.floor((v.length * 3) / 4) - pad;
}

/** Bytes of audio in a chat choice's `message` or a chunk's `delta` (`audio.data`, base64). */
function chatMessageAudio(m: unknown): number {
  if (!m || typeof m !== 'object') return 0;
  const audio = (m as { audio?: { data?: unknown } | null }).audio;
  return audio && typeof audio === 'object' ? base64Bytes(audio.data) : 0;
}

/** Bytes of audio a non-streamed chat answer carries, over all its choices. */
export function outputAudioBytes(body: unknown): number {
  if (!body || typeof body !== 'object') return 0;
  const choices = (body as { choices?: unknown }).choices;
  let bytes = 0;
  if (Array.isArray(choices)) for (const c of choices as Array<{ message?: unknown } | null>) if (c && typeof c === 'object') bytes += chatMessageAudio(c.message);
  return bytes;
}

/**
 * Bytes of audio one stream event delivers: a chat chunk's `delta.audio.data` (over all its choices: `n`), the
 * Responses API's `response.audio.delta`.
 */
export function deltaAudioBytes(event: unknown): number {
  if (!event || typeof event !== 'object') return 0;
  const e = event as { choices?: unknown; type?: unknown; delta?: unknown };
  if (Array.isArray(e.choices)) {
    let bytes = 0;
    for (const c of e.choices as Array<{ delta?: unknown } | null>) if (c && typeof c === 'object') bytes += chatMessageAudio(c.delta);
    return bytes;
  }
  return e.type === 'response.audio.delta' ? base64Bytes(e.delta) : 0;
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
  const usage = usageAtJsonTail(buf);
  return usage === null ? null : tokensFromUsage(usage);
}

/** The `usage` object at the end of a JSON answer, parsed (usageFromJsonTail's); null when there is none to read there. */
export function usageAtJsonTail(buf: Buffer): Record<string, unknown> | null {
  let end = buf.length - 1;
  while (end >= 0 && isJsonSpace(buf[end])) end--;
  if (end < 1 || buf[end] !== 0x7d || buf[0] !== 0x7b) return null;
  const at = lastUsageKey(buf, end);
  if (at < 0) return null;
  let i = at + 7;
  while (i < end && buf[i] !== 0x7b) {
    if (buf[i] !== 0x20 && buf[i] !== 0x3a && buf[i] !== 0x0a && buf[i] !== 0x0d && buf[i] !== 0x09) return null;
    i++;
  }
  const close = objectEndAt(buf, i, end);
  // Only the root's own usage: one nested in a later member (Groq's `usage_breakdown.models[].usage`, after its total)
  // was read as the answer's (found by a review: 40,000 prompt tokens billed as a sub-model's 100).
  if (close < 0 || !endsRootMember(buf, close + 1, end)) return null;
  try {
    return JSON.parse(buf.toString('utf8', i, close + 1)) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/**
 * Where the JSON object that opens at `start` closes (its `}`), scanning no further than `last`, strings and their
 * escapes skipped; -1 when it does not close by then.
 */
function objectEndAt(buf: Buffer, start: number, last: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i <= last; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) return i;
  }
  return -1;
}

/**
 * Whether what stands from `from` to the root's closing brace at `end` is only the rest of the root's members: from
 * a member's end, nothing but white space, or a comma and members whose brackets all close before `end` (strings and
 * their escapes skipped). So the member ending at `from` is the root's own, not one nested in another member.
 */
function endsRootMember(buf: Buffer, from: number, end: number): boolean {
  let i = from;
  while (i < end && isJsonSpace(buf[i])) i++;
  if (i === end) return true;
  if (buf[i] !== 0x2c) return false;
  let depth = 0;
  let inString = false;
  for (i++; i < end; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if ((c === 0x7d || c === 0x5d) && --depth < 0) return false;
  }
  return depth === 0 && !inString;
}

/** JSON's white space (RFC 8259: space, tab, line feed, carriage return); false past a buffer's end. */
export const isJsonSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/**
 * The `usage` object that ends a JSON answer, read from its last bytes alone (`tail` may begin anywhere inside the
 * answer): the last member of the root object, nothing but white space and the root's closing brace after it. For
 * answers passed through unread for their size (images, transcriptions), whose usage OpenAI puts last. Null when it
 * is not there. A `"usage"` key cannot be spelt inside a JSON string (its quotes would be escaped), so the one found
 * is a member, and where its object closes shows it is the root's.
 */
export function usageAtJsonEnd(tail: Buffer): Record<string, unknown> | null {
  let end = tail.length - 1;
  while (end >= 0 && isJsonSpace(tail[end])) end--;
  if (end < 1 || tail[end] !== 0x7d) return null;
  let close = end - 1;
  while (close >= 0 && isJsonSpace(tail[close])) close--;
  if (close < 0 || tail[close] !== 0x7d) return null;
  const at = lastUsageKey(tail, close);
  if (at < 0) return null;
  let i = at + 7;
  while (isJsonSpace(tail[i])) i++;
  if (tail[i] !== 0x3a) return null;
  i++;
  while (isJsonSpace(tail[i])) i++;
  if (tail[i] !== 0x7b) return null;
  // Its object closes where the root's last member ends: it is the root's own.
  if (objectEndAt(tail, i, close) !== close) return null;
  try {
    const usage: unknown = JSON.parse(tail.toString('utf8', i, close + 1));
    return usage !== null && typeof usage === 'object' && !Array.isArray(usage) ? (usage as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
