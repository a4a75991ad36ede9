import { TollgateError } from '../errors.js';
import type { TokenCounts } from '../pricing.js';
import { answeredServiceTier, anthropicAnswerServiceTier } from '../service-tier.js';
import { tokensFromUsage } from '../usage-extract.js';
import { anthropicUsageOf, isObject, type Json, messageId } from './shared.js';
import { stopReasonOf } from './stop-reasons.js';

// An OpenAI chat completion as an Anthropic message, for an Anthropic-SDK client that called an OpenAI model through
// `/v1/messages`: the first choice's content becomes a text block, a refusal a text block with stop_reason `refusal`,
// each tool call a tool_use block (its arguments parsed to the object Anthropic's clients expect).

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
      content.push({ type: 'tool_use', id: call.id, name: fn.name, input: toolInput(fn.arguments) });
    }
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

/** A tool call's arguments as the JSON object Anthropic's tool_use input is. */
function toolInput(args: unknown): Json {
  if (args === undefined || args === '') return {};
  try {
    const input: unknown = JSON.parse(String(args));
    if (isObject(input)) return input;
  } catch {
    // not JSON: refused below
  }
  throw unreadable('a tool call\'s arguments are not a JSON object');
}

const unreadable = (why: string) => new TollgateError('upstream_error', `The OpenAI-compatible provider's answer could not be translated to an Anthropic message: ${why}.`);
