import type { Kysely, Migration } from 'kysely';
import type { Dialect } from './migrations.js';

/**
 * Fields of OpenAI's Admin API that Tollgate stores as given (names 091_admin_people_…): a project's `external_key_id`,
 * `residency` (ProjectCreateRequest) and `geography` (its older name in OpenAI's SDKs, a free string), a user's `technical_level` and `developer_persona` (UserRoleUpdateRequest).
 */
export function adminPeopleMigrations(_dialect: Dialect): Record<string, Migration> {
  return {
    '091_admin_people_fields': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('projects').addColumn('external_key_id', 'text').execute();
        await db.schema.alterTable('projects').addColumn('residency', 'text').execute();
        await db.schema.alterTable('projects').addColumn('geography', 'text').execute();
        await db.schema.alterTable('users').addColumn('technical_level', 'text').execute();
        await db.schema.alterTable('users').addColumn('developer_persona', 'text').execute();
      },
    },
  };
}
