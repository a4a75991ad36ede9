import type { IncomingHttpHeaders } from 'node:http';

/** Two headers present different keys: the request is refused rather than one of them picked. */
export const CONFLICTING_KEYS = Symbol('conflicting keys');

function bearerOf(auth: string | undefined): string | null {
  if (typeof auth !== 'string' || auth.length === 0) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
  return m ? m[1] : auth.trim() || null;
}

const headerKey = (v: string | string[] | undefined): string | null => (typeof v === 'string' && v.trim() ? v.trim() : null);

/** The request as the key is read from it: its headers, and its header lines as sent (node:http's `rawHeaders`). */
export interface KeyHeaders {
  headers: IncomingHttpHeaders;
  rawHeaders?: readonly string[];
}

/**
 * The presented secret: `Authorization: Bearer …`, or `api-key:` as Azure-style clients send it. The data plane also
 * takes `x-api-key:`, as Anthropic's SDKs send it; there, two of these headers naming different keys are refused
 * (CONFLICTING_KEYS), so that no check reads one key while another is believed to be in use. The admin API keeps its
 * rule (Authorization first). On both, one key header sent on two lines naming different keys is refused too.
 */
export function presentedKey(request: KeyHeaders, dataPlane = false): string | null | typeof CONFLICTING_KEYS {
  const lines = request.rawHeaders !== undefined && repeatsKeyHeader(request.rawHeaders, dataPlane) ? keyLines(request.rawHeaders, dataPlane) : null;
  const bearer = lines ? agreed(lines[0]) : bearerOf(request.headers.authorization);
  const apiKey = lines ? agreed(lines[1]) : headerKey(request.headers['api-key']);
  if (!dataPlane) return bearer ?? apiKey;
  const xApiKey = lines ? agreed(lines[2]) : headerKey(request.headers['x-api-key']);
  const keys: Array<string | null | typeof CONFLICTING_KEYS> = [bearer, apiKey, xApiKey];
  let key: string | null = null;
  for (const k of keys) {
    if (k === CONFLICTING_KEYS) return k;
    if (k === null) continue;
    if (key !== null && k !== key) return CONFLICTING_KEYS;
    key = k;
  }
  return key;
}

// Found by an outside review: Node keeps only the first of two `Authorization` lines (and joins repeated `api-key` or
// `x-api-key` lines with a comma), so two lines naming different keys were served with the first. When a key header
// comes on more than one line, every line of it is read; otherwise (the usual case) Node's `headers` hold each as sent.

/** Which key header a header line is (0 Authorization, 1 api-key, 2 x-api-key on the data plane), or -1. */
function keyHeaderOf(name: string, dataPlane: boolean): number {
  // Lengths first: most lines are none of these, and are passed over without lowercasing their name.
  if (name.length === 13) return name.toLowerCase() === 'authorization' ? 0 : -1;
  if (name.length === 7) return name.toLowerCase() === 'api-key' ? 1 : -1;
  if (name.length === 9 && dataPlane) return name.toLowerCase() === 'x-api-key' ? 2 : -1;
  return -1;
}

/** Whether a key header comes on more than one line. */
function repeatsKeyHeader(raw: readonly string[], dataPlane: boolean): boolean {
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const h = keyHeaderOf(raw[i], dataPlane);
    if (h < 0) continue;
    if (seen & (1 << h)) return true;
    seen |= 1 << h;
  }
  return false;
}

/** The keys each key header's lines name, in order (null for a line that names none). */
function keyLines(raw: readonly string[], dataPlane: boolean): Array<Array<string | null>> {
  const out: Array<Array<string | null>> = [[], [], []];
  for (let i = 0; i < raw.length; i += 2) {
    const h = keyHeaderOf(raw[i], dataPlane);
    if (h >= 0) out[h].push(h === 0 ? bearerOf(raw[i + 1]) : headerKey(raw[i + 1]));
  }
  return out;
}

/** The one key a header's lines name (the same key twice is one key), CONFLICTING_KEYS when they differ, or null. */
function agreed(keys: Array<string | null>): string | null | typeof CONFLICTING_KEYS {
  let key: string | null = null;
  for (const k of keys) {
    if (k === null) continue;
    if (key !== null && k !== key) return CONFLICTING_KEYS;
    key = k;
  }
  return key;
}
