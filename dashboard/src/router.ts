import { useEffect, useState } from 'preact/hooks';

// Hash routing (`#/api-keys?project=proj_…`, `#/api-keys/key_…?project=…`, `#/settings/members`): the server serves
// one index.html, and a reload keeps the page.

export interface Route {
  path: string;
  params: URLSearchParams;
}

/** Reads the current route from location.hash. */
export function currentRoute(): Route {
  const raw = location.hash.replace(/^#/, '') || '/api-keys';
  const [path, query = ''] = raw.split('?', 2);
  return { path: path || '/api-keys', params: new URLSearchParams(query) };
}

/** The current route, re-rendering on every hash change. */
export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

/** Changes query parameters of the current route (null removes one) without adding a history entry. */
export function replaceParams(changes: Record<string, string | null>): void {
  const { path, params } = currentRoute();
  for (const [name, value] of Object.entries(changes)) {
    if (value === null || value === '') params.delete(name);
    else params.set(name, value);
  }
  const qs = params.toString();
  history.replaceState(null, '', `#${path}${qs ? `?${qs}` : ''}`);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

/** Changes one query parameter of the current route without adding a history entry. */
export function replaceParam(name: string, value: string | null): void {
  replaceParams({ [name]: value });
}

/** Replaces the current route (no history entry), e.g. to drop a spent token from the address bar. */
export function replaceRoute(path: string): void {
  history.replaceState(null, '', `#${path}`);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

/** The link to a key's own page. */
export function keyHref(projectId: string | null, keyId: string): string {
  return `#/api-keys/${encodeURIComponent(keyId)}${projectId ? `?project=${encodeURIComponent(projectId)}` : ''}`;
}
