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

// Bounds on the work one text may cost (10 MB of `a&` took seconds): OpenAI's form bodies have a few fields.
const MAX_FIELDS = 10_000;
const MAX_NAME_LENGTH = 1024;

/**
 * The fields named `name` in a form text whose characters are its bytes (latin1), or why it cannot be read
 * unambiguously: a loose reading finds a field of that name the strict one does not, or it is past the bounds.
 */
export function formFields(text: string, name: string): FormFields {
  const fields: FormField[] = [];
  let loose = 0;
  let count = 0;
  for (let at = 0; at <= text.length; ) {
    let amp = text.indexOf('&', at);
    if (amp < 0) amp = text.length;
    if (amp > at) {
      if (++count > MAX_FIELDS) return { ok: false, why: `it has more than ${MAX_FIELDS} fields` };
      // Searched within the pair only: a search of the rest of the text per field is quadratic.
      const pair = text.slice(at, amp);
      const eq = pair.indexOf('=') < 0 ? pair.length : pair.indexOf('=');
      if (eq > MAX_NAME_LENGTH) return { ok: false, why: `a field name is over ${MAX_NAME_LENGTH} characters` };
      const key = decodeFormText(pair.slice(0, eq));
      if (key === name) {
        const value = eq < pair.length ? pair.slice(eq + 1) : '';
        // Read `;`-split, the value would end at the `;`.
        if (value.includes(';')) return { ok: false, why: `the ${name} field's value holds a ';'` };
        fields.push({ value: decodeFormText(value), start: amp - value.length, end: amp });
      }
      // The loose reading: `;` separates fields too; names trimmed, in any case, in bracket or dot notations.
      const split = pair.includes(';');
      for (const piece of split ? pair.split(';') : [pair]) {
        const e = piece.indexOf('=');
        const k = (split ? decodeFormText(e < 0 ? piece : piece.slice(0, e)) : key).trim().toLowerCase();
        if (k.includes(name) && mayNameField(k, name)) loose++;
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
  if (!PLAIN_OR_RAW.test(s)) return s;
  const out = Buffer.allocUnsafe(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) out[n++] = 0x20;
    else if (c === 0x25 && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      out[n++] = (hexValue(s.charCodeAt(i + 1)) << 4) | hexValue(s.charCodeAt(i + 2));
      i += 2;
    } else out[n++] = c & 0xff;
  }
  return out.toString('utf8', 0, n);
}

// Anything to decode: `+`, `%`, or a byte past ASCII (taken as UTF-8).
const PLAIN_OR_RAW = /[+%\u0080-\u00ff]/;

function hexValue(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
