// Model → provider routing: aliases first, then exact or trailing-* patterns, then the default provider.

/** Where a request goes when its provider cannot answer (issue 20 §3); `model` null keeps the request's. */
export interface Fallback {
  provider: string;
  model: string | null;
}

export interface RoutingTable {
  routes: ReadonlyArray<{ pattern: string; provider: string; fallbacks?: readonly Fallback[]; maxAttempts?: number }>;
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
  let best: { len: number; route: RoutingTable['routes'][number] } | null = null;
  for (const r of table.routes) {
    if (r.pattern === model) return targetOf(model, r);
    if (r.pattern.endsWith('*') && model.startsWith(r.pattern.slice(0, -1))) {
      const len = r.pattern.length;
      if (!best || len > best.len) best = { len, route: r };
    }
  }
  return best ? targetOf(model, best.route) : { model, provider: table.defaultProvider };
}

function targetOf(model: string, r: RoutingTable['routes'][number]): RouteTarget {
  if (!r.fallbacks || r.fallbacks.length === 0 || (r.maxAttempts ?? 1) <= 1) return { model, provider: r.provider };
  return { model, provider: r.provider, route: { fallbacks: r.fallbacks, maxAttempts: r.maxAttempts ?? 1 } };
}
