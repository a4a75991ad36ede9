import { Tiktoken } from 'js-tiktoken/lite';

// Token counts when an upstream gives none (and for the echo model): o200k_base, the encoding of the
// gpt-4o and later families. Loaded on first use, so a gateway that always gets `usage` never pays for it.

let encoder: Promise<Tiktoken> | null = null;

/** Loads the encoder once; concurrent first callers share one load (building it costs ~0.3 s of CPU). */
export function loadTokenizer(): Promise<Tiktoken> {
  encoder ??= import('js-tiktoken/ranks/o200k_base').then(({ default: ranks }) => new Tiktoken(ranks));
  return encoder;
}

const load = loadTokenizer;

/** Number of tokens in a text. */
export async function countTokens(text: string): Promise<number> {
  if (!text) return 0;
  return (await load()).encode(text).length;
}

/** Splits a text into its tokens' strings (for streaming the echo model token by token). */
export async function tokenPieces(text: string): Promise<string[]> {
  const enc = await load();
  return enc.encode(text).map((t) => enc.decode([t]));
}

/** Tokens of a chat request's messages, with OpenAI's per-message overhead (3 per message + 3 for the reply). */
export async function countChatPromptTokens(messages: unknown): Promise<number> {
  if (!Array.isArray(messages)) return 0;
  let total = 3;
  for (const m of messages) {
    total += 3;
    if (m && typeof m === 'object') {
      for (const [k, v] of Object.entries(m)) {
        if (k === 'content') total += await countTokens(contentText(v));
        else if (typeof v === 'string') total += await countTokens(v);
      }
    }
  }
  return total;
}

/** The text of a message content (string or array of parts). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : ''))
      .join('');
  }
  return '';
}
