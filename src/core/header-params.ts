// Header values with parameters (Content-Type, Content-Disposition), read strictly: RFC 9110 §5.6.6 parameters,
// tokens and quoted strings (§5.6.4). What is not in that grammar is refused rather than guessed at, since another
// reader might guess differently.

/** A header value and its parameters: the value lower-cased, parameter names lower-cased. */
export interface HeaderValue {
  value: string;
  params: Map<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const isSpace = (c: string | undefined) => c === ' ' || c === '\t';

/**
 * Parses `value; name=token; name="quoted \" string"`. Null when the text is outside the grammar or a parameter is
 * given twice (`boundary=a; boundary=b`: readers differ on which one counts).
 */
export function parseHeaderParams(header: string): HeaderValue | null {
  const semi = header.indexOf(';');
  const value = (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
  const params = new Map<string, string>();
  if (semi < 0) return { value, params };
  let i = semi;
  const n = header.length;
  while (i < n) {
    // At a ';'.
    i++;
    while (isSpace(header[i])) i++;
    if (i >= n) break;
    if (header[i] === ';') continue;
    const eq = header.indexOf('=', i);
    if (eq < 0) return null;
    const name = header.slice(i, eq).trimEnd().toLowerCase();
    if (!TOKEN.test(name) || params.has(name)) return null;
    i = eq + 1;
    while (isSpace(header[i])) i++;
    let text = '';
    if (header[i] === '"') {
      i++;
      for (;;) {
        if (i >= n) return null;
        const c = header[i];
        if (c === '"') break;
        if (c === '\\') {
          i++;
          if (i >= n) return null;
        }
        const code = header.charCodeAt(i);
        if ((code < 0x20 && code !== 0x09) || code === 0x7f) return null;
        text += header[i];
        i++;
      }
      i++;
      while (isSpace(header[i])) i++;
      if (i < n && header[i] !== ';') return null;
    } else {
      const end = header.indexOf(';', i);
      text = (end < 0 ? header.slice(i) : header.slice(i, end)).trimEnd();
      if (!TOKEN.test(text)) return null;
      i = end < 0 ? n : end;
    }
    params.set(name, text);
  }
  return { value, params };
}
