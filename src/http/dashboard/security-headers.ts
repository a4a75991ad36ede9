import type { FastifyInstance } from 'fastify';

// The dashboard handles secrets shown once, so the page may run only its own bundled code: no inline script,
// no third-party origin, no framing (clickjacking), no Referer leaking URLs (an invite link carries a token).
// style-src has no 'unsafe-inline': Preact and uPlot set styles through the CSSOM, which CSP does not govern.
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Adds the dashboard's security headers to every response of the scope. */
export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-frame-options', 'DENY');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
  });
}
