// A project as the admin API answers it (services/projects.ts builds it).

/** OpenAI's PublicProjectResidency values. */
export const RESIDENCIES = [
  'GLOBAL',
  'US_STORAGE_PROCESSING',
  'EU_STORAGE_PROCESSING',
  'JP_STORAGE',
  'KR_STORAGE',
  'CA_STORAGE',
  'SG_STORAGE',
  'IN_STORAGE',
  'AU_STORAGE',
  'GB_STORAGE',
  'AE_STORAGE',
  'AE_STORAGE_PROCESSING',
] as const;
export type Residency = (typeof RESIDENCIES)[number];

export interface ProjectObject {
  id: string;
  object: 'organization.project';
  name: string;
  created_at: number;
  archived_at: number | null;
  status: 'active' | 'archived';
  allowed_ips: string[] | null;
  external_key_id: string | null;
  /** Omitted when none was given: OpenAI's schema has no null for it. */
  residency?: Residency;
  /** The older, free-form region OpenAI's SDKs still send (`geography`), when one was given. */
  geography?: string;
}
