import type { Kysely, Migration } from 'kysely';
import { type Dialect, notNull, withSeq } from './migrations.js';

/** Dashboard accounts: sessions, invitations (names 020_…–029_…). */
export function sessionMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '020_dashboard_sessions': {
      async up(db: Kysely<unknown>) {
        // The primary key is the SHA-256 of the cookie's token: a leaked table does not sign anyone in.
        await db.schema
          .createTable('sessions')
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', notNull)
          .addColumn('created_at', 'bigint', notNull)
          .addColumn('last_seen_at', 'bigint', notNull)
          .addColumn('expires_at', 'bigint', notNull)
          .addColumn('ip', 'text')
          .addColumn('user_agent', 'text')
          .execute();
        await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
      },
    },
    '021_dashboard_invites': {
      async up(db: Kysely<unknown>) {
        await withSeq(db.schema.createTable('invites'), dialect)
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('org_id', 'text', notNull)
          .addColumn('email', 'text', notNull)
          .addColumn('role', 'text', notNull)
          .addColumn('projects', 'text', notNull)
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('invited_by_type', 'text', notNull)
          .addColumn('invited_by_id', 'text')
          .addColumn('invited_at', 'bigint', notNull)
          .addColumn('expires_at', 'bigint', notNull)
          .addColumn('accepted_at', 'bigint')
          .addColumn('deleted_at', 'bigint')
          .execute();
        await db.schema.createIndex('invites_email').on('invites').column('email').execute();
      },
    },
  };
}
