import type { FastifyReply, FastifyRequest } from 'fastify';
import { SESSION_MAX_SECONDS } from '../../services/sessions.js';

// The session cookie: HttpOnly (scripts never see it), SameSite=Lax (not sent on cross-site POSTs), Path=/.
// Over TLS it is also Secure and takes the `__Host-` prefix, which browsers only accept from a secure
// origin with no Domain attribute (RFC 6265bis §4.1.3.2), so a sibling subdomain cannot plant one.
// Setting needs @fastify/cookie's reply.setCookie (registered by the /auth scope); reading works in any
// scope (the admin API's onRequest hook has no cookie plugin), hence the small parser below.
const PLAIN_NAME = 'tollgate_session';
const SECURE_NAME = '__Host-tollgate_session';
const TOKEN = /^[A-Za-z0-9_-]{16,128}$/;

/** Whether the request arrived over TLS (directly, or per X-Forwarded-Proto from a trusted proxy). */
export function isSecureRequest(request: FastifyRequest): boolean {
  return request.protocol === 'https';
}

/**
 * The session token presented by the browser, if any (the secure cookie wins when both are sent). Over TLS only the
 * `__Host-` cookie is read: a plain one there can only have been planted (by a sibling subdomain, with
 * `Domain=.example.com`), since this server sets the `__Host-` one on secure requests; reading it would sign the
 * browser in to the planter's session (login CSRF).
 */
export function readSessionToken(request: FastifyRequest): string | null {
  const header = request.headers.cookie;
  if (!header) return null;
  const plainAllowed = !isSecureRequest(request);
  let plain: string | null = null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!TOKEN.test(value)) continue;
    if (name === SECURE_NAME) return value;
    if (name === PLAIN_NAME && plainAllowed) plain = value;
  }
  return plain;
}

/** Sets the session cookie for a new session. */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string): void {
  const secure = isSecureRequest(request);
  reply.setCookie(secure ? SECURE_NAME : PLAIN_NAME, token, { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: SESSION_MAX_SECONDS });
}

/** Tells the browser to forget the session cookie. */
export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  const secure = isSecureRequest(request);
  reply.setCookie(secure ? SECURE_NAME : PLAIN_NAME, '', { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: 0 });
}
