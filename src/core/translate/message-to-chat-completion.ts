import { TollgateError } from '../errors.js';
import type { TokenCounts } from '../pricing.js';
import { anthropicServiceTier, openAIAnswerServiceTier } from '../service-tier.js';
import { anthropicTokens, tokensFromUsage } from '../usage-extract.js';
import { chatUsageOf, isObject, type Json, thinkingTokensOf } from './shared.js';
import { finishReasonOf } from './stop-reasons.js';

// An Anthropic message (the answer of `POST /v1/messages`) as an OpenAI chat completion, for a client that called a
// Claude model through `/v1/chat/completions`. Text blocks become the message's content, tool_use blocks its
// tool_calls; thinking is not shown (as OpenAI's reasoning models do not show theirs), its tokens are in
// completion_tokens.

/** Content blocks left out of a chat completion: the model's thinking. */
export const HIDDEN_BLOCKS: ReadonlySet<string> = new Set(['thinking', 'redacted_thinking']);

/**
 * The chat completion of an Anthropic message; throws a 502 when the message is not one Tollgate can read.
 * `counted`: the counts billed when the message reports no usage (the tokenizer's), shown in its place.
 */
export function messageToChatCompletion(message: unknown, o: { created: number; counted?: TokenCounts }): Json {
  if (!isObject(message) || !Array.isArray(message.content)) throw unreadable('it is not a message');
  let text: string | null = null;
  const toolCalls: Json[] = [];
  for (const block of message.content) {
    if (!isObject(block)) throw unreadable('a content block is not an object');
    if (block.type === 'text') text = (text ?? '') + String(block.text ?? '');
    else if (block.type === 'tool_use') {
      toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } });
    } else if (!HIDDEN_BLOCKS.has(String(block.type))) throw unreadable(`a '${String(block.type)}' content block has no place in a chat completion`);
  }
  const assistant: Json = { role: 'assistant', content: text, refusal: null };
  if (toolCalls.length > 0) assistant.tool_calls = toolCalls;
  const usage = isObject(message.usage) ? message.usage : {};
  const completion: Json = {
    id: message.id,
    object: 'chat.completion',
    created: o.created,
    model: message.model,
    choices: [{ index: 0, message: assistant, logprobs: null, finish_reason: finishReasonOf(message.stop_reason) ?? 'stop' }],
    usage: chatUsageOf((tokensFromUsage(message.usage) === null ? o.counted : undefined) ?? anthropicTokens(usage), thinkingTokensOf(usage)),
  };
  // The tier it ran at, by OpenAI's name (Anthropic's `standard` is `default`), when OpenAI has one for it.
  const tier = openAIAnswerServiceTier(anthropicServiceTier(usage.service_tier));
  if (tier !== null) completion.service_tier = tier;
  return completion;
}

const unreadable = (why: string) => new TollgateError('upstream_error', `The Anthropic provider's answer could not be translated to a chat completion: ${why}.`);
