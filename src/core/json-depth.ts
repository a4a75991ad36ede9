/**
 * The deepest nesting of objects and arrays a JSON body may have. JSON.parse reads any depth, but what walks the value
 * afterwards recursively (JSON.stringify with a replacer, the token counts, the schema checks) overflows the stack past
 * a few thousand levels: a request nested 5,000 deep was forwarded, answered by the provider, then failed with 500 and
 * was billed nothing (found by an outside review). OpenAI's own servers refuse such bodies; no API's schema nests
 * anywhere near this deep.
 */
export const MAX_JSON_DEPTH = 512;

/** Whether a JSON text nests objects and arrays deeper than `max` (brackets inside strings do not count). */
export function exceedsJsonDepth(text: string, max = MAX_JSON_DEPTH): boolean {
  // Deeper than max takes more than max opening brackets: counted first with indexOf, which most bodies never pass.
  if (text.length <= 2 * max) return false;
  let openers = 0;
  for (const bracket of ['{', '[']) {
    for (let at = text.indexOf(bracket); at >= 0 && openers <= max; at = text.indexOf(bracket, at + 1)) openers++;
  }
  if (openers <= max) return false;
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skipped to its closing quote, escapes and all.
      for (i++; i < n; i++) {
        const s = text.charCodeAt(i);
        if (s === 0x5c) i++;
        else if (s === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
