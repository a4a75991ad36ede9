import type { TiktokenBPE } from 'js-tiktoken/lite';

// Token counts when an upstream gives none (and for the echo model): o200k_base, the encoding of the
// gpt-4o and later families. Loaded on first use, so a gateway that always gets `usage` never pays for it.

/** The o200k encoder: a text's token ids, and the text of ids. */
export interface Encoder {
  /**
   * The token ids of `text`. A text that spells a special token (`<|endoftext|>`) is encoded as the characters it is
   * (a client's text is text: js-tiktoken throws on it by default, and a count that threw left a stream cut before its
   * usage unbilled), unless `allowedSpecial` is `'all'`: then the special token's id.
   */
  encode(text: string, allowedSpecial?: 'all'): number[];
  decode(ids: number[]): string;
}

let encoder: Promise<BpeEncoder> | null = null;

/** Loads the encoder once; concurrent first callers share one load (building it costs ~0.3 s of CPU). */
export function loadTokenizer(): Promise<BpeEncoder> {
  encoder ??= import('js-tiktoken/ranks/o200k_base').then(({ default: ranks }) => buildEncoder(ranks));
  return encoder;
}

/**
 * The encoder, built from the rank file (o200k: ~0.3 s of CPU, against ~0.65 s for js-tiktoken's `new Tiktoken(ranks)`,
 * which first gathers all 200,000 tokens into one object, then decodes each with a JavaScript base64; every server
 * process and test worker builds one). Each token is kept once, as its bytes in a latin1 string (one character a byte:
 * an ASCII piece is its own key), in the rank table and the decoding table both: ~14 MB of heap where js-tiktoken's
 * tables (a Uint8Array per token, keys of bytes joined by commas) took ~43. tokenizer.test.ts holds both tables to the
 * rank file, every token, and the ids to the library's own.
 */
export function buildEncoder(ranks: TiktokenBPE): BpeEncoder {
  const byBytes = new Map<string, number>();
  const tokens: string[] = [];
  // Each line: a prefix, the first rank, then the tokens (base64) of consecutive ranks.
  for (const line of ranks.bpe_ranks.split('\n')) {
    if (!line) continue;
    const fields = line.split(' ');
    let rank = Number.parseInt(fields[1], 10);
    for (let i = 2; i < fields.length; i++, rank++) {
      const bytes = Buffer.from(fields[i], 'base64').toString('latin1');
      byBytes.set(bytes, rank);
      tokens[rank] = bytes;
    }
  }
  return new BpeEncoder(byBytes, tokens, ranks.pat_str, ranks.special_tokens);
}

/** A piece's UTF-8 bytes as a latin1 string (one character a byte); an ASCII piece is itself. */
function bytesKey(piece: string): string {
  for (let i = 0; i < piece.length; i++) if (piece.charCodeAt(i) > 0x7f) return Buffer.from(piece, 'utf8').toString('latin1');
  return piece;
}

const NO_RANK = Number.POSITIVE_INFINITY;

/**
 * Byte-pair encoding of a piece that is not one token (`key`: its bytes, bytesKey): the adjacent pair of lowest rank
 * is merged, the leftmost on a tie, until no pair is a token, as tiktoken does. Each part's pair rank is kept and only
 * the two next to a merge are looked up again (as tiktoken's Rust merge does): js-tiktoken looked up every pair again
 * after each merge, a string built and hashed each time, ~150 ns a step and quadratic in the piece's bytes.
 */
function mergePiece(key: string, ranks: Map<string, number>, out: number[]): void {
  const n = key.length;
  // starts[i]: where part i begins (starts[parts] = n); pairs[i]: rank of parts i and i + 1 joined.
  const starts: number[] = new Array(n + 1);
  for (let i = 0; i <= n; i++) starts[i] = i;
  const pairs: number[] = new Array(n - 1);
  for (let i = 0; i < n - 1; i++) pairs[i] = ranks.get(key.slice(i, i + 2)) ?? NO_RANK;
  let parts = n;
  const pairRank = (i: number) => ranks.get(key.slice(starts[i], starts[i + 2])) ?? NO_RANK;
  while (parts > 1) {
    let at = -1;
    let min = NO_RANK;
    for (let i = 0; i < parts - 1; i++) {
      if (pairs[i] < min) {
        min = pairs[i];
        at = i;
      }
    }
    if (at < 0) break;
    // Parts at and at + 1 become one: its boundary and its pair go; the pairs on either side of it are new.
    starts.splice(at + 1, 1);
    pairs.splice(at, 1);
    parts--;
    if (at < parts - 1) pairs[at] = pairRank(at);
    if (at > 0) pairs[at - 1] = pairRank(at - 1);
  }
  for (let i = 0; i < parts; i++) {
    const rank = ranks.get(key.slice(starts[i], starts[i + 1]));
    if (rank !== undefined) out.push(rank);
  }
}

const escapeRegex = (s: string) => s.replace(/[\\^$*+?.()|[\]{}]/g, '\\$&');

