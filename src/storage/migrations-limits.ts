import type { Migration } from 'kysely';
import type { Dialect } from './migrations.js';

/** Rate limits, budgets, quotas, webhooks (names 040_…–049_…). */
export function limitMigrations(_dialect: Dialect): Record<string, Migration> {
  return {};
}
