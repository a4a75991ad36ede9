// What an upstream's answer may say about the provider's account, and must not reach a client: its organization ids
// (`org-…` in error messages such as "Rate limit reached for gpt-4o in organization org-abc…", and in objects such as
// fine-tuning jobs), and its API key, masked (`sk-proj-****abcd` in "Incorrect API key provided") or whole.

const ORG_ID = /\borg-[A-Za-z0-9]{8,}\b/g;
/** A masked key: `sk-` and key characters around a run of asterisks or an ellipsis. */
const MASKED_KEY = /\bsk-[A-Za-z0-9_-]*(?:\*{2,}|…|\.{3})[A-Za-z0-9_*-]*/g;

/** Whether a text may carry provider details (a cheap test before a rewrite). */
export function mayHoldProviderDetails(text: string, secrets: readonly string[]): boolean {
  if (text.includes('org-') || text.includes('sk-') || secrets.some((s) => s.length > 0 && text.includes(s))) return true;
  // A key spelled with JSON escapes needs a backslash; only then are the costlier patterns tried.
  return text.includes('\\') && secrets.some((s) => s.length >= MIN_SECRET && text.search(spellingsOf(s)) >= 0);
}

/**
 * The text with provider organization ids and keys (masked or whole) replaced by neutral words. A key is found however
 * JSON spells it, not only as itself: a provider's encoder may write '/' as '\/' (PHP's json_encode, Java's) and any
 * character as '\uXXXX' (.NET's writes '+' as '\u002B'), and a JSON text quoted in a string escapes it twice; the
 * callers parse the text and write it out again, decoded, or hand it to clients that decode it.
 */
export function withoutProviderDetails(text: string, secrets: readonly string[]): string {
  return withoutProviderKeys(text, secrets).replace(MASKED_KEY, PROVIDER_KEY).replace(ORG_ID, '[provider organization]');
}

/**
 * The text with the provider's keys (whole, in any JSON spelling, as withoutProviderDetails finds them) replaced, and
 * nothing else: for a model's answer or a text answer, whose own words may look like an organization id or a masked key.
 */
export function withoutProviderKeys(text: string, secrets: readonly string[]): string {
  let out = text;
  const escaped = out.includes('\\');
  for (const s of secrets) {
    if (s.length < MIN_SECRET) continue;
    out = escaped ? out.replace(spellingsOf(s), PROVIDER_KEY) : out.split(s).join(PROVIDER_KEY);
  }
  return out;
}

/**
 * Whether an answer may hold one of the provider's keys (then withoutProviderKeys), in any spelling withoutProviderKeys
 * finds: a test cheap enough for every answer read whole, a model's included (mayHoldProviderDetails' patterns took 80
 * µs for 13 kB once the text had a backslash, as most model answers have). A key's longest run of ASCII letters and
 * digits is looked for as it is; written otherwise, one of them is escaped (`\u0030`–`\u007a`), which few texts hold.
 */
export function mayHoldProviderKey(body: Buffer, secrets: readonly string[]): boolean {
  let text: string | null = null;
  const latin1 = () => {
    text ??= body.toString('latin1');
    return text;
  };
  for (const s of secrets) {
    if (s.length < MIN_SECRET) continue;
    const run = plainRunOf(s);
    if (body.includes(run ?? s)) return true;
    if (!body.includes(0x5c)) continue;
    if (run !== null && !ESCAPED_LETTER_OR_DIGIT.test(latin1())) continue;
    if (latin1().search(spellingsOf(s)) >= 0) return true;
  }
  return false;
}

/**
 * Watches an answer relayed chunk by chunk for the provider's keys (each key's longest run of ASCII letters and
 * digits, as it is written: an echo of the request's headers writes it so), across chunk boundaries: each chunk is
 * handed on less its last bytes, which could begin a key that the next chunk ends, and those are handed on with the
 * next (`flush` at the end). A chunk that holds a key is not handed on: the caller cuts the answer there (found by a
 * review: an echoing upstream's 9 MiB or octet-stream answer carried the provider's key to the client).
 */
export class ProviderKeyWatch {
  private readonly runs: Buffer[];
  private readonly keep: number;
  private carry: Buffer = Buffer.alloc(0);

  constructor(secrets: readonly string[]) {
    this.runs = [];
    for (const s of secrets) {
      if (s.length < MIN_SECRET) continue;
      this.runs.push(Buffer.from(plainRunOf(s) ?? s, 'latin1'));
    }
    this.keep = this.runs.reduce((m, r) => Math.max(m, r.length - 1), 0);
  }

  /** Whether there is anything to watch for. */
  get watching(): boolean {
    return this.runs.length > 0;
  }

