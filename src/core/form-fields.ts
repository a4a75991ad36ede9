// The text fields of a multipart/form-data body (RFC 7578), for what metering needs to know of image edits and audio
// transcriptions before forwarding them (model, n, size, quality, response_format). Files are counted, not read.

/** Text fields by name (every value, in order) and the number of file parts by name. */
export interface FormFields {
  values: Readonly<Record<string, readonly string[]>>;
  files: Readonly<Record<string, number>>;
}

/** Longest text value kept: the fields metering reads are short; a longer one is cut, not refused here. */
const MAX_VALUE = 1024;

/** The boundary of a multipart/form-data Content-Type, or null when the type is not one. */
export function formBoundary(contentType: string | undefined): string | null {
  if (!contentType) return null;
  const semi = contentType.indexOf(';');
  if (semi < 0 || contentType.slice(0, semi).trim().toLowerCase() !== 'multipart/form-data') return null;
  // A quoted boundary may hold `;` and spaces (RFC 2046 allows both).
  const m = /;\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(contentType.slice(semi));
  const v = m ? (m[1] ?? m[2]) : '';
  // RFC 2046: 1–70 characters.
  return v.length >= 1 && v.length <= 70 ? v : null;
}

/** The `name` and whether a `filename` is given, from a part's Content-Disposition; null when it is no form-data part. */
function disposition(headers: string): { name: string; isFile: boolean } | null {
  for (const line of headers.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim().toLowerCase() !== 'content-disposition') continue;
    const value = line.slice(colon + 1);
    if (value.split(';', 1)[0].trim().toLowerCase() !== 'form-data') return null;
    const name = /;\s*name\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(value);
    if (!name) return null;
    return { name: name[1] ?? name[2], isFile: /;\s*filename\*?\s*=/i.test(value) };
  }
  return null;
}

/**
 * Reads the fields of a multipart/form-data body. Null when the body is not well-formed multipart with this
 * boundary (no delimiter, an unterminated part): a caller that needs a field then cannot know it.
 */
export function readFormFields(body: Buffer, boundary: string): FormFields | null {
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  if (at < 0) return null;
  const values: Record<string, string[]> = Object.create(null);
  const files: Record<string, number> = Object.create(null);
  for (;;) {
    at += delimiter.length;
    // The close delimiter ends the body.
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return { values, files };
    const headersStart = body.indexOf('\r\n', at);
    if (headersStart < 0) return null;
    const headersEnd = body.indexOf('\r\n\r\n', headersStart);
    if (headersEnd < 0) return null;
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headersEnd + 4);
    if (next < 0) return null;
    const part = disposition(body.toString('latin1', headersStart + 2, headersEnd));
    if (part) {
      if (part.isFile) files[part.name] = (files[part.name] ?? 0) + 1;
      else {
        const end = Math.min(next, headersEnd + 4 + MAX_VALUE);
        const list = values[part.name] ?? [];
        list.push(body.toString('utf8', headersEnd + 4, end));
        values[part.name] = list;
      }
    }
    at = next + 2;
  }
}
