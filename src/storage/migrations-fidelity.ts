import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from './migrations.js';

/**
 * OpenAI fidelity (issue 17; names 093_…). 093: audit entries of an event OpenAI's Audit Logs API has a name for are
 * stored under that name, so that the stored type, the one the API shows, the `event_types[]` filter and the dashboard's
 * catalogue are one word: Tollgate's `logout` is OpenAI's `logout.succeeded`. (The renames are written out here, not
 * read from today's catalogue: migrations are frozen history.)
 */
export function fidelityMigrations(_dialect: Dialect): Record<string, Migration> {
  return {
    '093_audit_openai_event_names': {
      async up(db: Kysely<unknown>) {
        await sql`update audit_logs set type = 'logout.succeeded' where type = 'logout'`.execute(db);
      },
    },
  };
}
