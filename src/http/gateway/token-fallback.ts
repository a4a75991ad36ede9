import type { ProviderConfig } from '../../config/gateway-config.js';
import { TollgateError } from '../../core/errors.js';
import { boundTokens, imagePartTokens, isImagePart } from '../../core/estimate.js';
import type { MeterPlan } from '../../core/metering-plan.js';
import { isFreeOfCharge, type TokenCounts } from '../../core/pricing.js';
import { outputAudioBytes, outputText } from '../../core/usage-extract.js';
import { contentText, countChatPromptTokens, countTokens, TokenBudget } from '../../core/tokenizer.js';

/** Members of a request that are no prompt (the model, how to answer, what to stream): left out of the count. */
const NOT_PROMPT: ReadonlySet<string> = new Set(['model', 'stream', 'stream_options', 'metadata', 'user', 'safety_identifier', 'prompt_cache_key', 'store', 'service_tier', 'logit_bias']);

/**
 * The prompt a model reads from a request body as text to count: every member but NOT_PROMPT's, as JSON (the tools'
 * definitions, the instructions or system prompt, response formats, tool calls and results handed back, …), with each
 * inline image (`image_url`, a base64 `source`) taken out and counted apart: its bytes are no measure of its tokens.
 */
function promptText(body: Record<string, unknown>): { text: string; images: number } {
  let images = 0;
  const text = JSON.stringify(body, function (this: unknown, key: string, value: unknown) {
    if (this === body && NOT_PROMPT.has(key)) return undefined;
    // An image part, as core/estimate.ts bounds it.
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && isImagePart(value as { type?: unknown })) {
      images++;
      return undefined;
    }
    if (key === 'image_url' && value !== null && value !== undefined && value !== '') {
      images++;
      return undefined;
    }
    if (key === 'data' && typeof value === 'string' && (this as { type?: unknown }).type === 'base64') {
      images++;
      return undefined;
    }
    return value;
  });
  return { text: text ?? '', images };
}

/**
 * Counts tokens with the tokenizer when an upstream reports no usage. Billed, so past the tokenizer's exact count
 * (EXACT_COUNT_CHARS each for the prompt and the answer) the count is an upper bound, never below what was used. The
 * input is the larger of the messages' count (OpenAI's per-message overhead) and the whole prompt's as JSON, each image
 * at IMAGE_PART_TOKENS: a count of the message text alone left out what a provider reads beside it (a tool list or
 * instructions of any length billed nothing: found by an outside review).
 */
export async function countFallbackTokens(body: Record<string, unknown> | null, answer: unknown): Promise<TokenCounts> {
  let input = 0;
  try {
    input = body ? await promptTokens(body) : 0;
  } catch {
    // A body the count cannot walk (nested past what the stack holds, if one ever got past the edge's bound): billed
    // at an upper bound rather than not at all, since the provider has run it.
    input = body ? utf8Bound(body) : 0;
  }
  let output: number;
  try {
    output = await countTokens(typeof answer === 'string' ? answer : outputText(answer), new TokenBudget('bound'));
  } catch {
    output = utf8Bound(answer);
  }
  // A spoken answer's audio, billed as audio output beside its transcript (counted above as text).
  return withAudio({ input, cached: 0, output }, body, typeof answer === 'string' ? 0 : outputAudioBytes(answer));
}

/**
 * Audio output tokens per second of speech: OpenAI bills spoken output at one token per 50 ms (its Realtime API's
 * measure; the review's 10 s of pcm16 from gpt-4o-audio-preview were reported as 200 audio tokens).
 */
const AUDIO_TOKENS_PER_SECOND = 20;
/** pcm16 (and wav, pcm16 with a header), as OpenAI speaks it: 24 kHz, mono, 2 bytes a sample. */
const PCM16_BYTES_PER_SECOND = 48_000;
/**
 * The fewest bytes a second of a compressed format (mp3, opus, aac, flac, or one Tollgate does not know) is taken to
 * take: 16 kbit/s, below what speech is coded at, so that its seconds (and tokens) are bounded from above.
 */
const COMPRESSED_BYTES_PER_SECOND = 2_000;

/**
 * The audio output tokens `bytes` of spoken answer stand for, in the format the request asked for (`audio.format`),
 * rounded up: billed when a stream is cut before its usage (never its transcript alone, at the text rate).
 */
export function audioOutputTokens(bytes: number, body: Record<string, unknown> | null): number {
  if (bytes <= 0) return 0;
  const format = (body?.audio as { format?: unknown } | null | undefined)?.format;
  const perSecond = format === 'pcm16' || format === 'wav' ? PCM16_BYTES_PER_SECOND : COMPRESSED_BYTES_PER_SECOND;
  return Math.ceil((bytes * AUDIO_TOKENS_PER_SECOND) / perSecond);
}

