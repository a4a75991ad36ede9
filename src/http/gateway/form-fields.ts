// The text fields of a multipart/form-data body (RFC 7578), for the object ids they name: `file_id` when a container
// file is made from a file, `consent` of a custom voice, `input_reference[file_id]` of a video. Parts that carry a
// file (a filename in their Content-Disposition) are skipped, never decoded.

/** The boundary of a multipart/form-data Content-Type, or null. */
export function multipartBoundary(contentType: string): string | null {
  if (!/^\s*multipart\/form-data\s*;/i.test(contentType)) return null;
  const m = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : null;
}

/** Text fields longer than this are not ids: left out. */
const MAX_FIELD = 4096;

/**
 * The text fields of a multipart body as an object: `a[b]` nests as `{a: {b}}` and `a[]` collects an array (as SDKs
 * send nested parameters), a repeated name becomes an array.
 */
export function formFields(body: Buffer, boundary: string): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const headersStart = at + delimiter.length;
    if (body[headersStart] === 0x2d && body[headersStart + 1] === 0x2d) break; // the closing delimiter
    const headersEnd = body.indexOf('\r\n\r\n', headersStart);
    if (headersEnd < 0) break;
    const next = body.indexOf(delimiter, headersEnd + 4);
    if (next < 0) break;
    const headers = body.toString('latin1', headersStart, headersEnd);
    const disposition = /content-disposition:[^\r\n]*/i.exec(headers)?.[0] ?? '';
    const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
    const isFile = /;\s*filename\*?=/i.test(disposition);
    // The value ends before the CRLF that precedes the next delimiter.
    const valueEnd = next >= 2 && body[next - 2] === 0x0d && body[next - 1] === 0x0a ? next - 2 : next;
    if (name !== undefined && !isFile && valueEnd - (headersEnd + 4) <= MAX_FIELD) {
      setField(out, name, body.toString('utf8', headersEnd + 4, valueEnd));
    }
    at = next;
  }
  return out;
}

function setField(out: Record<string, unknown>, name: string, value: string): void {
  const path = name.split('[').map((p, i) => (i === 0 ? p : p.replace(/\]$/, '')));
  const appends = path.length > 1 && path[path.length - 1] === '';
  if (appends) path.pop();
  // Null-prototype objects: a field named `__proto__[x]` is a key like any other, never the prototype.
  let node = out;
  for (let i = 0; i < path.length - 1; i++) {
    const child = node[path[i]];
    if (child === null || typeof child !== 'object' || Array.isArray(child)) {
      const fresh: Record<string, unknown> = Object.create(null);
      node[path[i]] = fresh;
      node = fresh;
    } else node = child as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  const existing = node[last];
  if (appends || existing !== undefined) {
    const list = Array.isArray(existing) ? existing : existing === undefined ? [] : [existing];
    list.push(value);
    node[last] = list;
  } else node[last] = value;
}
