// A provider's base URL is used as its origin and path only (providers/http-upstream.ts builds an undici Pool on the
// origin and prefixes the path): a user and password, a query or a fragment in it would be dropped without a word,
// and a key put there (`https://key@host`, `?key=…`) would be shown back in lists and audit entries as plain text.
// A webhook's URL is requested as it is (services/webhooks.ts): its query is sent, but undici sends no Authorization
// from a user and password in the URL, and no request carries a fragment.

/** Why `url` cannot be a URL Tollgate sends requests to (a webhook's), or null: http(s), without a user, password or fragment. */
export function requestUrlProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be a URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must be an http(s) URL';
  if (parsed.username !== '' || parsed.password !== '') return 'must not hold a user or password (they would not be sent; credentials are not part of the URL)';
  if (parsed.hash !== '' || url.includes('#')) return 'must not have a fragment (it would not be sent)';
  return null;
}

/** Why `url` cannot be a provider's base URL, or null when it can: as requestUrlProblem, and without a query. */
export function baseUrlProblem(url: string): string | null {
  return requestUrlProblem(url) ?? (url.includes('?') ? 'must not have a query string' : null);
}

/**
 * The origin of an http(s) URL (scheme://host[:port], as the URL standard spells it), what an audit entry records of
 * a URL that may be a credential (a webhook's secret path or `?token=`); null for one that does not parse.
 */
export function urlOrigin(url: string): string | null {
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}