/** `tokens` with the audio output `audioBytes` of spoken answer stand for added (audioOutputTokens). */
function withAudio(tokens: TokenCounts, body: Record<string, unknown> | null, audioBytes: number | undefined): TokenCounts {
  const audio = audioOutputTokens(audioBytes ?? 0, body);
  if (audio === 0) return tokens;
  return { ...tokens, output: tokens.output + audio, audioOutput: (tokens.audioOutput ?? 0) + audio };
}

/**
 * Whether a request asks for spoken output: `modalities` naming `audio`, or an `audio` member (its voice and format:
 * OpenAI's chat completions). Its audio is billed at the audio output rate, which no text it shows measures: a stream
 * of it cut at a hang-up was billed its transcript at the text rate (2 % of what the provider bills: found by a review).
 */
export function asksForAudioOutput(body: Record<string, unknown> | null): boolean {
  if (body === null) return false;
  if (Array.isArray(body.modalities) && body.modalities.some((m) => typeof m === 'string' && m.toLowerCase() === 'audio')) return true;
  return body.audio !== undefined && body.audio !== null && body.audio !== false;
}

async function promptTokens(body: Record<string, unknown>): Promise<number> {
  let input = 0;
  {
    const prompt = new TokenBudget('bound');
    if (Array.isArray(body.messages)) input = await countChatPromptTokens(body.messages, prompt);
    else if (typeof body.prompt === 'string') input = await countTokens(body.prompt, prompt);
    else if (typeof body.input === 'string') input = await countTokens(body.input, prompt);
    else if (Array.isArray(body.input)) input = await countTokens(body.input.map((i) => (typeof i === 'string' ? i : contentText((i as { content?: unknown })?.content))).join('\n'), prompt);
    const whole = promptText(body);
    const all = (await countTokens(whole.text, new TokenBudget('bound'))) + whole.images * imagePartTokens(typeof body.model === 'string' ? body.model : null);
    if (all > input) input = all;
  }
  return input;
}

/**
 * An upper bound on the tokens of a JSON value, walked without recursion: its size as UTF-8 JSON at most (a token is
 * at least one byte), each UTF-16 unit of a string or name taken at 3 bytes, each other value at 24.
 */
export function utf8Bound(value: unknown): number {
  let bytes = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') bytes += 3 * v.length + 2;
    else if (v !== null && typeof v === 'object') {
      bytes += 2;
      if (Array.isArray(v)) for (const x of v) stack.push(x);
      else
        for (const [k, x] of Object.entries(v)) {
          bytes += 3 * k.length + 4;
          stack.push(x);
        }
    } else bytes += 24;
  }
  return bytes;
}

/**
 * Whether a body names input the gateway cannot count (a stored response or conversation, a file by id or URL: see
 * core/estimate.ts): a stream of it cut before its usage could not be billed what the provider read, so it is read to
 * its end when its client leaves, and billed its usage.
 */
export function readsByReference(body: Record<string, unknown> | null): boolean {
  if (body === null) return false;
  try {
    return boundTokens(body, '', 0, 0).byReference;
  } catch (err) {
    // A member the bound decides on given in two spellings (refused before forwarding only where a hard cap reads the
    // body): what the provider read cannot be told, so the stream is read on for its usage.
    if (err instanceof TollgateError) return true;
    throw err;
  }
}

/**
 * Asked when a stream's client hangs up (or the gateway cut it): whether the stream is read on to its end for its usage — its generation was
 * over, or its input cannot be counted (readsByReference), or it may have generated tokens it does not show
 * (mayReasonUnseen), or it speaks (asksForAudioOutput: its audio tokens come only in its usage); the last two not for
 * a model priced at nothing, which has nothing to bill — noted in `generation` for the relay.
 */
export function readOnAfterHangUp(
  generation: { finished: boolean },
  body: Record<string, unknown> | null,
  model: string | null = null,
  plan: MeterPlan | null = null,
  cutByGateway = false,
  showsAll: ShowsAllOutput = undefined,
): boolean {
  // Cut by the gateway (its key revoked, exposed, expired, its project archived: deadlines.ts cutByGateway): the
  // provider is stopped unless only the usage is still to come; billed what it delivered.
  if (cutByGateway) return generation.finished;
  if (!generation.finished && wouldReadOn(body, model, plan, showsAll)) generation.finished = true;
  return generation.finished;
}

