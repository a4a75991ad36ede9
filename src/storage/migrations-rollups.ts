import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from './migrations.js';
import { notNull } from './migrations.js';

// Frozen history: this file imports nothing from runtime code; the tables, key and columns migration 030 created are
// written out here (today's are in schema-rollups.ts), so changing those never changes what 030 creates.

/** The unique key of every rollup table, as 030 created it (api_key_id is '' in the project tables). */
const KEY_030 = ['org_id', 'bucket_start', 'project_id', 'api_key_id', 'model', 'endpoint_kind'] as const;

/** The summed columns migration 030 created (frozen: the migration must create the same columns forever). */
const SUMS_030 = [
  'num_requests',
  'num_model_requests',
  'num_refused_requests',
  'num_failed_requests',
  'input_tokens',
  'cached_tokens',
  'output_tokens',
  'input_cost_nanousd',
  'cached_cost_nanousd',
  'output_cost_nanousd',
] as const;

/** The endpoint kinds of migration 030's backfill, as they were then (frozen; see ENDPOINT_KINDS for today's). */
const KINDS_030: Readonly<Record<string, string>> = {
  'POST /chat/completions': 'completions',
  'POST /completions': 'completions',
  'POST /responses': 'completions',
  'POST /embeddings': 'embeddings',
  'POST /moderations': 'moderations',
  'POST /images/generations': 'images',
  'POST /images/edits': 'images',
  'POST /images/variations': 'images',
  'POST /audio/speech': 'audio_speeches',
  'POST /audio/transcriptions': 'audio_transcriptions',
  'POST /audio/translations': 'audio_transcriptions',
};

/** The tables 030 created: bucket width in seconds, and whether a table keeps the key dimension. */
const TABLES_030 = [
  { table: 'usage_rollups_1h', width: 3600, perKey: true },
  { table: 'usage_rollups_1d', width: 86_400, perKey: true },
  { table: 'usage_rollups_project_1h', width: 3600, perKey: false },
  { table: 'usage_rollups_project_1d', width: 86_400, perKey: false },
] as const;

/**
 * Usage rollups per hour and per day, per key and per project (names 030_…–039_…). There is no minute table:
 * at one row per (minute, key, model) it would hold about as many rows as usage_events, so `1m` buckets are
 * summed from usage_events over its time index (a page is at most 1440 minutes).
 */
export function rollupMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '030_usage_rollups': {
      async up(db: Kysely<unknown>) {
        for (const { table, width, perKey } of TABLES_030) {
          let t = db.schema
            .createTable(table)
            .addColumn('org_id', 'text', notNull)
            .addColumn('bucket_start', 'bigint', notNull)
            .addColumn('project_id', 'text', notNull)
            .addColumn('api_key_id', 'text', notNull)
            .addColumn('model', 'text', notNull)
            .addColumn('endpoint_kind', 'text', notNull);
          for (const c of SUMS_030) t = t.addColumn(c, 'bigint', (col) => col.notNull().defaultTo(0));
          // The key leads with (org, bucket) so a time range is one index range scan; SQLite clusters rows on it.
          t = t.addPrimaryKeyConstraint(`${table}_pk`, [...KEY_030]);
          if (dialect === 'sqlite') t = t.modifyEnd(sql`without rowid`);
          await t.execute();
          await backfill(db, table, width, perKey);
        }
      },
    },
  };
}

/** Rolls up events recorded before this migration (their whole cost goes to the input line item). */
async function backfill(db: Kysely<unknown>, table: string, width: number, perKey: boolean): Promise<void> {
  const kindCases = Object.entries(KINDS_030).map(([route, kind]) => {
    const [method, endpoint] = route.split(' ');
    return sql`when method = ${sql.lit(method)} and endpoint = ${sql.lit(endpoint)} then ${sql.lit(kind)}`;
  });
  const billed = sql`billable = 1 and outcome <> 'refused'`;
  await sql`
    insert into ${sql.table(table)} (${sql.join([...KEY_030, ...SUMS_030].map((c) => sql.ref(c)))})
    select org_id, (created_at_ms / ${sql.lit(width * 1000)}) * ${sql.lit(width)},
      coalesce(project_id, ''), ${perKey ? sql`coalesce(api_key_id, '')` : sql`''`}, coalesce(model, ''),
      case ${sql.join(kindCases, sql` `)} else 'other' end,
      count(*),
      sum(case when ${billed} then 1 else 0 end),
      sum(case when outcome = 'refused' then 1 else 0 end),
      sum(case when outcome not in ('ok', 'refused') then 1 else 0 end),
      sum(case when ${billed} then input_tokens else 0 end),
      sum(case when ${billed} then cached_tokens else 0 end),
      sum(case when ${billed} then output_tokens else 0 end),
      sum(case when ${billed} then cost_nanousd else 0 end),
      0, 0
    from usage_events
    group by 1, 2, 3, 4, 5, 6
  `.execute(db);
}
