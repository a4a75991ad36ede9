import { contentText, countChatPromptTokens, countTokens, decodeTokens, type GeneratedText, generatedText } from '../core/tokenizer.js';
import {
  checkKnown,
  KNOWN_PARAMETERS,
  nonEmptyArray,
  optionalBoolean,
  optionalEnum,
  optionalInteger,
  required,
  SERVICE_TIERS,
  samplingParameters,
  servedServiceTier,
  streamParameters,
  typeName,
} from './echo-checks.js';
import { chatOutput } from './echo-output.js';
import { type EchoEvent, json, refuse, sse } from './echo-wire.js';
import type { UpstreamResponse } from '../core/upstream.js';

// Chat completions and (legacy) completions of the built-in model: the answer is the last user message (or the
// prompt), cut by `stop` and `max_tokens` as a model's would be, in OpenAI's objects and chunks.

type Body = Record<string, unknown>;

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'] as const;

/** Checks each message as OpenAI does (an object, a known role, content where the role needs it). */
function checkMessages(body: Body): unknown[] {
  const messages = nonEmptyArray(required(body, 'messages'), 'messages');
  messages.forEach((m, i) => {
    const at = `messages[${i}]`;
    if (!m || typeof m !== 'object' || Array.isArray(m)) refuse('invalid_type', `Invalid type for '${at}': expected an object, but got ${typeName(m)} instead.`, at);
    const message = m as Body;
    if (message.role === undefined) refuse('missing_required_parameter', `Missing required parameter: '${at}.role'.`, `${at}.role`);
    optionalEnum(message, 'role', ROLES);
    const content = message.content;
    const optional = message.role === 'assistant' && (message.tool_calls !== undefined || message.function_call !== undefined);
    if ((content === undefined || content === null) && !optional && message.role !== 'assistant') {
      refuse('missing_required_parameter', `Missing required parameter: '${at}.content'.`, `${at}.content`);
    }
    if (content !== undefined && content !== null && typeof content !== 'string' && !Array.isArray(content)) {
      refuse('invalid_type', `Invalid type for '${at}.content': expected one of a string or array of objects, but got ${typeName(content)} instead.`, `${at}.content`);
    }
    if (message.role === 'tool' && typeof message.tool_call_id !== 'string') {
      refuse('missing_required_parameter', `Missing required parameter: '${at}.tool_call_id'.`, `${at}.tool_call_id`);
    }
  });
  return messages;
}

/** `stop`: a string or up to 4 strings. */
function stopSequences(body: Body): string[] {
  const stop = body.stop;
  if (stop === undefined || stop === null) return [];
  const list = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(list) || list.some((s) => typeof s !== 'string')) {
    return refuse('invalid_type', `Invalid type for 'stop': expected one of a string or array of strings, but got ${typeName(stop)} instead.`, 'stop');
  }
  if (list.length > 4) refuse('invalid_value', `Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length ${list.length} instead.`, 'stop');
  return list.filter((s) => s.length > 0);
}

/** The text up to the first stop sequence, and whether one was met. */
function cutAtStop(text: string, stops: string[]): { text: string; stopped: boolean } {
  let end = text.length;
  for (const s of stops) {
    const at = text.indexOf(s);
    if (at >= 0 && at < end) end = at;
  }
  return { text: text.slice(0, end), stopped: end < text.length };
}

/** The last user message's text: what the echo model answers. */
export function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: string; content?: unknown };
    if (m?.role === 'user') return contentText(m.content);
  }
  return '';
}

/** Chat logprobs of a deterministic model: every token had probability 1 (logprob 0), and no alternative. */
function chatLogprobs(out: GeneratedText) {
  return {
    content: out.pieces.map((token) => {
      const bytes = [...Buffer.from(token)];
      return { token, logprob: 0, bytes, top_logprobs: [{ token, logprob: 0, bytes }] };
    }),
    refusal: null,
  };
}

