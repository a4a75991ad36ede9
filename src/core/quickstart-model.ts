// The model the dashboard's quickstart snippets name (issue 19): one that answers on this instance, so a new user's
// first copied request works. Without providers the built-in echo model answers everything.

export interface ModelSources {
  providers: Array<{ name: string; models: string[] | null }>;
  defaultProvider: string | null;
}

/** Common model of a provider that declares none (the default `openai` provider from OPENAI_API_KEY). */
const WELL_KNOWN: Readonly<Record<string, string>> = { openai: 'gpt-4o-mini' };

/** The echo model without providers; else the default provider's first declared model, then any provider's; null if none is known. */
export function quickstartModel(sources: ModelSources): string | null {
  if (sources.providers.length === 0) return 'tollgate-echo';
  const ordered = [...sources.providers].sort((a, b) => Number(b.name === sources.defaultProvider) - Number(a.name === sources.defaultProvider));
  for (const p of ordered) if (p.models?.length) return p.models[0];
  for (const p of ordered) if (WELL_KNOWN[p.name]) return WELL_KNOWN[p.name];
  return null;
}
