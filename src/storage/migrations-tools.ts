import type { Kysely, Migration } from 'kysely';
import type { Dialect } from './migrations.js';

// Frozen history: the tables and columns are written out here (today's are in core/usage-line.ts and schema-rollups.ts).

/** The rollup tables as migration 030 created them. */
const ROLLUP_TABLES_110 = ['usage_rollups_1h', 'usage_rollups_1d', 'usage_rollups_project_1h', 'usage_rollups_project_1d'] as const;

/**
 * 110: usage events record the web searches a provider ran for a request (Anthropic's
 * `usage.server_tool_use.web_search_requests`), billed per search beside the tokens, and the rollups sum them and
 * their cost apart from the token line items (the Costs API's `<model>, web search`). Until now they were neither
 * kept nor billed: a search was $0.01 Anthropic charged and no budget saw. Rows written before are 0: adding a column
 * with a constant default is a change of the catalogue only, on SQLite and PostgreSQL alike.
 */
export function toolMigrations(_dialect: Dialect): Record<string, Migration> {
  return {
    '110_usage_web_searches': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('usage_events').addColumn('web_search_requests', 'integer', (col) => col.notNull().defaultTo(0)).execute();
        for (const table of ROLLUP_TABLES_110) {
          await db.schema.alterTable(table).addColumn('web_search_requests', 'bigint', (col) => col.notNull().defaultTo(0)).execute();
          await db.schema.alterTable(table).addColumn('web_search_cost_nanousd', 'bigint', (col) => col.notNull().defaultTo(0)).execute();
        }
      },
    },
  };
}
