import type { IncomingHttpHeaders } from 'node:http';

// Which headers cross the gateway. The client's credentials and org/project headers never reach the provider;
// the provider's account details, cookies and rate-limit headers never reach the client.

const DROP_REQUEST = new Set([
  'host',
  'connection',
  'keep-alive',
  'content-length',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'authorization',
  'api-key',
  'openai-organization',
  'openai-project',
  'cookie',
  'forwarded',
  'accept-encoding',
  'proxy-authorization',
  'proxy-connection',
  'expect',
]);

/** Headers forwarded upstream (lower-case), without hop-by-hop, credentials or x-forwarded-*. */
export function upstreamRequestHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in h) {
    const value = h[name];
    if (value === undefined || DROP_REQUEST.has(name) || name.startsWith('x-forwarded-') || name.startsWith('x-tollgate-')) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

const DROP_RESPONSE = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'content-encoding',
  'set-cookie',
  'openai-organization',
  'openai-project',
  'alt-svc',
  'strict-transport-security',
]);

/** Headers passed back to the client from the upstream's answer. */
export function clientResponseHeaders(h: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in h) {
    const value = h[name];
    if (value === undefined || DROP_RESPONSE.has(name) || name.startsWith('x-ratelimit-') || name.startsWith('cf-')) continue;
    out[name] = value;
  }
  return out;
}
