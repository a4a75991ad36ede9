import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from './migrations.js';

/**
 * Refused requests by reason (the dashboard's outcomes, issue 19) are read from usage_events, whose only index is its
 * time (050: every index costs each insert). A partial index holds the refused events alone: answered requests,
 * nearly all of them, pay nothing for it, and a question about refusals reads refusals only.
 */
export function dashboardMigrations(_dialect: Dialect): Record<string, Migration> {
  return {
    '092_usage_refusals_index': {
      async up(db: Kysely<unknown>) {
        await sql`create index if not exists usage_events_refused_time on usage_events (created_at_ms) where outcome = 'refused'`.execute(db);
      },
    },
  };
}