/** Whether a stream whose generation is not over is read on to its usage when its client leaves (readOnAfterHangUp). */
export function wouldReadOn(body: Record<string, unknown> | null, model: string | null, plan: MeterPlan | null, showsAll: ShowsAllOutput): boolean {
  if (readsByReference(body) || runsUnseen(plan)) return true;
  return (mayReasonUnseen(model, body, showsAll) || asksForAudioOutput(body)) && !isFreeOfCharge(plan?.price ?? null);
}

/**
 * The operator's word on which models of a provider show all they generate (its `shows_all_output`), or undefined: a
 * provider of the file only (one added at run time, or from OPENAI_API_KEY, has none). Asked at a hang-up only, of
 * the provider the request is at then (a fallback's, after one).
 */
export function showsAllOutputOf(providers: readonly ProviderConfig[], provider: string | null): ShowsAllOutput {
  if (provider === null) return undefined;
  for (const p of providers) if (p.name === provider) return p.showsAllOutput;
  return undefined;
}

/**
 * Whether a model call runs steps its stream shows only in its final usage: hosted tools (a web search or fetch, code
 * run, an MCP server's results read in a later step), server-side compaction, a stored prompt's template. Anthropic's
 * message_start reports the first step's input only: cut at a hang-up, a web fetch's 100,000 input tokens were billed
 * 1,200 (found by an outside review).
 */
function runsUnseen(plan: MeterPlan | null): boolean {
  return plan !== null && plan.kind === 'tokens' && plan.unmeterable;
}

/**
 * The model families known to generate nothing they do not show unless asked to (asksForReasoning): OpenAI's GPT-4
 * family (GPT-4, GPT-4 Turbo, GPT-4o, GPT-4.1, GPT-4.5, ChatGPT-4o), GPT-3.5, its audio and legacy completion models
 * (fine-tuned ones too), Anthropic's Claude (it thinks only with `thinking`), Google's Gemini 1.x and 2.0. A name after a
 * provider's prefix (`openai/gpt-4o`) counts as the name. Every other model may reason unseen: OpenAI's o-series,
 * GPT-5, Codex and gpt-oss, Gemini 2.5 and 3 (which think by default), xAI's Grok (grok-3-mini, grok-4), Qwen3,
 * DeepSeek's reasoner and R1, and any name Tollgate does not know, as a compatible server may serve anything under it.
 * An operator names the models of a provider that show all they generate beside these (`shows_all_output`).
 */
const SHOWS_ALL = /^(?:[\w.-]+\/)?(?:ft:)?(?:gpt-4|gpt-3\.5|chatgpt-4o|gpt-audio|davinci-002|babbage-002|claude-|gemini-1\.|gemini-2\.0-)/i;
/** A name that says it reasons or thinks (OpenRouter's `:thinking` variants, Gemini 2.0's `-thinking-exp`): never taken for one that shows all. */
const SAYS_IT_REASONS = /think|reason/i;

/**
 * Whether a model call may generate tokens its stream does not show (reasoning, thinking summarised or omitted): a
 * model not known to show all it generates (SHOWS_ALL), or a request to one asking for reasoning (asksForReasoning).
 * Cut when its client hangs up, it was billed only the text it delivered, while the provider bills the reasoning
 * generated before that text (80–95 % of such a call: found by an outside review, a client reading to a marker it asked
 * the model to write, then hanging up). The default is to read on: a list of the reasoning models of every provider
 * missed Gemini's, Grok's and Qwen's (found by a review: 6 output tokens billed of 10,010 on gemini-2.5-pro), and a
 * compatible server may serve a reasoning model under any name; a request's own word that it wants no reasoning
 * (`reasoning_effort: "none"`) is taken only for a model known to show all. The operator's word (`showsAll`, its
 * provider's `shows_all_output`) makes a model known to show all: a Llama read on to its `max_tokens` at each hang-up
 * was generated and paid for past where its client left.
 */
export function mayReasonUnseen(model: string | null, body: Record<string, unknown> | null, showsAll: ShowsAllOutput = undefined): boolean {
  if (model === null) return true;
  if (!operatorSaysShowsAll(showsAll, model) && (!SHOWS_ALL.test(model) || SAYS_IT_REASONS.test(model))) return true;
  return body !== null && asksForReasoning(body);
}

/**
 * A provider's `shows_all_output` (gateway-config.ts): `true` for every model of it, or model names and `prefix*`
 * patterns, matched as routes are (case as written).
 */
export type ShowsAllOutput = true | readonly string[] | undefined;

/**
 * Whether the operator said a model shows all it generates: the operator's word wins over the built-in default, even
 * for a name that speaks of reasoning (SAYS_IT_REASONS): it is their server, and reasoning it shows in the stream
 * (`reasoning_content`) is counted when a stream is cut. A request that asks for reasoning is still read on.
 */
