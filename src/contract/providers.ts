// Providers added at run time, and their keys, as the admin API answers them (services/runtime-providers.ts builds
// them). Never a key's secret.

/** The upstream kinds (config/gateway-config.ts's PROVIDER_KINDS, which is checked to equal this). */
export type ProviderKindName = 'openai' | 'azure-openai' | 'anthropic';

export interface RuntimeProviderObject {
  object: 'organization.provider';
  id: string;
  name: string;
  kind: ProviderKindName;
  base_url: string;
  models: string[];
  model_prefixes: string[];
  api_version: string | null;
  deployments: Record<string, string> | null;
  created_at: number;
  updated_at: number;
}

export interface ProviderCredentialObject {
  object: 'organization.provider.credential';
  id: string;
  provider_id: string;
  /** The secret's kind and last four characters (`sk-…abcd`): never the secret. */
  redacted_value: string;
  weight: number;
  status: 'active' | 'disabled';
  /**
   * `manual` (disabled through the API), `upstream_refused` (the provider answered 401/403 to it), `undecryptable` (its
   * stored key does not open under this server's secret and binding: sealed under another TOLLGATE_SECRET, or its row
   * or its provider's base URL changed in the database; never used, whatever its stored status: rotate it), or null.
   */
  disabled_reason: 'manual' | 'upstream_refused' | 'undecryptable' | null;
  created_at: number;
  updated_at: number;
  rotated_at: number | null;
}
