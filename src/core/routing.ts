// Model → provider routing: aliases first, then exact or trailing-* patterns, then the default provider.

export interface RoutingTable {
  routes: ReadonlyArray<{ pattern: string; provider: string }>;
  aliases: Readonly<Record<string, string>>;
  defaultProvider: string | null;
}

/** Resolves the upstream model name and provider for a requested model. */
export function routeModel(table: RoutingTable, requested: string): { model: string; provider: string | null } {
  const model = table.aliases[requested] ?? requested;
  let best: { len: number; provider: string } | null = null;
  for (const r of table.routes) {
    if (r.pattern === model) return { model, provider: r.provider };
    if (r.pattern.endsWith('*') && model.startsWith(r.pattern.slice(0, -1))) {
      const len = r.pattern.length;
      if (!best || len > best.len) best = { len, provider: r.provider };
    }
  }
  return { model, provider: best?.provider ?? table.defaultProvider };
}
