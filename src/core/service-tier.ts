// The service tier a request ran at (OpenAI's `service_tier`), as the usage event records it: what the answer says
// (chat completions and responses carry it, streamed or not), else what the request asked for, else null. The tier
// becomes a dimension of the usage rollups and of the Usage API (group_by=service_tier), so only short plain words
// are kept: a long or odd value would add rows to the rollups for every distinct spelling.
//
// Anthropic's answers name their tier too (a message's `usage.service_tier`: `standard`, `priority`, `batch`), and are
// recorded under OpenAI's names, so that one tier is one word in the rollups and the Usage API's group_by=service_tier
// whichever provider served it: `standard` is OpenAI's `default` (as the request translation already maps `default`
// to `standard_only`), `priority` is `priority`; `batch` has no OpenAI tier (OpenAI's batch is a usage dimension of its
// own) and is kept as given. The provider and model of the event still say whose tier it was.

/** Anthropic's tiers by OpenAI's names for them (docs/usage-api.md, "Service tier"). */
const FROM_ANTHROPIC: ReadonlyMap<string, string> = new Map([
  ['standard', 'default'],
  ['priority', 'priority'],
]);

/** What an Anthropic request's `service_tier` asks for, by OpenAI's names: `auto`, or `standard_only` (`default`). */
const ANTHROPIC_REQUESTABLE: ReadonlyMap<string, string> = new Map([
  ['auto', 'auto'],
  ['standard_only', 'default'],
]);

/** The values OpenAI's specification allows in a request (ServiceTier, ServiceTierResponses). */
const REQUESTABLE: ReadonlySet<string> = new Set(['auto', 'default', 'flex', 'scale', 'priority', 'fast', 'ultrafast']);

/** A tier as an answer names it: a short lowercase word ('default', 'flex', 'priority', …); anything else is null. */
const TIER = /^[a-z][a-z0-9_-]{0,31}$/;

/** An answer's `service_tier` value as recorded: a short plain word, else null. */
export function answeredServiceTier(value: unknown): string | null {
  return typeof value === 'string' && TIER.test(value) ? value : null;
}

/** An Anthropic answer's `usage.service_tier` as recorded: by OpenAI's name when it has one, else as answeredServiceTier keeps it. */
export function anthropicServiceTier(value: unknown): string | null {
  return (typeof value === 'string' && FROM_ANTHROPIC.get(value)) || answeredServiceTier(value);
}

/** A recorded tier as an OpenAI answer's `service_tier` may name it (OpenAI's specification), else null. */
export function openAIAnswerServiceTier(tier: string | null): string | null {
  return tier !== null && REQUESTABLE.has(tier) ? tier : null;
}

/** A recorded tier as an Anthropic answer's `usage.service_tier` names it (`standard`, `priority`), else null. */
export function anthropicAnswerServiceTier(tier: string | null): string | null {
  if (tier === 'default') return 'standard';
  return tier === 'priority' ? 'priority' : null;
}

/**
 * The tier a request body asked for, when it is one the client's API allows (OpenAI's specification; Anthropic's
 * `auto` and `standard_only`, the latter by OpenAI's name `default`); else null.
 */
export function requestedServiceTier(body: Record<string, unknown> | null | undefined, format: 'openai' | 'anthropic' = 'openai'): string | null {
  const asked = body?.service_tier;
  if (typeof asked !== 'string') return null;
  if (format === 'anthropic') return ANTHROPIC_REQUESTABLE.get(asked) ?? null;
  return REQUESTABLE.has(asked) ? asked : null;
}

const KEY = Buffer.from('"service_tier"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isSpace = (c: number | undefined) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Where the JSON string starting at `at` (its opening quote) ends: just past its closing quote (or the buffer's end). */
function pastString(buf: Buffer, at: number): number {
  for (let i = at + 1; i < buf.length; i++) {
    if (buf[i] === BACKSLASH) i++;
    else if (buf[i] === QUOTE) return i + 1;
  }
  return buf.length;
}

/** Whether the quote at `at` is escaped (an odd run of backslashes before it). */
function isEscaped(buf: Buffer, at: number): boolean {
  let n = 0;
  for (let i = at - 1; i >= 0 && buf[i] === BACKSLASH; i--) n++;
  return n % 2 === 1;
}

/** Whether what runs from `from` (outside any string) to `end` (the object's closing brace) stays at one depth. */
function staysAtTop(buf: Buffer, from: number, end: number): boolean {
  let depth = 0;
  for (let i = from; i < end; i++) {
    const c = buf[i];
    if (c === QUOTE) i = pastString(buf, i) - 1;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if ((c === 0x7d || c === 0x5d) && --depth < 0) return false;
  }
  return depth === 0;
}

/**
 * The `service_tier` member of a JSON object answer, without parsing the answer: the last `"service_tier"` key whose
 * value is followed only by members of the outermost object (chat completions put it after `usage`; a Response before
 * it). A tool's schema or metadata naming a `service_tier` of its own sits deeper and is not taken. Null when the
 * answer has none, or not as a short plain word.
 */
export function serviceTierInJson(buf: Buffer): string | null {
  let end = buf.length - 1;
  while (end > 0 && isSpace(buf[end])) end--;
  if (end < 1 || buf[end] !== 0x7d) return null;
  for (let at = buf.lastIndexOf(KEY, end); at > 0; at = buf.lastIndexOf(KEY, at - 1)) {
    if (isEscaped(buf, at)) continue;
    let i = at + KEY.length;
    while (isSpace(buf[i])) i++;
    if (buf[i] !== 0x3a) continue;
    i++;
    while (isSpace(buf[i])) i++;
    let value: string | null;
    let after: number;
    if (buf[i] === QUOTE) {
      after = pastString(buf, i);
      value = buf.toString('latin1', i + 1, after - 1);
    } else if (buf.toString('latin1', i, i + 4) === 'null') {
      after = i + 4;
      value = null;
    } else continue;
    if (staysAtTop(buf, after, end)) return answeredServiceTier(value);
  }
  return null;
}
