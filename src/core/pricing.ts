// Model prices in USD per 1M tokens (public list prices, standard tier, as of late 2025). Overridable in config.
// Costs are computed in integer nano-dollars so that sums are exact.

export interface ModelPrice {
  input: number;
  cached_input?: number;
  output?: number;
}

export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gpt-5': { input: 1.25, cached_input: 0.125, output: 10 },
  'gpt-5-mini': { input: 0.25, cached_input: 0.025, output: 2 },
  'gpt-5-nano': { input: 0.05, cached_input: 0.005, output: 0.4 },
  'gpt-4.1': { input: 2, cached_input: 0.5, output: 8 },
  'gpt-4.1-mini': { input: 0.4, cached_input: 0.1, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, cached_input: 0.025, output: 0.4 },
  'gpt-4o': { input: 2.5, cached_input: 1.25, output: 10 },
  'gpt-4o-mini': { input: 0.15, cached_input: 0.075, output: 0.6 },
  o3: { input: 2, cached_input: 0.5, output: 8 },
  'o4-mini': { input: 1.1, cached_input: 0.275, output: 4.4 },
  o1: { input: 15, cached_input: 7.5, output: 60 },
  'gpt-4-turbo': { input: 10, output: 30 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  'text-embedding-3-small': { input: 0.02 },
  'text-embedding-3-large': { input: 0.13 },
  'text-embedding-ada-002': { input: 0.1 },
  'tollgate-echo': { input: 0, cached_input: 0, output: 0 },
};

/** Finds the price of a model: exact name, else the longest known prefix (dated snapshots like gpt-4o-2024-08-06). */
export function priceFor(prices: Readonly<Record<string, ModelPrice>>, model: string): ModelPrice | null {
  const exact = prices[model];
  if (exact) return exact;
  let best: string | null = null;
  for (const name of Object.keys(prices)) {
    if (model.startsWith(`${name}-`) && (!best || name.length > best.length)) best = name;
  }
  return best ? prices[best] : null;
}

/** USD per 1M tokens → nano-dollars per token (exact for prices with up to 3 decimals per 1M). */
const perToken = (usdPerMillion: number | undefined) => Math.round((usdPerMillion ?? 0) * 1000);

export interface TokenCounts {
  input: number;
  cached: number;
  output: number;
}

/** Cost of a request in integer nano-dollars (1e-9 USD). Unknown models cost 0 and are flagged by the caller. */
export function costNanoUsd(price: ModelPrice | null, tokens: TokenCounts): number {
  if (!price) return 0;
  const cached = Math.min(tokens.cached, tokens.input);
  const cachedRate = price.cached_input ?? price.input;
  return (tokens.input - cached) * perToken(price.input) + cached * perToken(cachedRate) + tokens.output * perToken(price.output);
}

/** Nano-dollars as a USD number (for display and the usage API). */
export function nanoToUsd(nano: number): number {
  return nano / 1e9;
}
