/** Rollup tables (see migrations-rollups.ts). */
// biome-ignore lint/suspicious/noEmptyInterface: filled as the rollup tables land
export interface RollupTables {}
