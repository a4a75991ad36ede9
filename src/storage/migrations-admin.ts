import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from './migrations.js';

/**
 * Fields of OpenAI's Admin API that Tollgate stores as given (names 091_admin_people_…): a project's `external_key_id`,
 * `residency` (ProjectCreateRequest) and `geography` (its older name in OpenAI's SDKs, a free string), a user's `technical_level` and `developer_persona` (UserRoleUpdateRequest).
 *
 * 102: an address is unique among the organization's users still in it, not among every user it ever had. A user
 * removed from the organization keeps their row (audit entries, usage and keys name its id), and `users.email` was
 * unique over all rows, so a removed person could never be added, invited or sign up again (409s), where OpenAI lets
 * them back. Someone added again is a new user (a new id): nothing the removed row held (sessions, password, keys,
 * memberships) belongs to it. The column's UNIQUE becomes a unique index of the live rows (SQLite cannot drop a
 * column constraint: the table is copied, as 097 does). The invitations still pending to a removed address were sent
 * before the removal (inviting a removed address was refused) and could never be used; they are withdrawn as of the
 * removal, so that they do not start working now.
 */
export function adminPeopleMigrations(dialect: Dialect): Record<string, Migration> {
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
    '102_users_email_unique_while_live': {
      async up(db: Kysely<unknown>) {
        await sql`
          update invites set deleted_at = (select max(u.deleted_at) from users u where u.email = invites.email)
          where accepted_at is null and deleted_at is null
            and exists (select 1 from users u where u.email = invites.email and u.deleted_at is not null)`.execute(db);
        if (dialect === 'postgres') {
          await sql`alter table users drop constraint users_email_key`.execute(db);
        } else {
          // The table as 001 and 091 left it, without the address's UNIQUE; every row, seq included, copied as it is.
          await sql`
            create table users_102 (
              seq integer primary key autoincrement, id text not null unique, org_id text not null, email text not null,
              name text not null, role text not null, password_hash text, created_at bigint not null, deleted_at bigint,
              technical_level text, developer_persona text)`.execute(db);
          const columns = sql.raw(
            'seq, id, org_id, email, name, role, password_hash, created_at, deleted_at, technical_level, developer_persona',
          );
          await sql`insert into users_102 (${columns}) select ${columns} from users order by seq`.execute(db);
          await sql`drop table users`.execute(db);
          await sql`alter table users_102 rename to users`.execute(db);
        }
        await sql`create unique index users_email_live on users (email) where deleted_at is null`.execute(db);
      },
    },
  };
}
