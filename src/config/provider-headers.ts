import { z } from 'zod';

// A provider's `headers` are sent with every request to it (providers/http-upstream.ts), over the request's own. One
// undici cannot send (a CR or LF in its value, a name that is not a token) failed every request as "could not be
// reached", counted by the circuit breaker; one Tollgate sets itself (framing, the connection, the body's type) would
// break or override what it sends; a key header would put a secret in the file, which holds none (found by a review).

/** RFC 9110 §5.6.2 token: a field name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9110 §5.5 field value, as Tollgate takes it: visible ASCII, spaces and tabs (no CR, LF, NUL, obs-text). */
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;

/** Headers of the request's framing, its connection and its body, which Tollgate and undici set. */
const SET_BY_TOLLGATE = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer', 'expect', 'content-type']);
/** Headers that carry a key: the key is an environment variable's (`api_key_env`, `credentials`), sent as `auth` says. */
const KEY_HEADERS = new Set(['authorization', 'proxy-authorization', 'api-key', 'x-api-key']);

/** Why a provider's headers cannot be sent, as a path below `headers` and a message (neither showing a value), or null. */
export function providerHeadersProblem(headers: Record<string, string>): { path: string[]; message: string } | null {
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) return { path: [], message: "a header name is a token (letters, digits and !#$%&'*+-.^_`|~), one of them is not" };
    const lower = name.toLowerCase();
    if (KEY_HEADERS.has(lower)) {
      return { path: [name], message: "the provider's key is sent by auth from api_key_env or credentials, never written in the file" };
    }
    if (SET_BY_TOLLGATE.has(lower)) return { path: [name], message: `Tollgate sets ${lower} itself` };
    if (!FIELD_VALUE.test(value)) return { path: [name], message: 'a header value is visible ASCII characters, spaces and tabs (no CR, LF or other control characters)' };
    const other = seen.get(lower);
    if (other !== undefined) return { path: [name], message: `named twice (${other}); header names are compared ignoring case` };
    seen.set(lower, name);
  }
  return null;
}

/** The `headers` of a provider in the config file. */
export const ProviderHeaders = z.record(z.string(), z.string()).superRefine((headers, ctx) => {
  const problem = providerHeadersProblem(headers);
  if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
});
