import type { Migration } from 'kysely';
import type { Dialect } from './migrations.js';

/** Usage, limits and budgets tables (names 010_…–019_…). */
export function usageMigrations(_dialect: Dialect): Record<string, Migration> {
  return {};
}
