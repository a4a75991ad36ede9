import { type Kysely, type Migration, sql } from 'kysely';
import { type Dialect, notNull, withSeq } from './migrations.js';

// Issue 20 §3: providers and their credentials managed at run time (the admin API and the dashboard), beside the
// config file's. A credential's secret is stored only as AES-256-GCM ciphertext (infra/aes-gcm-cipher.ts) with a
// redacted form for display. Frozen history: nothing here is imported from runtime code.

/** Names 096_…. */
export function providerMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '096_runtime_providers': {
      async up(db: Kysely<unknown>) {
        // models, model_prefixes and deployments are JSON text.
        await withSeq(db.schema.createTable('runtime_providers'), dialect)
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('org_id', 'text', notNull)
          .addColumn('name', 'text', notNull)
          .addColumn('kind', 'text', notNull)
          .addColumn('base_url', 'text', notNull)
          .addColumn('models', 'text', notNull)
          .addColumn('model_prefixes', 'text', notNull)
          .addColumn('api_version', 'text')
          .addColumn('deployments', 'text')
          .addColumn('created_at', 'bigint', notNull)
          .addColumn('updated_at', 'bigint', notNull)
          .execute();
        // Names are unique in an organization whatever their case (the service's check, kept under concurrent writes).
        await sql`CREATE UNIQUE INDEX runtime_providers_name ON runtime_providers (org_id, lower(name))`.execute(db);

        // status: active | disabled; disabled_reason: manual | upstream_refused (the gateway saw a 401/403).
        await withSeq(db.schema.createTable('provider_credentials'), dialect)
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('org_id', 'text', notNull)
          .addColumn('provider_id', 'text', notNull)
          .addColumn('secret_ciphertext', 'text', notNull)
          .addColumn('redacted_value', 'text', notNull)
          .addColumn('weight', 'double precision', notNull)
          .addColumn('status', 'text', notNull)
          .addColumn('disabled_reason', 'text')
          .addColumn('created_at', 'bigint', notNull)
          .addColumn('updated_at', 'bigint', notNull)
          .addColumn('rotated_at', 'bigint')
          .execute();
        await db.schema.createIndex('provider_credentials_provider').on('provider_credentials').columns(['provider_id', 'seq']).execute();
      },
    },
  };
}
