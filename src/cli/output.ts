import { quotedForDisplay } from '../core/plain-text.js';
import { redactSecretsInText } from '../scanner/patterns.js';

// Stored text is shown the way git shows a path (issue 16 §3: a key or model name holding terminal escape codes
// rewrote the terminal of whoever listed it): a value with a control character, a bidi override or a quote is quoted
// and escaped (core/plain-text.ts quotedForDisplay), in every table cell and every sentence. As a backstop every line
// the CLI writes goes through terminalSafe (io.ts), so no escape sequence reaches the terminal whatever prints it.

/** Formats rows as an aligned plain-text table; string cells are quoted and escaped when they hold control characters. */
export function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  if (rows.length === 0) return '(none)\n';
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '-';
    if (typeof v === 'object') return JSON.stringify(v);
    return typeof v === 'string' ? quotedForDisplay(v) : String(v);
  };
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n') + '\n';
}

/** A stored value in a sentence, quoted and escaped when it holds control characters (as in tables). */
export function shown(value: unknown): string {
  return quotedForDisplay(String(value));
}

// What never reaches the terminal: C0 controls but the newline, DEL, C1 controls, bidi overrides and isolates, line
// separators, unpaired surrogates.
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Output made safe for a terminal: C0 controls (but the newline) as git's octal escapes (`\033`), the rest as `\uXXXX`.
 * `--json` output passes unchanged in value: JSON.stringify already escapes C0 controls, and the others can only stand
 * inside a JSON string, where `\uXXXX` is the same character to any JSON parser.
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (ch) => {
    const c = ch.charCodeAt(0);
    return c < 0x20 ? `\\${c.toString(8).padStart(3, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
  });
}

// What is left of a key once the scanner's formats are redacted: a Tollgate key mistyped (its checksum fails, so it is
// no key to the scanner, but it is most of one) or another `sk-` key of a length no format has.
const KEY_LOOKALIKE = /(?<![A-Za-z0-9_-])sk-(?:tg-(?:admin-)?)?[A-Za-z0-9_-]{20,}/g;

/**
 * Text for standard error with every secret in it redacted (its prefix and last four characters). Found by review: a
 * secret given in the wrong argument was echoed whole (`unknown option '--admin-kye=sk-tg-admin-…'`, `--server expects
 * an http:// URL, got 'sk-tg-admin-…'`); standard error is the one place, so no message can miss it.
 */
export function secretsRedacted(text: string): string {
  return redactSecretsInText(text).replace(KEY_LOOKALIKE, (m) => `${/^sk-(?:tg-(?:admin-)?)?/.exec(m)?.[0]}…${m.slice(-4)}`);
}

/**
 * A list command's `--json`: every item, all pages read, in the admin API's list envelope (`object`, `data`), the
 * same for every list command (a review found four printing a bare array).
 */
export function jsonList(data: unknown[]): string {
  return `${JSON.stringify({ object: 'list', data }, null, 2)}\n`;
}

/** Unix seconds as an ISO-8601 UTC string (or '-'). */
export function time(sec: unknown): string {
  return typeof sec === 'number' ? new Date(sec * 1000).toISOString().replace('.000Z', 'Z') : '-';
}
