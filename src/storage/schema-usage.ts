/** Tables of usage, limits and budgets (see migrations-usage.ts). */
// biome-ignore lint/suspicious/noEmptyInterface: filled as the usage tables land
export interface UsageTables {}
