import type { ColumnDefinitionBuilder, CreateTableBuilder, Kysely, Migration } from 'kysely';
import { adminPeopleMigrations } from './migrations-admin.js';
import { auditMigrations } from './migrations-audit.js';
import { billedKindMigrations } from './migrations-billed.js';
import { cursorMigrations } from './migrations-cursors.js';
import { dashboardMigrations } from './migrations-dashboard.js';
import { fidelityMigrations } from './migrations-fidelity.js';
import { kindMigrations } from './migrations-kinds.js';
import { limitMigrations } from './migrations-limits.js';
import { meteringMigrations } from './migrations-metering.js';
import { objectMigrations } from './migrations-objects.js';
import { providerMigrations } from './migrations-providers.js';
import { rollupMigrations } from './migrations-rollups.js';
import { sessionMigrations } from './migrations-sessions.js';
import { spendMigrations } from './migrations-spend.js';
import { tokenMigrations } from './migrations-tokens.js';
import { toolMigrations } from './migrations-tools.js';
import { usageMigrations } from './migrations-usage.js';
import { webhookMigrations } from './migrations-webhooks.js';

export type Dialect = 'sqlite' | 'postgres';

// Versioned migrations, in code so the build ships them. Never edit a released one: add the next.

export function withSeq<T extends string>(t: CreateTableBuilder<T, never>, dialect: Dialect): CreateTableBuilder<T, 'seq'> {
  return dialect === 'postgres'
    ? t.addColumn('seq', 'bigserial', (c) => c.primaryKey())
    : t.addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement());
}

export const notNull = (c: ColumnDefinitionBuilder) => c.notNull();

/** The ordered migrations for a dialect (sorted by name by Kysely; each module owns its prefix). */
export function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    ...controlPlaneMigrations(dialect),
    ...usageMigrations(dialect),
    ...sessionMigrations(dialect),
    ...rollupMigrations(dialect),
    ...limitMigrations(dialect),
    ...objectMigrations(dialect),
    ...meteringMigrations(dialect),
    ...adminPeopleMigrations(dialect),
    ...dashboardMigrations(dialect),
    ...spendMigrations(dialect),
    ...fidelityMigrations(dialect),
    ...providerMigrations(dialect),
    ...kindMigrations(dialect),
    ...cursorMigrations(dialect),
    ...webhookMigrations(dialect),
    ...billedKindMigrations(dialect),
    ...tokenMigrations(dialect),
    ...auditMigrations(dialect),
    ...toolMigrations(dialect),
  };
}

function controlPlaneMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '001_control_plane': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('organizations')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', notNull)
          .addColumn('created_at', 'bigint', notNull)
          .execute();

        await withSeq(db.schema.createTable('projects'), dialect)
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('org_id', 'text', notNull)
          .addColumn('name', 'text', notNull)
          .addColumn('status', 'text', notNull)
          .addColumn('allowed_ips', 'text')
          .addColumn('created_at', 'bigint', notNull)
          .addColumn('archived_at', 'bigint')
          .execute();

        await withSeq(db.schema.createTable('users'), dialect)
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('org_id', 'text', notNull)
          .addColumn('email', 'text', (c) => c.notNull().unique())
          .addColumn('name', 'text', notNull)
          .addColumn('role', 'text', notNull)
          .addColumn('password_hash', 'text')
          .addColumn('created_at', 'bigint', notNull)
          .addColumn('deleted_at', 'bigint')
          .execute();

        await withSeq(db.schema.createTable('project_members'), dialect)
          .addColumn('project_id', 'text', notNull)
          .addColumn('user_id', 'text', notNull)
          .addColumn('role', 'text', notNull)
          .addColumn('added_at', 'bigint', notNull)
          .addUniqueConstraint('project_members_project_user', ['project_id', 'user_id'])
          .execute();

        await withSeq(db.schema.createTable('service_accounts'), dialect)
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('project_id', 'text', notNull)
          .addColumn('name', 'text', notNull)
          .addColumn('role', 'text', notNull)
          .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'bigint', notNull)
          .addColumn('deleted_at', 'bigint')
          .execute();
        await db.schema.createIndex('service_accounts_project').on('service_accounts').column('project_id').execute();

        await withSeq(db.schema.createTable('api_keys'), dialect)
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('kind', 'text', notNull)
          .addColumn('org_id', 'text', notNull)
          .addColumn('project_id', 'text')
          .addColumn('name', 'text', notNull)
          .addColumn('redacted_value', 'text', notNull)
          .addColumn('owner_type', 'text')
          .addColumn('owner_id', 'text')
          .addColumn('created_by_type', 'text', notNull)
          .addColumn('created_by_id', 'text')
          .addColumn('created_at', 'bigint', notNull)
          .addColumn('last_used_at', 'bigint')
          .addColumn('expires_at', 'bigint')
          .addColumn('status', 'text', notNull)
          .addColumn('revoked_at', 'bigint')
          .addColumn('permissions', 'text', notNull)
          .addColumn('allowed_models', 'text')
          .addColumn('allowed_ips', 'text')
          .addColumn('exposed_at', 'bigint')
          .addColumn('exposed_url', 'text')
          .addColumn('rotated_at', 'bigint')
          .execute();
        await db.schema.createIndex('api_keys_project').on('api_keys').columns(['project_id', 'seq']).execute();

        // O(1) lookup by digest: the primary key is the SHA-256 of the secret.
        await db.schema
          .createTable('api_key_secrets')
          .addColumn('secret_hash', 'text', (c) => c.primaryKey())
          .addColumn('key_id', 'text', notNull)
          .addColumn('redacted_value', 'text', notNull)
          .addColumn('created_at', 'bigint', notNull)
          .addColumn('expires_at', 'bigint')
          .execute();
        await db.schema.createIndex('api_key_secrets_key').on('api_key_secrets').column('key_id').execute();

        await withSeq(db.schema.createTable('audit_logs'), dialect)
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('org_id', 'text', notNull)
          .addColumn('type', 'text', notNull)
          .addColumn('effective_at', 'bigint', notNull)
          .addColumn('actor_type', 'text', notNull)
          .addColumn('actor_id', 'text')
          .addColumn('actor', 'text', notNull)
          .addColumn('project_id', 'text')
          .addColumn('object_id', 'text')
          .addColumn('ip', 'text')
          .addColumn('user_agent', 'text')
          .addColumn('details', 'text', notNull)
          .execute();
        await db.schema.createIndex('audit_logs_time').on('audit_logs').columns(['org_id', 'effective_at']).execute();

        // Change feed: every instance polls it to invalidate its key cache (also catches CLI changes).
        await withSeq(db.schema.createTable('key_changes'), dialect)
          .addColumn('key_id', 'text', notNull)
          .addColumn('changed_at', 'bigint', notNull)
          .execute();

        await db.schema
          .createTable('settings')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', notNull)
          .execute();
      },
    },
  };
}