function operatorSaysShowsAll(showsAll: ShowsAllOutput, model: string): boolean {
  if (showsAll === undefined) return false;
  if (showsAll === true) return true;
  for (const p of showsAll) if (p.endsWith('*') ? model.startsWith(p.slice(0, -1)) : p === model) return true;
  return false;
}

/**
 * Whether a request asks for reasoning or thinking: `reasoning` (OpenAI's Responses API, OpenRouter), a
 * `reasoning_effort` other than `none`, Anthropic's `thinking` not `disabled`, or any other top-level member whose
 * name speaks of reasoning or thinking (OpenRouter's `include_reasoning`, a server's `enable_thinking`), set to
 * anything but `null` or `false`, or Anthropic's `output_config.effort`.
 */
function asksForReasoning(body: Record<string, unknown>): boolean {
  for (const [key, value] of Object.entries(body)) {
    // Anthropic's effort (an OpenAI client's reasoning_effort, translated): a model that thinks adaptively spends it.
    if (key === 'output_config' && typeof value === 'object' && value !== null && (value as { effort?: unknown }).effort != null) return true;
    if (value === undefined || value === null || value === false || !SAYS_IT_REASONS.test(key)) continue;
    if (key === 'reasoning_effort' && value === 'none') continue;
    if (key === 'thinking' && typeof value === 'object' && (value as { type?: unknown }).type === 'disabled') continue;
    return true;
  }
  return false;
}

/**
 * The tokens of a streamed model answer: the usage it reported when its final usage came (a chat usage chunk, a final
 * Response, Anthropic's message_delta naming output_tokens); else at least the output it delivered, counted by the
 * tokenizer, whether the stream was cut (by the upstream, or its client gone) or ended without that usage, since the
 * usage reported so far was not the last (Anthropic's message_start reports 1 output token, its message_delta the real
 * count). Found by an outside review: an Anthropic-compatible server whose message_delta carried no usage had a
 * 500-word answer billed 1 output token.
 */
export async function streamedTokens(
  body: Record<string, unknown> | null,
  r: { final: boolean; tokens: TokenCounts | null; text: string; audioBytes?: number },
): Promise<TokenCounts> {
  // Spoken output delivered (audioBytes) is billed as audio output beside its transcript, counted as text.
  if (r.tokens === null) return withAudio(await countFallbackTokens(body, r.text), body, r.audioBytes);
  const tokens = r.tokens.inputUnnamed ? await withInputCounted(body, r.tokens) : r.tokens;
  // A usage naming no output (outputUnnamed) is no count of it, final or not.
  if ((r.final && !tokens.outputUnnamed) || (r.text === '' && !r.audioBytes)) return tokens;
  // Billed: an upper bound past the exact count.
  const delivered = withAudio({ input: 0, cached: 0, output: r.text === '' ? 0 : await countTokens(r.text, new TokenBudget('bound')) }, body, r.audioBytes);
  const audioOutput = Math.max(tokens.audioOutput ?? 0, delivered.audioOutput ?? 0);
  if (delivered.output <= tokens.output && audioOutput === (tokens.audioOutput ?? 0)) return tokens;
  return { ...tokens, output: Math.max(tokens.output, delivered.output), ...(audioOutput > 0 ? { audioOutput } : {}) };
}

/**
 * Reported usage that names no input at all (no prompt_tokens, input_tokens or cache counts: an Anthropic-compatible
 * server whose message_start carries no usage, an OpenAI-compatible one whose usage has no prompt_tokens) is billed
 * the gateway's own count of the prompt for its input, as an answer with no usage is: the provider read it. Input
 * the usage names is taken as named, 0 included (the provider's word).
 */
export async function withInputCounted(body: Record<string, unknown> | null, tokens: TokenCounts): Promise<TokenCounts> {
  if (!tokens.inputUnnamed || body === null) return tokens;
  const input = (await countFallbackTokens(body, '')).input;
  return input > 0 ? { ...tokens, input } : tokens;
}

/**
 * withInputCounted, and for a usage that names no output (a `prompt_tokens` without `completion_tokens`: outputUnnamed)
 * the gateway's own count of the answer's generated text (`answer`, the parsed answer), as an answer with no usage is
 * counted: 0 for want of a count is not the provider's word.
 */
export async function withUnnamedCounted(body: Record<string, unknown> | null, tokens: TokenCounts, answer: unknown): Promise<TokenCounts> {
  const counted = await withInputCounted(body, tokens);
  if (!counted.outputUnnamed) return counted;
  const output = (await countFallbackTokens(null, answer)).output;
  return output > counted.output ? { ...counted, output } : counted;
}
