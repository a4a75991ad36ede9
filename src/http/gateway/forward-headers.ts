import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ApiFormat } from '../../core/anthropic-errors.js';
import { holdsProviderKey } from '../../core/provider-details.js';
import { ANTHROPIC_REQUEST_ID_HEADER, REQUEST_ID_HEADER, UPSTREAM_REQUEST_ID_HEADER } from '../shared/request-id.js';

// Which headers cross the gateway. Only an allowlist of the client's headers reaches the provider (never its
// credentials or org/project headers); the provider's account details, cookies and rate-limit headers never reach
// the client.

/**
 * The client headers that reach the provider: an allowlist, so that nothing a client invents is forwarded (addresses
 * such as X-Real-IP or True-Client-IP, X-HTTP-Method-Override, credentials in x-api-key or api-key, cookies). What
 * OpenAI's API and its official SDKs send is kept: the body's type, what the client accepts, the user agent, beta and
 * idempotency headers, the client's own request id, and the SDKs' `x-stainless-*` descriptions of themselves; and
 * Anthropic's version and beta headers (its SDKs send them on every request).
 */
const FORWARD_REQUEST = new Set([
  'content-type',
  'accept',
  'accept-language',
  'user-agent',
  'openai-beta',
  'openai-version',
  'idempotency-key',
  'x-client-request-id',
  'anthropic-version',
  'anthropic-beta',
]);

/**
 * Headers forwarded upstream (lower-case): the allowlist above, and `x-stainless-*`. An `Idempotency-Key` is made the
 * project's own (`scope`): every project shares the provider account, where one project's key could otherwise name
 * another's request, and a provider replaying the answer of a repeated key would hand that project the other's
 * answer (found by an outside review). A retry of the same project still sends the same key.
 */
export function upstreamRequestHeaders(h: IncomingHttpHeaders, scope: string | null = null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in h) {
    const value = h[name];
    if (value === undefined || !(FORWARD_REQUEST.has(name) || name.startsWith('x-stainless-'))) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const idempotency = out['idempotency-key'];
  if (idempotency !== undefined && scope !== null) out['idempotency-key'] = `tg-${createHash('sha256').update(`${scope}\n${idempotency}`).digest('hex').slice(0, 48)}`;
  return out;
}

const DROP_RESPONSE = new Set([
  // Hop-by-hop (RFC 9110 §7.6.1): about the upstream connection, not the answer. A relayed Trailer also made Node
  // refuse the whole answer (ERR_HTTP_TRAILER_INVALID: a 500) once it had a content-length.
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'content-length',
  'content-encoding',
  'set-cookie',
  'openai-organization',
  'openai-project',
  'alt-svc',
  'strict-transport-security',
  'anthropic-organization-id',
  // The provider's infrastructure (its proxies and their software): nothing about the answer, and a map of what sits
  // behind the provider's front for whoever reads it.
  'server',
  'via',
  'x-powered-by',
]);

/**
 * Headers that describe the provider's deployment rather than the answer: Azure's `x-ms-*` (`x-ms-deployment-name`,
 * `x-ms-region`: the names a key could then address), `azureml-*` and `apim-*` (found by a review), and the Envoy
 * proxies' `x-envoy-*` (its internal routes and timings).
 */
function isProviderDetail(name: string): boolean {
  const c = name.charCodeAt(0);
  return (c === 120 && (name.startsWith('x-ms-') || name.startsWith('x-envoy-'))) || (c === 97 && (name.startsWith('azureml-') || name.startsWith('apim-')));
}

/** The last Connection value seen and the header names it lists: nearly every answer says `keep-alive`. */
let lastConnection: { value: string; named: ReadonlySet<string> } | null = null;

/** The header names a Connection value lists (lower-case), made once per distinct value in a row. */
function connectionNamed(value: string): ReadonlySet<string> {
  if (lastConnection?.value === value) return lastConnection.named;
  const named = new Set(value.toLowerCase().split(',').map((s) => s.trim()));
  lastConnection = { value, named };
  return named;
}

/**
 * Headers passed back to the client from the upstream's answer, with Tollgate's request id in `x-request-id` (and in
 * `request-id` for Anthropic's clients); the upstream's own id (`x-request-id`, Anthropic's `request-id`) goes on as
 * `x-upstream-request-id`. The provider's rate-limit headers (OpenAI's `x-ratelimit-*`, Anthropic's
 * `anthropic-ratelimit-*`) describe its account, not the key: Tollgate's own take their place. A header whose value
 * holds one of the providers' keys (`secrets`: an upstream echoing the request's Authorization, x-api-key or api-key,
 * found by a review) is dropped, whatever its name: the answer's body is cleared of the keys, so are its headers.
 */
export function clientResponseHeaders(
  h: Record<string, string | string[] | undefined>,
  requestId: string,
  format: ApiFormat,
  secrets: readonly string[],
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  // Headers the upstream's Connection header names are hop-by-hop too.
  const connection = h.connection;
  const named = connection === undefined ? null : connectionNamed(String(connection));
  for (const name in h) {
    const value = h[name];
    if (value === undefined || DROP_RESPONSE.has(name) || named?.has(name) || name.startsWith('x-ratelimit-') || name.startsWith('cf-') || name.startsWith('anthropic-ratelimit-') || isProviderDetail(name)) continue;
    if (secrets.length > 0 && (typeof value === 'string' ? holdsProviderKey(value, secrets) : value.some((v) => holdsProviderKey(v, secrets)))) continue;
    if (name === REQUEST_ID_HEADER || name === ANTHROPIC_REQUEST_ID_HEADER) out[UPSTREAM_REQUEST_ID_HEADER] = value;
    else if (name !== UPSTREAM_REQUEST_ID_HEADER) out[name] = value;
  }
  out[REQUEST_ID_HEADER] = requestId;
  if (format === 'anthropic') out[ANTHROPIC_REQUEST_ID_HEADER] = requestId;
  return out;
}
