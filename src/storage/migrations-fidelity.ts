import { type CreateTableBuilder, type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from './migrations.js';
import { notNull } from './migrations.js';

/**
 * OpenAI fidelity (issue 17; names 093_…). 093: audit entries of an event OpenAI's Audit Logs API has a name for are
 * stored under that name, so that the stored type, the one the API shows, the `event_types[]` filter and the dashboard's
 * catalogue are one word: Tollgate's `logout` is OpenAI's `logout.succeeded`. (The renames are written out here, not
 * read from today's catalogue: migrations are frozen history.)
 *
 * 094: usage_costs_key_1d, a day's billed requests and cost per key, for the Costs API grouped or filtered by key (a
 * month by key read ~425,000 per-key, per-model, per-endpoint rows to answer ~290,000 results). Backfilled from the
 * per-key day rollup, which holds the same sums.
 *
 * 097: the service tier a request ran at (OpenAI's `service_tier`, for the Usage API's group_by=service_tier), on usage
 * events (null: not known, as on every event before) and in the four rollups, where it joins the unique key ('' when
 * not known, as the other dimensions; every existing row gets ''). SQLite cannot change a WITHOUT ROWID table's key,
 * so there each rollup is copied into a new table with the longer key; PostgreSQL swaps the key's constraint.
 *
 * 098 (PostgreSQL): a partial index of the usage_costs_key_1d rows whose key or project id is not a plain word (empty,
 * or with characters JSON escapes). Costs by key quote plain ids as they are and only a range with such a row through
 * to_json; the index, empty where every id is Tollgate's, answers that question at once. The query repeats this
 * predicate word for word (services/costs-query.ts, ODD_IDS). SQLite quotes with json_quote, as cheap: nothing there.
 */
/** The rollup tables, their key and columns as migrations 030 and 080 left them (frozen). */
const ROLLUPS_097 = ['usage_rollups_1h', 'usage_rollups_1d', 'usage_rollups_project_1h', 'usage_rollups_project_1d'] as const;
const ROLLUP_KEY_097 = ['org_id', 'bucket_start', 'project_id', 'api_key_id', 'model', 'endpoint_kind'] as const;
const ROLLUP_SUMS_097 = [
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
  'units',
  'num_unpriced_requests',
] as const;

async function addServiceTierToRollup(db: Kysely<unknown>, dialect: Dialect, table: string): Promise<void> {
  const key = [...ROLLUP_KEY_097, 'service_tier'];
  if (dialect === 'postgres') {
    await db.schema.alterTable(table).addColumn('service_tier', 'text', (c) => c.notNull().defaultTo('')).execute();
    await db.schema.alterTable(table).dropConstraint(`${table}_pk`).execute();
    await db.schema.alterTable(table).addPrimaryKeyConstraint(`${table}_pk`, key).execute();
    return;
  }
  const copy = `${table}_097`;
  let t: CreateTableBuilder<string, string> = db.schema.createTable(copy);
  for (const c of ROLLUP_KEY_097) t = t.addColumn(c, c === 'bucket_start' ? 'bigint' : 'text', notNull);
  t = t.addColumn('service_tier', 'text', (c) => c.notNull().defaultTo(''));
  for (const c of ROLLUP_SUMS_097) t = t.addColumn(c, 'bigint', (col) => col.notNull().defaultTo(0));
  await t.addPrimaryKeyConstraint(`${table}_pk`, key).modifyEnd(sql`without rowid`).execute();
  const columns = sql.join([...ROLLUP_KEY_097, ...ROLLUP_SUMS_097].map((c) => sql.ref(c)));
  // Read in the old key's order, which is the new key's (every row's tier is ''): appended, never reshuffled.
  await sql`insert into ${sql.table(copy)} (${columns}) select ${columns} from ${sql.table(table)}`.execute(db);
  await db.schema.dropTable(table).execute();
  await db.schema.alterTable(copy).renameTo(table).execute();
}

export function fidelityMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '093_audit_openai_event_names': {
      async up(db: Kysely<unknown>) {
        await sql`update audit_logs set type = 'logout.succeeded' where type = 'logout'`.execute(db);
      },
    },
    '094_usage_costs_by_key': {
      async up(db: Kysely<unknown>) {
        let t = db.schema
          .createTable('usage_costs_key_1d')
          .addColumn('org_id', 'text', notNull)
          .addColumn('bucket_start', 'bigint', notNull)
          .addColumn('api_key_id', 'text', notNull)
          .addColumn('project_id', 'text', notNull)
          .addColumn('num_model_requests', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('cost_nanousd', 'bigint', (c) => c.notNull().defaultTo(0))
          // A time range is one index range scan, a day's rows in key order; SQLite clusters rows on it.
          .addPrimaryKeyConstraint('usage_costs_key_1d_pk', ['org_id', 'bucket_start', 'api_key_id', 'project_id']);
        if (dialect === 'sqlite') t = t.modifyEnd(sql`without rowid`);
        await t.execute();
        await sql`
          insert into usage_costs_key_1d (org_id, bucket_start, api_key_id, project_id, num_model_requests, cost_nanousd)
          select org_id, bucket_start, api_key_id, project_id, sum(num_model_requests),
            sum(input_cost_nanousd + cached_cost_nanousd + output_cost_nanousd)
          from usage_rollups_1d
          group by org_id, bucket_start, api_key_id, project_id
          having sum(num_model_requests) > 0 or sum(input_cost_nanousd + cached_cost_nanousd + output_cost_nanousd) <> 0
        `.execute(db);
        // Planner statistics at once: without them PostgreSQL sorted a month of rows on disk instead of reading the key.
        await sql`analyze usage_costs_key_1d`.execute(db);
      },
    },
    '097_usage_service_tier': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('usage_events').addColumn('service_tier', 'text').execute();
        for (const table of ROLLUPS_097) await addServiceTierToRollup(db, dialect, table);
      },
    },
    '098_usage_costs_odd_ids': {
      async up(db: Kysely<unknown>) {
        if (dialect !== 'postgres') return;
        await sql`
          create index usage_costs_key_1d_odd_ids on usage_costs_key_1d (org_id, bucket_start)
          where api_key_id !~ '^[A-Za-z0-9_-]+$' or project_id !~ '^[A-Za-z0-9_-]+$'
        `.execute(db);
      },
    },
  };
}