/** o200k's encoder (buildEncoder): the pattern's pieces, each a token or byte-pair merged, and the text of ids. */
export class BpeEncoder implements Encoder {
  private readonly pattern: RegExp;
  private readonly special: RegExp;
  /** A special token's UTF-8 bytes as latin1, by id (decoded as js-tiktoken does). */
  private readonly specialBytes = new Map<number, string>();
  /** As js-tiktoken decodes (a leading byte order mark dropped, a broken sequence as U+FFFD). */
  private readonly utf8 = new TextDecoder('utf-8');

  constructor(
    private readonly ranks: Map<string, number>,
    /** A token's bytes as latin1, by rank. */
    private readonly tokens: readonly string[],
    patStr: string,
    private readonly specialTokens: Record<string, number>,
  ) {
    this.pattern = new RegExp(patStr, 'gu');
    const names = Object.keys(specialTokens);
    this.special = new RegExp(names.length ? names.map(escapeRegex).join('|') : '(?!)', 'g');
    for (const name of names) this.specialBytes.set(specialTokens[name], bytesKey(name));
  }

  encode(text: string, allowedSpecial?: 'all'): number[] {
    const out: number[] = [];
    if (allowedSpecial !== 'all') {
      this.encodeText(text, out);
      return out;
    }
    let start = 0;
    this.special.lastIndex = 0;
    for (let m = this.special.exec(text); m !== null; m = this.special.exec(text)) {
      this.encodeText(text.slice(start, m.index), out);
      out.push(this.specialTokens[m[0]]);
      start = m.index + m[0].length;
    }
    this.encodeText(text.slice(start), out);
    return out;
  }

  /** The text of ids (an id that is no token is skipped, as js-tiktoken does). */
  decode(ids: number[]): string {
    let bytes = '';
    for (const id of ids) {
      const token = this.tokens[id] ?? this.specialBytes.get(id);
      if (token !== undefined) bytes += token;
    }
    return this.utf8.decode(Buffer.from(bytes, 'latin1'));
  }

  /** The rank of a token given by its bytes, or undefined (for the tests, which hold the tables to the rank file). */
  rankOf(bytes: Uint8Array): number | undefined {
    return this.ranks.get(Buffer.from(bytes).toString('latin1'));
  }

  /** The bytes of a rank, as decoding reads them, or undefined. */
  bytesOf(rank: number): Uint8Array | undefined {
    const token = this.tokens[rank];
    return token === undefined ? undefined : Buffer.from(token, 'latin1');
  }

  /** Tokens in the rank table. */
  get size(): number {
    return this.ranks.size;
  }

  private encodeText(text: string, out: number[]): void {
    const re = this.pattern;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const piece = m[0];
      if (piece.length === 0) {
        // No piece of the pattern is empty; were one, step over a whole character, as matchAll does.
        const c = text.charCodeAt(re.lastIndex);
        re.lastIndex += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
        continue;
      }
      const key = bytesKey(piece);
      const rank = this.ranks.get(key);
      if (rank !== undefined) out.push(rank);
      else mergePiece(key, this.ranks, out);
    }
  }
}

const load = loadTokenizer;

/**
 * The longest run of whitespace, or of characters that are neither whitespace nor digits, encoded in one piece, in
 * UTF-8 bytes.
 * A byte-pair merge is quadratic in the bytes of a piece the pattern splits off (js-tiktoken's, at ~150 ns a step:
 * 10,000 'a's took 15 s and 40,000 three minutes of the one event loop), so a client's prompt could stall the gateway
 * when it is counted (count_tokens for an OpenAI model, a stream cut before its usage). The pattern joins letters of every
 * script (and marks) into one piece, and punctuation with symbols and emoji, so a run is cut whatever mix of them it
 * is (a run of one kind alone was not enough: 'a' and '東' alternating made one piece of any length). Past
 * SAFE_CUT_BYTES a run is cut where the pattern itself splits (before punctuation, not an apostrophe, that follows a letter), so words, URLs
 * and code keep their pieces; past MAX_RUN_BYTES anywhere (a cut may add a token to a count). Encoding then cost at
 * most ~10 µs a character with js-tiktoken's merge, ~0.7 µs with mergePiece.
 */
const MAX_RUN_BYTES = 64;
const SAFE_CUT_BYTES = 32;
/** Characters encoded between two yields to the event loop, so that a large text never holds it for long. */
const YIELD_EVERY = 4096;

const isSpace = (c: number): boolean =>
  c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;

/** The kind of a UTF-16 code unit for cutting runs: 0 whitespace, 2 digit (never cut: the pattern takes at most three), 1 anything else. */
function kindOf(c: number): number {
  if (isSpace(c)) return 0;
  if (c >= 0x30 && c <= 0x39) return 2;
  return 1;
}

/** ASCII punctuation but the apostrophe (the pattern keeps "'s", "'t"... with the word before). */
const isAsciiPunctuation = (c: number): boolean => c < 0x80 && c > 0x20 && c !== 0x27 && !((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a));
const isLetterLike = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x80 && !(c >= 0xd800 && c <= 0xdfff));

/** UTF-8 bytes of one UTF-16 code unit (each half of a surrogate pair counts 2). */
const utf8Bytes = (c: number): number => (c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 2 : 3);