  /**
   * What may be handed on now (what was held back, then `chunk` less its last bytes), or null when a key is in it. A
   * large chunk is searched where it lies and only its seam with what was held back is copied: every chunk of an
   * answer passed through goes by here.
   */
  next(chunk: Buffer): Buffer[] | null {
    const carry = this.carry;
    if (chunk.length <= this.keep) {
      const all = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
      if (this.holdsKey(all)) return null;
      const cut = Math.max(0, all.length - this.keep);
      this.carry = Buffer.from(all.subarray(cut));
      return cut === 0 ? [] : [all.subarray(0, cut)];
    }
    if (this.holdsKey(chunk)) return null;
    if (carry.length > 0 && this.holdsKey(Buffer.concat([carry, chunk.subarray(0, this.keep)]))) return null;
    const cut = chunk.length - this.keep;
    this.carry = Buffer.from(chunk.subarray(cut));
    return carry.length === 0 ? [chunk.subarray(0, cut)] : [carry, chunk.subarray(0, cut)];
  }

  private holdsKey(bytes: Buffer): boolean {
    for (const run of this.runs) if (bytes.includes(run)) return true;
    return false;
  }

  /** What was held back, at the body's end. */
  flush(): Buffer {
    const rest = this.carry;
    this.carry = Buffer.alloc(0);
    return rest;
  }
}

/**
 * Whether a short text (an answer header's value) holds one of the provider's keys: each key's longest run of ASCII
 * letters and digits, as ProviderKeyWatch looks for it (an upstream echoing the request's Authorization, x-api-key or
 * api-key in a header of its answer writes it so, whole or in part). A few `includes` over the few keys.
 */
export function holdsProviderKey(text: string, secrets: readonly string[]): boolean {
  for (const s of secrets) {
    if (s.length >= MIN_SECRET && text.includes(plainRunOf(s) ?? s)) return true;
  }
  return false;
}

/** An ASCII letter or digit (and a few others) written as a JSON escape. */
const ESCAPED_LETTER_OR_DIGIT = /\\u00[3-7]/;

/** Each secret's longest run of ASCII letters and digits, when it has one of MIN_SECRET (built once, bounded as SPELLINGS). */
const PLAIN_RUNS = new Map<string, string | null>();

function plainRunOf(secret: string): string | null {
  let run = PLAIN_RUNS.get(secret);
  if (run !== undefined) return run;
  const longest = (secret.match(/[A-Za-z0-9]+/g) ?? []).reduce((a, b) => (b.length > a.length ? b : a), '');
  run = longest.length >= MIN_SECRET ? longest : null;
  if (PLAIN_RUNS.size >= 256) PLAIN_RUNS.clear();
  PLAIN_RUNS.set(secret, run);
  return run;
}

const PROVIDER_KEY = '[provider key]';
/** Shorter secrets are not searched for: they would match ordinary words. */
const MIN_SECRET = 8;

/**
 * The longest run of backslashes taken before a character (escapes of escapes three deep need 7): a bound, so that a
 * text of a long run of backslashes costs linear time. Unbounded (`\\*`), each start in the run took the whole run and
 * gave it back one by one: 80,000 backslashes held the event loop 48 s (found by a review).
 */
const MAX_BACKSLASHES = 7;

/** Each secret's pattern, built once (a few per provider key; emptied if runtime keys come and go past the bound). */
const SPELLINGS = new Map<string, RegExp>();

/**
 * Every JSON spelling of `secret`: each UTF-16 unit as itself or as `\uXXXX` (hex in either case), after any run of
 * backslashes (an escape such as `\/`, or escapes of escapes in a JSON text quoted inside a string). A match takes
 * the run of backslashes before it (up to MAX_BACKSLASHES), so what is left around the replacement stays valid JSON.
 */
function spellingsOf(secret: string): RegExp {
  let re = SPELLINGS.get(secret);
  if (re) return re;
  let source = '';
  for (let i = 0; i < secret.length; i++) {
    const hex = secret.charCodeAt(i).toString(16).padStart(4, '0');
    const anyCase = [...hex].map((d) => (d >= 'a' ? `[${d}${d.toUpperCase()}]` : d)).join('');
    source += `(?:\\\\{0,${MAX_BACKSLASHES}}\\u${hex}|\\\\{1,${MAX_BACKSLASHES}}u${anyCase})`;
  }
  re = new RegExp(source, 'g');
  if (SPELLINGS.size >= 256) SPELLINGS.clear();
  SPELLINGS.set(secret, re);
  return re;
}

const RESULTS_URL = /"results_url"(\s*):(\s*)"https?:\/\/[^"/]+(?:\/[^"]*?)?(\/v1\/messages\/batches\/[^"/]+\/results)"/g;

/**
 * Anthropic's message batches name their results at the provider (`results_url`, absolute), where Anthropic's SDKs
 * fetch them from with the client's own key: a Tollgate key sent to the provider, and refused there. The path on
 * Tollgate is named instead (the SDKs resolve it against their base URL), so results are read through the gateway,
 * with the project's ownership checked.
 */
export function withResultsOnGateway(text: string): string {
  return text.includes('"results_url"') ? text.replace(RESULTS_URL, '"results_url"$1:$2"$3"') : text;
}
