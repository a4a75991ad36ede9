import { findKeysInText } from './key-search.js';

// Credentials never reach the provider (docs/gateway-paths.md): the gateway forwards the client's query string as it
// is, so a key there (`?api-key=sk-tg-…`, as Azure's and Gemini's clients may be told to send one) would go to the
// provider, and into its logs. Dropping the parameter would ignore it silently: the request is refused instead.

/**
 * Names that only ever carry a credential. No OpenAI or Anthropic route takes a query parameter by these names (OpenAI's
 * OpenAPI spec; Anthropic's SDKs send only `beta`); `key` is Gemini's native API key, which its OpenAI-compatible
 * endpoint, like every other, takes in a header instead. Azure's `api-version` is not one.
 */
const CREDENTIAL_NAMES = new Set(['api-key', 'api_key', 'apikey', 'x-api-key', 'key', 'access_token', 'authorization']);

/**
 * The query parameter that holds a credential in `search` (`?a=b&…`, as canonical-path.ts passes it: unreserved
 * characters never percent-encoded), or null: one named as a credential is, and so is any whose name or value holds a
 * Tollgate key (checksum valid). A key in a name is named `(a parameter named by a key)`: the name is never echoed.
 */
export function credentialInQuery(search: string): string | null {
  if (search.length <= 1) return null;
  for (const pair of search.slice(1).split('&')) {
    const eq = pair.indexOf('=');
    const rawName = eq === -1 ? pair : pair.slice(0, eq);
    if (findKeysInText(rawName).length > 0) return '(a parameter named by a key)';
    let name = rawName;
    try {
      name = decodeURIComponent(rawName.replaceAll('+', ' '));
    } catch {
      // canonical-path.ts has refused a bad encoding already: the raw name is named
    }
    if (CREDENTIAL_NAMES.has(name.toLowerCase())) return name;
    if (eq !== -1 && findKeysInText(pair.slice(eq + 1)).length > 0) return name;
  }
  return null;
}
