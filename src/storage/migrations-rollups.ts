import type { Migration } from 'kysely';
import type { Dialect } from './migrations.js';

/** Usage rollups per minute/hour/day (names 030_…–039_…). */
export function rollupMigrations(_dialect: Dialect): Record<string, Migration> {
  return {};
}
