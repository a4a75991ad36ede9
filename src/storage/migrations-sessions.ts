import type { Migration } from 'kysely';
import type { Dialect } from './migrations.js';

/** Dashboard accounts: sessions, invitations (names 020_…–029_…). */
export function sessionMigrations(_dialect: Dialect): Record<string, Migration> {
  return {};
}
