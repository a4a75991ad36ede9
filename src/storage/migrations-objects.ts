import type { Kysely, Migration } from 'kysely';

// Frozen history: this file imports nothing from runtime code; what it needs is written out here.

type Dialect = 'sqlite' | 'postgres';

/** Upstream objects and the project that owns each (names 050_…–059_…). */
export function objectMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '070_upstream_objects': {
      async up(db: Kysely<unknown>) {
        // One row per object id the upstream returned to a project (or an operator assigned): the id is unique
        // across the upstream account, so it alone is the key. `seq` orders the admin listing.
        await db.schema
          .createTable('upstream_objects')
          .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
            dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn('object_id', 'text', (c) => c.notNull().unique())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('project_id', 'text', (c) => c.notNull())
          .addColumn('api_key_id', 'text')
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint')
          .addColumn('recorded_at', 'bigint', (c) => c.notNull())
          .addColumn('deleted_at', 'bigint')
          .execute();
        // Filtered lists ask whether a project owns further objects of a type beyond a creation time.
        await db.schema.createIndex('upstream_objects_project').on('upstream_objects').columns(['project_id', 'type', 'created_at']).execute();
      },
    },
    // 107: the provider credential (its stable id: a variable's name, a runtime credential's id) whose account holds the
    // object, recorded as its answer is adopted, so that every later request naming it goes to that account. Null for
    // objects recorded before, assigned by an operator, or made through a provider with no key: not pinned.
    '107_upstream_objects_credential': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('upstream_objects').addColumn('credential', 'text').execute();
      },
    },
  };
}
