// What text a client may give the control plane (names, emails, ids, model lists, …), and how text nobody vetted is
// shown (quotedForDisplay, below). Such text is stored, matched and shown again in the dashboard, the CLI's tables and
// the audit log, so it must be text a person can read the same way everywhere (issue 16 §2: a project name with U+0000
// was a 500 on PostgreSQL, which cannot store it). Refused:
//  - Unicode's control characters (category Cc: C0, DEL and C1). C1 too: nothing writes names with them, and a
//    terminal may read U+009B as the start of an escape sequence as it reads ESC [.
//  - the bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), which make a name display
//    in another order than it is stored ("Trojan Source", CVE-2021-42574). The marks U+200E, U+200F and U+061C stay
//    allowed: right-to-left names need them and they reorder nothing beyond themselves.
//  - the line and paragraph separators (U+2028, U+2029): every such field is one line.
//  - unpaired surrogates: not text at all (a JSON string may hold one; PostgreSQL would store U+FFFD instead).

const REFUSED = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function codePointName(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Why `text` may not be stored as client text (naming the first character refused), or null when it may. */
export function plainTextProblem(text: string): string | null {
  const m = REFUSED.exec(text);
  if (m) {
    const what = /[\u202a-\u202e\u2066-\u2069]/.test(m[0]) ? 'a bidirectional override' : /[\u2028\u2029]/.test(m[0]) ? 'a line separator' : 'a control character';
    return `must not contain ${what} (${codePointName(m[0])} at position ${m.index})`;
  }
  if (LONE_SURROGATE.test(text)) return 'must be well-formed Unicode (it contains an unpaired surrogate)';
  return null;
}

const NEEDS_QUOTING = new RegExp(`${REFUSED.source}|${LONE_SURROGATE.source}|["\\\\]`);
const C_ESCAPES: Record<string, string> = { '\u0007': '\\a', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\u000b': '\\v', '\f': '\\f', '\r': '\\r', '"': '\\"', '\\': '\\\\' };

/**
 * Text as it may be shown on a terminal: unchanged when it holds nothing `plainTextProblem` refuses; else quoted and
 * escaped as git quotes a path (core.quotePath; a `"` or `\` alone also quotes, so no name reads as another): `"a\033[2Jb"`, C escapes for the usual controls, `\\` and `\"`, octal
 * for other C0 controls and DEL, `\u202e` for the rest. An escape sequence is then never sent to the terminal, and the
 * quotes tell an escaped name from one that holds a backslash.
 */
export function quotedForDisplay(text: string): string {
  if (!NEEDS_QUOTING.test(text)) return text;
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const c = ch.charCodeAt(0);
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && /[\udc00-\udfff]/.test(text[i + 1]);
    if (pair) {
      out += ch + text[++i];
    } else if (C_ESCAPES[ch]) {
      out += C_ESCAPES[ch];
    } else if (c < 0x20 || c === 0x7f) {
      out += `\\${c.toString(8).padStart(3, '0')}`;
    } else if (REFUSED.test(ch) || (c >= 0xd800 && c <= 0xdfff)) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else {
      out += ch;
    }
  }
  return `${out}"`;
}
