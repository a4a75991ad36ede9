/** Limit tables (see migrations-limits.ts). */
// biome-ignore lint/suspicious/noEmptyInterface: filled as the limit tables land
export interface LimitTables {}
