// Service accounts as the admin API answers them (services/service-accounts.ts builds them).

/**
 * A service account's project role, OpenAI's words: `none` is an account made with `create_service_account_only`
 * ("without default roles"), until an update gives it one.
 */
export type ServiceAccountRole = 'owner' | 'member' | 'none';

export interface ServiceAccountObject {
  object: 'organization.project.service_account';
  id: string;
  name: string;
  role: ServiceAccountRole;
  created_at: number;
  is_default: boolean;
}

/** OpenAI's ServiceAccountApiKeyBody: a service account's key, with its secret (shown this once). */
export interface ServiceAccountApiKey {
  object: 'organization.project.service_account.api_key';
  value: string;
  name: string;
  created_at: number;
  id: string;
}

/** A service account as created: with its first key (null when `create_service_account_only` asked for none). */
export interface CreatedServiceAccount extends Omit<ServiceAccountObject, 'is_default' | 'role'> {
  role: 'member' | 'none';
  api_key: ServiceAccountApiKey | null;
}
