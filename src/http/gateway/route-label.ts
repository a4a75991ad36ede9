import { matchApiRoute } from '../../core/api-routes.js';

/**
 * What metering records as the endpoint of a path the API does not list (an API route records its template, so a
 * client's ids never reach storage): its first segment (already canonical, so pchar characters only), capped in
 * length, and `/*` when more follows.
 */
export function unlistedLabel(endpoint: string): string {
  const slash = endpoint.indexOf('/', 1);
  const first = slash < 0 ? endpoint : endpoint.slice(0, slash);
  return `${first.length > 65 ? first.slice(0, 65) : first}${slash < 0 ? '' : '/*'}`;
}

/** The route metering records for an endpoint (relative to `/v1`): its API template, or the bounded label. */
export function routeLabel(endpoint: string): { route: string; listed: boolean } {
  const matched = matchApiRoute(endpoint);
  return matched ? { route: matched.template, listed: true } : { route: unlistedLabel(endpoint), listed: false };
}