/** `POST /chat/completions`. */
export async function chatCompletion(body: Body, id: string, created: number, model: string): Promise<UpstreamResponse> {
  checkKnown(body, KNOWN_PARAMETERS.chat);
  const messages = checkMessages(body);
  const { stream, includeUsage } = streamParameters(body);
  samplingParameters(body);
  const serviceTier = servedServiceTier(body, SERVICE_TIERS.chat);
  const n = optionalInteger(body, 'n', 1, 128) ?? 1;
  const logprobs = optionalBoolean(body, 'logprobs') === true;
  const topLogprobs = optionalInteger(body, 'top_logprobs', 0, 20);
  if (topLogprobs !== undefined && !logprobs) refuse('invalid_value', "'top_logprobs' requires 'logprobs' to be true.", 'top_logprobs');
  const max = optionalInteger(body, 'max_completion_tokens', 1) ?? optionalInteger(body, 'max_tokens', 1);
  const output = chatOutput(body, () => messages.map((m) => contentText((m as Body).content)));
  const cut = cutAtStop(lastUserText(messages), stopSequences(body));
  // The answer's text: the echo, or JSON built from it (response_format, a forced tool call's arguments).
  const out = await generatedText(output.kind === 'text' ? cut.text : output.build(cut.text), max);
  const toolName = output.kind === 'tool' ? output.name : null;
  const finish = out.truncated ? 'length' : toolName !== null ? 'tool_calls' : 'stop';
  const prompt = await countChatPromptTokens(messages);
  const usage = {
    prompt_tokens: prompt,
    completion_tokens: out.tokens * n,
    total_tokens: prompt + out.tokens * n,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
  const choices = Array.from({ length: n }, (_, index) => index);
  const callId = (index: number) => `call_${id.slice('chatcmpl-'.length, 'chatcmpl-'.length + 22)}${n > 1 ? `_${index}` : ''}`;
  const base = { id, object: 'chat.completion', created, model, service_tier: serviceTier, system_fingerprint: 'fp_tollgate_echo' };
  if (!stream) {
    return json(200, {
      ...base,
      choices: choices.map((index) => ({
        index,
        message:
          toolName === null
            ? { role: 'assistant', content: out.text, refusal: null, annotations: [] }
            : { role: 'assistant', content: null, tool_calls: [{ id: callId(index), type: 'function', function: { name: toolName, arguments: out.text } }], refusal: null, annotations: [] },
        logprobs: logprobs && toolName === null ? chatLogprobs(out) : null,
        finish_reason: finish,
      })),
      usage,
    });
  }
  // OpenAI sends `"usage": null` in every chunk of a stream that asked for usage, then a last chunk with it.
  const chunk = { ...base, object: 'chat.completion.chunk', ...(includeUsage ? { usage: null } : {}) };
  const events: EchoEvent[] = [];
  for (const index of choices) {
    if (toolName === null) {
      events.push({ data: { ...chunk, choices: [{ index, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }] } });
      for (const piece of out.pieces) {
        const lp = logprobs ? chatLogprobs({ ...out, pieces: [piece] }) : null;
        events.push({ data: { ...chunk, choices: [{ index, delta: { content: piece }, logprobs: lp, finish_reason: null }] } });
      }
    } else {
      // A tool call streams as OpenAI's do: its id and name with empty arguments, then the arguments in pieces.
      const first = { role: 'assistant', content: null, tool_calls: [{ index: 0, id: callId(index), type: 'function', function: { name: toolName, arguments: '' } }], refusal: null };
      events.push({ data: { ...chunk, choices: [{ index, delta: first, logprobs: null, finish_reason: null }] } });
      for (const piece of out.pieces) {
        events.push({ data: { ...chunk, choices: [{ index, delta: { tool_calls: [{ index: 0, function: { arguments: piece } }] }, logprobs: null, finish_reason: null }] } });
      }
    }
    events.push({ data: { ...chunk, choices: [{ index, delta: {}, logprobs: null, finish_reason: finish }] } });
  }
  if (includeUsage) events.push({ data: { ...chunk, choices: [], usage } });
  events.push('[DONE]');
  return sse(events);
}

/** A prompt as OpenAI takes it: a string, strings, token ids, or arrays of token ids. */
async function promptTexts(prompt: unknown): Promise<string[]> {
  const isIds = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x >= 0 && x < 200_019);
  if (typeof prompt === 'string') return [prompt];
  if (isIds(prompt)) return [await decodeTokens(prompt)];
  if (Array.isArray(prompt) && prompt.length > 0) {
    if (prompt.every((p) => typeof p === 'string')) return prompt as string[];
    if (prompt.every(isIds)) return Promise.all((prompt as number[][]).map(decodeTokens));
  }
  return refuse(
    'invalid_type',
    `Invalid type for 'prompt': expected one of a string, array of strings, array of integers (token ids) or array of arrays of integers, but got ${typeName(prompt)} instead.`,
    'prompt',
  );
}