/** The text in pieces to encode one by one, joined they are the text: runs cut past SAFE_CUT_BYTES or MAX_RUN_BYTES. */
export function encodingChunks(text: string): string[] {
  if (text.length <= MAX_RUN_BYTES / 3) return [text];
  const out: string[] = [];
  let start = 0;
  let kind = -1;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const k = kindOf(c);
    if (k !== kind) {
      kind = k;
      run = 0;
    } else if (
      (k === 1 && run >= SAFE_CUT_BYTES && isAsciiPunctuation(c) && isLetterLike(text.charCodeAt(i - 1))) ||
      // Never between the two halves of a surrogate pair.
      (k !== 2 && run >= MAX_RUN_BYTES && !(c >= 0xdc00 && c <= 0xdfff))
    ) {
      out.push(text.slice(start, i));
      start = i;
      run = 0;
    }
    run += utf8Bytes(c);
  }
  out.push(text.slice(start));
  return out;
}

/** Gives other requests their turn on the event loop. */
const yieldToEvents = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The token ids of a text, encoded in chunks (encodingChunks), yielding to the event loop now and then. */
async function encode(enc: Encoder, text: string): Promise<number[]> {
  const chunks = encodingChunks(text);
  if (chunks.length === 1) return enc.encode(text);
  const ids: number[] = [];
  let since = 0;
  for (const chunk of chunks) {
    for (const id of enc.encode(chunk)) ids.push(id);
    since += chunk.length;
    if (since >= YIELD_EVERY) {
      since = 0;
      await yieldToEvents();
    }
  }
  return ids;
}

/**
 * Characters of one request's text that the tokenizer encodes exactly. Encoding cost up to ~10 µs a character with
 * js-tiktoken's merge (random letters or CJK; English ~0.27 µs), so a crafted ~10 MB body cost 50–90 s of CPU and the
 * count was exact for 65,536 characters only; with mergePiece ~0.7–0.8 µs (English 0.03–0.13 µs), so 262,144
 * characters (about 65,000 tokens of English) are counted exactly for at most ~0.2 s of CPU. Past them a text is
 * counted without encoding (see TokenBudget): bounded from above where it is billed, which over-bills.
 */
export const EXACT_COUNT_CHARS = 262_144;

/**
 * One request's count: how much of its text is still encoded exactly, and what the rest counts. `bound` (wherever the
 * count is billed): each UTF-8 byte of the rest counts as a token, never fewer than the true count (every o200k token is
 * at least one byte). `estimate` (count_tokens, which bills nothing): the rest at the tokens per character of the text
 * counted exactly.
 */
export class TokenBudget {
  /** Characters encoded exactly so far: the tokenizer's work. */
  exactChars = 0;
  /** The tokens of those characters. */
  exactTokens = 0;

  constructor(
    readonly beyond: 'bound' | 'estimate',
    readonly maxExactChars = EXACT_COUNT_CHARS,
  ) {}
}

/** Tokens of a text encoded whole (in encodingChunks), yielding to the event loop now and then. */
async function encodedCount(enc: Encoder, text: string): Promise<number> {
  let n = 0;
  let since = 0;
  for (const chunk of encodingChunks(text)) {
    n += enc.encode(chunk).length;
    since += chunk.length;
    if (since >= YIELD_EVERY) {
      since = 0;
      await yieldToEvents();
    }
  }
  return n;
}

/**
 * Number of tokens in a text: exact while `budget` lasts (by default a budget of its own), then bounded or estimated
 * as the budget says. Texts counted for one request share its budget, so its work is bounded however many they are.
 */
export async function countTokens(text: string, budget: TokenBudget = new TokenBudget('bound')): Promise<number> {
  if (!text) return 0;
  let cut = Math.min(text.length, Math.max(0, budget.maxExactChars - budget.exactChars));
  // Never between the two halves of a surrogate pair.
  if (cut > 0 && cut < text.length && text.charCodeAt(cut) >= 0xdc00 && text.charCodeAt(cut) <= 0xdfff) cut--;
  const n = cut === 0 ? 0 : await encodedCount(await load(), cut === text.length ? text : text.slice(0, cut));
  budget.exactChars += cut;
  budget.exactTokens += n;
  if (cut === text.length) return n;
  const rest = text.slice(cut);
  if (budget.beyond === 'bound') return n + Buffer.byteLength(rest, 'utf8');
  const perChar = budget.exactChars > 0 ? budget.exactTokens / budget.exactChars : 1;
  return n + Math.ceil(rest.length * perChar);
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
  const all = await encode(enc, text);
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
export async function countChatPromptTokens(messages: unknown, budget: TokenBudget = new TokenBudget('bound')): Promise<number> {
  if (!Array.isArray(messages)) return 0;
  let total = 3;
  for (const m of messages) {
    total += 3;
    if (m && typeof m === 'object') {
      for (const [k, v] of Object.entries(m)) {
        if (k === 'content') total += await countTokens(contentText(v), budget);
        else if (typeof v === 'string') total += await countTokens(v, budget);
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
