import type { IncomingHttpHeaders } from 'node:http';

/** Two headers present different keys: the request is refused rather than one of them picked. */
export const CONFLICTING_KEYS = Symbol('conflicting keys');

function bearerOf(auth: string | undefined): string | null {
  if (typeof auth !== 'string' || auth.length === 0) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
  return m ? m[1] : auth.trim() || null;
}

const headerKey = (v: string | string[] | undefined): string | null => (typeof v === 'string' && v.trim() ? v.trim() : null);

/**
 * The presented secret: `Authorization: Bearer …`, or `api-key:` as Azure-style clients send it. The data plane also
 * takes `x-api-key:`, as Anthropic's SDKs send it; there, two of these headers naming different keys are refused
 * (CONFLICTING_KEYS), so that no check reads one key while another is believed to be in use. The admin API keeps its
 * rule (Authorization first).
 */
export function presentedKey(request: { headers: IncomingHttpHeaders }, dataPlane = false): string | null | typeof CONFLICTING_KEYS {
  const bearer = bearerOf(request.headers.authorization);
  if (!dataPlane) return bearer ?? headerKey(request.headers['api-key']);
  let key: string | null = null;
  for (const k of [bearer, headerKey(request.headers['api-key']), headerKey(request.headers['x-api-key'])]) {
    if (k === null) continue;
    if (key !== null && k !== key) return CONFLICTING_KEYS;
    key = k;
  }
  return key;
}
