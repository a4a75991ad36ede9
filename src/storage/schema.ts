import type { Generated } from 'kysely';
import type { LimitTables } from './schema-limits.js';
import type { MeteringTables } from './schema-metering.js';
import type { ObjectTables } from './schema-objects.js';
import type { RollupTables } from './schema-rollups.js';
import type { SessionTables } from './schema-sessions.js';
import type { UsageTables } from './schema-usage.js';

// Times are unix seconds (as OpenAI's API returns them); JSON columns are text so both databases agree.

export interface OrganizationsTable {
  id: string;
  name: string;
  created_at: number;
}

export interface ProjectsTable {
  seq: Generated<number>;
  id: string;
  org_id: string;
  name: string;
  status: 'active' | 'archived';
  allowed_ips: string | null;
  created_at: number;
  archived_at: number | null;
  external_key_id: string | null;
  residency: string | null;
  geography: string | null;
}

export interface UsersTable {
  seq: Generated<number>;
  id: string;
  org_id: string;
  email: string;
  name: string;
  role: 'owner' | 'reader';
  password_hash: string | null;
  created_at: number;
  deleted_at: number | null;
  technical_level: string | null;
  developer_persona: string | null;
}

export interface ProjectMembersTable {
  seq: Generated<number>;
  project_id: string;
  user_id: string;
  role: 'owner' | 'member' | 'reader';
  added_at: number;
}

export interface ServiceAccountsTable {
  seq: Generated<number>;
  id: string;
  project_id: string;
  name: string;
  /** 'none': made with create_service_account_only (OpenAI's ProjectServiceAccountCreateResponse). */
  role: 'owner' | 'member' | 'none';
  is_default: number;
  created_at: number;
  deleted_at: number | null;
}

export interface ApiKeysTable {
  seq: Generated<number>;
  id: string;
  kind: 'project' | 'admin';
  org_id: string;
  project_id: string | null;
  name: string;
  redacted_value: string;
  owner_type: 'user' | 'service_account' | null;
  owner_id: string | null;
  created_by_type: string;
  created_by_id: string | null;
  created_at: number;
  last_used_at: number | null;
  expires_at: number | null;
  status: 'active' | 'revoked' | 'exposed' | 'suspended';
  revoked_at: number | null;
  permissions: string;
  allowed_models: string | null;
  allowed_ips: string | null;
  exposed_at: number | null;
  exposed_url: string | null;
  rotated_at: number | null;
  /** Key-level rate limits, spend limit and request quota (JSON, see core/key-limits.ts). */
  limits: string | null;
  /**
   * The setting of the key's requests-per-day limit: a token made anew whenever that limit changes (106), so that its
   * bucket is a new one rebuilt from the day's requests; null while the key keeps the limit it was made with.
   */
  rpd_rev: string | null;
  /** The setting of the request quota's interval (106): made anew when it changes or the quota is set again. */
  quota_rev: string | null;
  /** The setting of the spend limit's interval (106), as quota_rev. */
  spend_rev: string | null;
}

export interface ApiKeySecretsTable {
  secret_hash: string;
  key_id: string;
  redacted_value: string;
  created_at: number;
  expires_at: number | null;
}

export interface AuditLogsTable {
  seq: Generated<number>;
  id: string;
  org_id: string;
  type: string;
  effective_at: number;
  actor_type: string;
  actor_id: string | null;
  actor: string;
  project_id: string | null;
  object_id: string | null;
  ip: string | null;
  user_agent: string | null;
  details: string;
}

export interface KeyChangesTable {
  seq: Generated<number>;
  key_id: string;
  changed_at: number;
}

export interface SettingsTable {
  name: string;
  value: string;
}

/** A provider added at run time (migration 096). models, model_prefixes and deployments are JSON text. */
export interface RuntimeProvidersTable {
  seq: Generated<number>;
  id: string;
  org_id: string;
  name: string;
  kind: string;
  base_url: string;
  models: string;
  model_prefixes: string;
  api_version: string | null;
  deployments: string | null;
  created_at: number;
  updated_at: number;
}

/** A runtime provider's credential: its secret as ciphertext only (infra/aes-gcm-cipher.ts). */
export interface ProviderCredentialsTable {
  seq: Generated<number>;
  id: string;
  org_id: string;
  provider_id: string;
  secret_ciphertext: string;
  redacted_value: string;
  weight: number;
  status: string;
  disabled_reason: string | null;
  created_at: number;
  updated_at: number;
  rotated_at: number | null;
}

/** Where a removed item of a list stood (migration 100), for a cursor naming it. */
export interface ListRemovalsTable {
  list: string;
  scope_id: string;
  item_id: string;
  seq: number;
  sort_key: string;
  removed_at: number;
}

export interface DB extends SessionTables, UsageTables, RollupTables, LimitTables, ObjectTables, MeteringTables {
  runtime_providers: RuntimeProvidersTable;
  provider_credentials: ProviderCredentialsTable;
  organizations: OrganizationsTable;
  projects: ProjectsTable;
  users: UsersTable;
  project_members: ProjectMembersTable;
  service_accounts: ServiceAccountsTable;
  api_keys: ApiKeysTable;
  api_key_secrets: ApiKeySecretsTable;
  audit_logs: AuditLogsTable;
  key_changes: KeyChangesTable;
  settings: SettingsTable;
  list_removals: ListRemovalsTable;
}
