import { Tiktoken, type TiktokenBPE } from 'js-tiktoken/lite';

// Token counts when an upstream gives none (and for the echo model): o200k_base, the encoding of the
// gpt-4o and later families. Loaded on first use, so a gateway that always gets `usage` never pays for it.

let encoder: Promise<Tiktoken> | null = null;

/** Loads the encoder once; concurrent first callers share one load (building it costs ~0.3 s of CPU). */
export function loadTokenizer(): Promise<Tiktoken> {
  encoder ??= import('js-tiktoken/ranks/o200k_base').then(({ default: ranks }) => buildEncoder(ranks));
  return encoder;
}

/**
 * The encoder `new Tiktoken(ranks)` builds, for well under half its CPU (o200k: ~0.28 s against ~0.65 s; every server
 * process and test worker builds one). The library's constructor first gathers all 200,000 tokens into one object, then
 * decodes each with a JavaScript base64; this fills the encoder's two tables straight from the rank text, decoding with
 * Buffer. The tables are the library's internals (`rankMap`: bytes joined by commas → rank; `textMap`: rank → bytes),
 * so tokenizer.test.ts compares them, every token, with the library's own build: a version that changes them fails there.
 */
export function buildEncoder(ranks: TiktokenBPE): Tiktoken {
  const built = new Tiktoken({ pat_str: ranks.pat_str, special_tokens: ranks.special_tokens, bpe_ranks: '' });
  const { rankMap, textMap } = built as unknown as { rankMap: Map<string, number>; textMap: Map<number, Uint8Array> };
  // Each line: a prefix, the first rank, then the tokens (base64) of consecutive ranks.
  for (const line of ranks.bpe_ranks.split('\n')) {
    if (!line) continue;
    const fields = line.split(' ');
    let rank = Number.parseInt(fields[1], 10);
    for (let i = 2; i < fields.length; i++, rank++) {
      const bytes = Buffer.from(fields[i], 'base64');
      rankMap.set(bytes.join(','), rank);
      textMap.set(rank, bytes);
    }
  }
  return built;
}

const load = loadTokenizer;

/** Number of tokens in a text. */
export async function countTokens(text: string): Promise<number> {
  if (!text) return 0;
  return (await load()).encode(text).length;
}

/** An answer's text as a model generates it: its tokens (at most `max`), as text pieces to stream. */
export interface GeneratedText {
  /** The text of the tokens kept. */
  text: string;
  /** Pieces that join to `text`: one per token, except where a character spans tokens (kept whole). */
  pieces: string[];
  tokens: number;
  /** Whether `max` cut the text short. */
  truncated: boolean;
}

/** Splits a text into tokens, keeping at most `max` (for the echo model's answers and their streams). */
export async function generatedText(text: string, max = Number.POSITIVE_INFINITY): Promise<GeneratedText> {
  const enc = await load();
  const all = enc.encode(text);
  const truncated = all.length > max;
  const ids = truncated ? all.slice(0, max) : all;
  const pieces: string[] = [];
  let from = 0;
  for (let i = 0; i < ids.length; i++) {
    // A token that ends inside a multi-byte character decodes to U+FFFD: it waits for the tokens that complete it.
    const piece = enc.decode(ids.slice(from, i + 1));
    if (piece.endsWith('\ufffd') && i + 1 < ids.length && i - from < 4) continue;
    pieces.push(piece);
    from = i + 1;
  }
  return { text: truncated ? pieces.join('') : text, pieces, tokens: ids.length, truncated };
}

/** The text of token ids (a prompt sent as tokens). */
export async function decodeTokens(ids: number[]): Promise<string> {
  return (await load()).decode(ids);
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
