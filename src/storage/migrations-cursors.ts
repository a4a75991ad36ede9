import type { Kysely, Migration } from 'kysely';
import { type Dialect, notNull } from './migrations.js';

/**
 * 100: where a removed item of a list stood, so that a list cursor naming it goes on from there (an SDK that lists and
 * deletes asks for the page after the item it just deleted). Lists whose rows are deleted outright keep a marker per
 * removed item: `list` names the list ('spend_alerts', 'project_members', 'rate_limits'), `scope_id` the one it was in
 * (a project's or the organization's id), `item_id` the id it was listed under; `seq` is its place in a list ordered by
 * sequence, `sort_key` in one ordered by name (a rate limit's model). Frozen history: nothing here is imported from
 * runtime code.
 */
export function cursorMigrations(_dialect: Dialect): Record<string, Migration> {
  return {
    '100_list_removals': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('list_removals')
          .addColumn('list', 'text', notNull)
          .addColumn('scope_id', 'text', notNull)
          .addColumn('item_id', 'text', notNull)
          .addColumn('seq', 'bigint', notNull)
          .addColumn('sort_key', 'text', notNull)
          .addColumn('removed_at', 'bigint', notNull)
          .addPrimaryKeyConstraint('list_removals_pk', ['list', 'scope_id', 'item_id'])
          .execute();
      },
    },
  };
}
