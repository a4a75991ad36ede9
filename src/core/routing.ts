// Model → provider routing: aliases first, then exact or trailing-* patterns, then the default provider.

/** Where a request goes when its provider cannot answer (issue 20 §3); `model` null keeps the request's. */
export interface Fallback {
  provider: string;
  model: string | null;
}

export interface RoutingTable {
  /**
   * `runtime`: a route of a provider added through the admin API, below every route of the config file: a model a file
   * route matches (exactly or by any prefix) stays where the file sends it, however exact or long the runtime match.
   */
  routes: ReadonlyArray<{ pattern: string; provider: string; fallbacks?: readonly Fallback[]; maxAttempts?: number; runtime?: boolean }>;
  aliases: Readonly<Record<string, string>>;
  defaultProvider: string | null;
}

export interface RouteTarget {
  model: string;
  provider: string | null;
  /** The matched route, when it has fallbacks (else absent: the common case allocates nothing more). */
  route?: { fallbacks: readonly Fallback[]; maxAttempts: number };
}

/** Resolves the upstream model name and provider for a requested model. */
export function routeModel(table: RoutingTable, requested: string): RouteTarget {
  // Own members only: a model named `constructor` or `__proto__` is a name, not Object.prototype's member.
  const model = Object.hasOwn(table.aliases, requested) ? table.aliases[requested] : requested;
  // The best match of the file's routes, else of the runtime ones: exact beats any prefix, a longer prefix a shorter.
  // (A runtime provider listing `gpt-4o` took every project's gpt-4o requests, prompts and all, from the file's
  // `gpt-*` provider: found by a review.)
  let best: { file: boolean; len: number; route: RoutingTable['routes'][number] } | null = null;
  for (const r of table.routes) {
    let len: number;
    if (r.pattern === model) len = Number.POSITIVE_INFINITY;
    else if (r.pattern.endsWith('*') && model.startsWith(r.pattern.slice(0, -1))) len = r.pattern.length;
    else continue;
    const file = !r.runtime;
    if (file && len === Number.POSITIVE_INFINITY) return targetOf(model, r);
    if (!best || (file && !best.file) || (file === best.file && len > best.len)) best = { file, len, route: r };
  }
  return best ? targetOf(model, best.route) : { model, provider: table.defaultProvider };
}

function targetOf(model: string, r: RoutingTable['routes'][number]): RouteTarget {
  if (!r.fallbacks || r.fallbacks.length === 0 || (r.maxAttempts ?? 1) <= 1) return { model, provider: r.provider };
  return { model, provider: r.provider, route: { fallbacks: r.fallbacks, maxAttempts: r.maxAttempts ?? 1 } };
}
