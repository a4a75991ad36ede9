import type { Kysely, Migration } from 'kysely';
import type { Dialect } from './migrations.js';

// Frozen history: the tables and columns are written out here (today's are in core/usage-line.ts and schema-rollups.ts).

/** The rollup tables as migration 030 created them. */
const ROLLUP_TABLES_104 = ['usage_rollups_1h', 'usage_rollups_1d', 'usage_rollups_project_1h', 'usage_rollups_project_1d'] as const;

/** The parts of a request's tokens billed at rates of their own (core/pricing.ts tokenParts), per event. */
const EVENT_COLUMNS_104 = ['cache_write_tokens', 'cache_write_1h_tokens', 'audio_input_tokens', 'audio_output_tokens', 'image_input_tokens', 'image_output_tokens'] as const;
/** Those the Usage API reports (OpenAI's input_cache_write_tokens, input_audio_tokens, …), summed in every rollup. */
const ROLLUP_COLUMNS_104 = ['cache_write_tokens', 'audio_input_tokens', 'audio_output_tokens', 'image_input_tokens', 'image_output_tokens'] as const;

/**
 * 104: usage events record the parts of their tokens billed at rates of their own (cache writes, of either lifetime and
 * of the 1-hour one; uncached audio and image input; audio and image output), and the rollups sum those the Usage API
 * reports. Until now they were billed but not kept: usage/completions answered `input_audio_tokens: 0`, and the
 * rollups split a cost into line items from input, cached input and output alone. Rows written before are 0 (not
 * known): adding a column with a constant default is a change of the catalogue only, on SQLite and PostgreSQL alike.
 */
export function tokenMigrations(_dialect: Dialect): Record<string, Migration> {
  return {
    '104_usage_token_parts': {
      async up(db: Kysely<unknown>) {
        for (const c of EVENT_COLUMNS_104) await db.schema.alterTable('usage_events').addColumn(c, 'integer', (col) => col.notNull().defaultTo(0)).execute();
        for (const table of ROLLUP_TABLES_104) {
          for (const c of ROLLUP_COLUMNS_104) await db.schema.alterTable(table).addColumn(c, 'bigint', (col) => col.notNull().defaultTo(0)).execute();
        }
      },
    },
  };
}
