// application/x-www-form-urlencoded text (a form body, or a query string without its `?`), read to find one named
// field. Read strictly as WHATWG URLSearchParams does (`&` between fields, `+` for space, percent-decoding of names
// and values), and checked against a loose reading (`;` between fields too, as older parsers split; names in any
// case, bracket and dot notations) so that a text read differently elsewhere is refused rather than guessed at.

/** A field's value and where its encoded form lies in the text: text[start, end). */
export interface FormField {
  value: string;
  start: number;
  end: number;
}

export type FormFields = { ok: true; fields: FormField[] } | { ok: false; why: string };

/**
 * The fields named `name` in a form text whose characters are its bytes (latin1), or why it is ambiguous: a loose
 * reading finds a field of that name the strict one does not.
 */
export function formFields(text: string, name: string): FormFields {
  const fields: FormField[] = [];
  let loose = 0;
  let at = 0;
  while (at <= text.length) {
    let amp = text.indexOf('&', at);
    if (amp < 0) amp = text.length;
    const pair = text.slice(at, amp);
    if (pair !== '') {
      const eq = pair.indexOf('=');
      const key = decodeFormText(eq < 0 ? pair : pair.slice(0, eq));
      if (key === name) {
        const start = eq < 0 ? amp : at + eq + 1;
        // Read `;`-split, the value would end at the `;`.
        if (text.slice(start, amp).includes(';')) return { ok: false, why: `the ${name} field's value holds a ';'` };
        fields.push({ value: decodeFormText(text.slice(start, amp)), start, end: amp });
      }
      for (const piece of pair.split(';')) {
        const e = piece.indexOf('=');
        const k = decodeFormText(e < 0 ? piece : piece.slice(0, e)).trim().toLowerCase();
        if (mayNameField(k, name)) loose++;
      }
    }
    at = amp + 1;
  }
  if (loose !== fields.length) return { ok: false, why: `the ${name} field is named in a way other readers may take differently` };
  return { ok: true, fields };
}

/**
 * Whether a field name (trimmed, lower-cased) may mean the field `name` to some reader: itself, or a part of a
 * bracket or dot notation (`model[]`, `session[model]`, `tools.0.model`), which qs-style readers nest.
 */
export function mayNameField(key: string, name: string): boolean {
  return key === name || key.split(/[[\].]/).includes(name);
}

/** `+` as space and percent-decoding over the text's bytes, then UTF-8 (invalid sequences as U+FFFD, as WHATWG does). */
export function decodeFormText(s: string): string {
  if (!s.includes('%') && !s.includes('+')) return latin1IsAscii(s) ? s : Buffer.from(s, 'latin1').toString('utf8');
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) bytes.push(0x20);
    else if (c === 0x25 && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      bytes.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c & 0xff);
  }
  return Buffer.from(bytes).toString('utf8');
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function latin1IsAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}
