import { TollgateError } from '../errors.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../json-depth.js';
import type { TokenCounts } from '../pricing.js';
import { answeredServiceTier, anthropicAnswerServiceTier } from '../service-tier.js';
import { tokensFromUsage } from '../usage-extract.js';
import { anthropicUsageOf, isObject, type Json, messageId } from './shared.js';
import { stopReasonOf } from './stop-reasons.js';

// An OpenAI chat completion as an Anthropic message, for an Anthropic-SDK client that called an OpenAI model through
// `/v1/messages`: the first choice's content becomes a text block, a refusal a text block with stop_reason `refusal`,
// each tool call a tool_use block (its arguments parsed to the object Anthropic's clients expect; arguments cut off by
// max_tokens are `{}`, and the answer's stop_reason `max_tokens`).

/**
 * The Anthropic message of a chat completion; throws a 502 when the completion is not one Tollgate can read.
 * `counted`: the counts billed when the completion reports no usage (the tokenizer's), shown in its place; `requestId`:
 * Tollgate's id of the request, for the message's id when the completion has none.
 */
export function chatCompletionToMessage(completion: unknown, o: { model: string; counted?: TokenCounts; requestId?: string }): Json {
  if (!isObject(completion) || !Array.isArray(completion.choices)) throw unreadable('it is not a chat completion');
  const choice = completion.choices[0];
  const message = isObject(choice) && isObject(choice.message) ? choice.message : {};
  const content: Json[] = [];
  let stopReason = stopReasonOf(isObject(choice) ? choice.finish_reason : null) ?? 'end_turn';
  if (typeof message.content === 'string' && message.content !== '') content.push({ type: 'text', text: message.content });
  if (typeof message.refusal === 'string' && message.refusal !== '') {
    content.push({ type: 'text', text: message.refusal });
    stopReason = 'refusal';
  }
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls) {
      const fn = isObject(call) && isObject(call.function) ? call.function : null;
      if (!fn) throw unreadable('a tool call is not a function call');
      const input = toolInput(fn.arguments);
      content.push({ type: 'tool_use', id: call.id, name: fn.name, input: input ?? {} });
      // A call whose arguments are no whole JSON object was cut off (or is none the client could run): the answer
      // ends as Anthropic ends one cut inside a tool call, and as the same answer streamed ends.
      if (input === null && stopReason !== 'refusal') stopReason = 'max_tokens';
    }
    // Tool calls under finish_reason `stop` (Ollama's and vLLM's servers, OpenAI's own for a named tool_choice) are
    // calls to run all the same: agent loops run them on stop_reason tool_use, and end_turn ended the loop.
    if (message.tool_calls.length > 0 && stopReason === 'end_turn') stopReason = 'tool_use';
  }
  const tokens = tokensFromUsage(completion.usage) ?? o.counted ?? { input: 0, cached: 0, output: 0 };
  const usage = anthropicUsageOf(tokens);
  // The tier it ran at, by Anthropic's name (OpenAI's `default` is `standard`), when Anthropic has one for it.
  const tier = anthropicAnswerServiceTier(answeredServiceTier(completion.service_tier));
  if (tier !== null) usage.service_tier = tier;
  return {
    id: messageId(completion.id, o.requestId),
    type: 'message',
    role: 'assistant',
    model: typeof completion.model === 'string' && completion.model !== '' ? completion.model : o.model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage,
  };
}

/**
 * A tool call's arguments as the JSON object Anthropic's tool_use input is, or null when they are no whole JSON object
 * (cut off by max_tokens: `{"location": "Par`), which the caller sends as `{}`. Arguments nested past what the
 * translation can walk are refused (502).
 */
function toolInput(args: unknown): Json | null {
  if (args === undefined || args === null || args === '') return {};
  // Some OpenAI-compatible servers give the arguments as an object rather than as its JSON text.
  if (isObject(args)) return args;
  if (typeof args !== 'string') return null;
  if (exceedsJsonDepth(args)) throw unreadable(`a tool call's arguments nest more than ${MAX_JSON_DEPTH} levels deep`);
  try {
    const input: unknown = JSON.parse(args);
    return isObject(input) ? input : null;
  } catch {
    return null;
  }
}

const unreadable = (why: string) => new TollgateError('upstream_error', `The OpenAI-compatible provider's answer could not be translated to an Anthropic message: ${why}.`);
