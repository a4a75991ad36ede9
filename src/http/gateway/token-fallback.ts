import type { TokenCounts } from '../../core/pricing.js';
import { outputText } from '../../core/usage-extract.js';
import { contentText, countChatPromptTokens, countTokens, TokenBudget } from '../../core/tokenizer.js';

/**
 * Counts tokens with the tokenizer when an upstream reports no usage. Billed, so past the tokenizer's exact count
 * (EXACT_COUNT_CHARS each for the prompt and the answer) the count is an upper bound, never below what was used.
 */
export async function countFallbackTokens(body: Record<string, unknown> | null, answer: unknown): Promise<TokenCounts> {
  let input = 0;
  const prompt = new TokenBudget('bound');
  if (body) {
    if (Array.isArray(body.messages)) input = await countChatPromptTokens(body.messages, prompt);
    else if (typeof body.prompt === 'string') input = await countTokens(body.prompt, prompt);
    else if (typeof body.input === 'string') input = await countTokens(body.input, prompt);
    else if (Array.isArray(body.input)) input = await countTokens(body.input.map((i) => (typeof i === 'string' ? i : contentText((i as { content?: unknown })?.content))).join('\n'), prompt);
  }
  const text = typeof answer === 'string' ? answer : outputText(answer);
  return { input, cached: 0, output: await countTokens(text, new TokenBudget('bound')) };
}

/**
 * The tokens of a streamed model answer: the usage it reported when it ended properly or its final usage came (a chat
 * usage chunk, Anthropic's message_delta); else (cut by the upstream, or its client gone) at least the output it
 * delivered, counted by the tokenizer, since the usage reported so far was not the last (Anthropic's message_start
 * reports 1 output token, its message_delta the real count).
 */
export async function streamedTokens(body: Record<string, unknown> | null, r: { complete: boolean; final: boolean; tokens: TokenCounts | null; text: string }): Promise<TokenCounts> {
  if (r.tokens === null) return countFallbackTokens(body, r.text);
  if (r.complete || r.final || r.text === '') return r.tokens;
  // Billed: an upper bound past the exact count.
  const delivered = await countTokens(r.text, new TokenBudget('bound'));
  return delivered > r.tokens.output ? { ...r.tokens, output: delivered } : r.tokens;
}
