import type { IncomingHttpHeaders } from 'node:http';

/** The presented secret: `Authorization: Bearer …`, or `api-key:` as Azure-style clients send it. */
export function presentedKey(request: { headers: IncomingHttpHeaders }): string | null {
  const auth = request.headers.authorization;
  if (typeof auth === 'string' && auth.length > 0) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m ? m[1] : auth.trim() || null;
  }
  const apiKey = request.headers['api-key'];
  if (typeof apiKey === 'string' && apiKey.trim()) return apiKey.trim();
  return null;
}