/** `POST /completions`: one choice per prompt and per `n`, each echoing its prompt. */
export async function completion(body: Body, id: string, created: number, model: string): Promise<UpstreamResponse> {
  checkKnown(body, KNOWN_PARAMETERS.completions);
  const prompts = await promptTexts(required(body, 'prompt'));
  const { stream, includeUsage } = streamParameters(body);
  samplingParameters(body);
  const n = optionalInteger(body, 'n', 1, 128) ?? 1;
  const bestOf = optionalInteger(body, 'best_of', 1, 20);
  if (bestOf !== undefined && bestOf < n) refuse('invalid_value', "'best_of' must be greater than or equal to 'n'.", 'best_of');
  if (bestOf !== undefined && bestOf > 1 && stream) refuse('invalid_value', "'best_of' cannot be used with 'stream'.", 'best_of');
  const logprobs = optionalInteger(body, 'logprobs', 0, 5);
  const echo = optionalBoolean(body, 'echo') === true;
  const max = optionalInteger(body, 'max_tokens', 0) ?? 16;
  const stops = stopSequences(body);
  let promptTokens = 0;
  let completionTokens = 0;
  const choices: Array<{ text: string; pieces: string[]; finish: string }> = [];
  for (const p of prompts) {
    promptTokens += await countTokens(p);
    const cut = cutAtStop(p, stops);
    const out = await generatedText(cut.text, max);
    for (let i = 0; i < n; i++) {
      completionTokens += out.tokens;
      choices.push({ text: (echo ? p : '') + out.text, pieces: echo ? [p, ...out.pieces] : out.pieces, finish: out.truncated ? 'length' : 'stop' });
    }
  }
  const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
  // Logprobs of a deterministic model: each token had probability 1.
  const lp = (pieces: string[]) => {
    if (logprobs === undefined) return null;
    const text_offset: number[] = [];
    let offset = 0;
    for (const p of pieces) {
      text_offset.push(offset);
      offset += p.length;
    }
    return { tokens: pieces, token_logprobs: pieces.map(() => 0), top_logprobs: pieces.map((t) => ({ [t]: 0 })), text_offset };
  };
  const base = { id, object: 'text_completion', created, model, system_fingerprint: 'fp_tollgate_echo' };
  if (!stream) {
    return json(200, { ...base, choices: choices.map((c, index) => ({ index, text: c.text, logprobs: lp(c.pieces), finish_reason: c.finish })), usage });
  }
  const events: EchoEvent[] = [];
  choices.forEach((c, index) => {
    for (const piece of c.pieces) events.push({ data: { ...base, choices: [{ index, text: piece, logprobs: lp([piece]), finish_reason: null }] } });
    events.push({ data: { ...base, choices: [{ index, text: '', logprobs: null, finish_reason: c.finish }] } });
  });
  if (includeUsage) events.push({ data: { ...base, choices: [], usage } });
  events.push('[DONE]');
  return sse(events);
}
