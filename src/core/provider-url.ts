// A provider's base URL is used as its origin and path only (providers/http-upstream.ts builds an undici Pool on the
// origin and prefixes the path): a user and password, a query or a fragment in it would be dropped without a word,
// and a key put there (`https://key@host`, `?key=…`) would be shown back in lists and audit entries as plain text.

/** Why `url` cannot be a provider's base URL, or null when it can. */
export function baseUrlProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be a URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must be an http(s) URL';
  if (parsed.username !== '' || parsed.password !== '') return 'must not hold a user or password (provider keys are credentials, not part of the URL)';
  if (parsed.search !== '' || url.includes('?')) return 'must not have a query string';
  if (parsed.hash !== '' || url.includes('#')) return 'must not have a fragment';
  return null;
}

