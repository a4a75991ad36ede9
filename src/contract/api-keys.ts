import type { KeyLimits } from '../core/key-limits.js';
import type { PermissionsSpec } from '../core/permissions.js';
import type { ProjectRole } from '../core/roles.js';
import type { ListPage } from './lists.js';

// Keys as the admin API and the dashboard's key search answer them (services/key-objects.ts, services/api-keys.ts
// and services/dashboard-keys.ts build them). Never a secret, but in a create or rotate answer's `value`.

export type KeyStatus = 'active' | 'revoked' | 'expired' | 'exposed' | 'suspended';

/** The owner of a project key: a person of the organization, or a service account of the project. */
export interface OwnerObject {
  type: 'user' | 'service_account';
  user?: {
    object: 'organization.project.user';
    id: string;
    name: string;
    email: string;
    /** Their role in the key's project (OpenAI's ProjectApiKeyOwnerUser.role); `none` once they have no access to it. */
    role: ProjectRole | 'none';
    created_at: number;
    /** When they joined the project (an organization owner who is no member: when they joined the organization). */
    added_at: number;
  };
  service_account?: {
    object: 'organization.project.service_account';
    id: string;
    name: string;
    role: string;
    created_at: number;
  };
}

/** What every secret key answer carries, project and admin keys alike. */
interface SecretKeyFields {
  id: string;
  name: string;
  redacted_value: string;
  created_at: number;
  last_used_at: number | null;
  expires_at: number | null;
  status: KeyStatus;
}

export interface ProjectApiKeyObject extends SecretKeyFields {
  object: 'organization.project.api_key';
  project_id: string | null;
  /** OpenAI's: whether the key's owner currently has access to the project (ownerHasProjectAccess). */
  owner_project_access: 'active' | 'inactive';
  permissions: PermissionsSpec;
  allowed_models: string[] | null;
  allowed_ips: string[] | null;
  owner: OwnerObject | null;
  created_by: { type: string; id: string | null };
  revoked_at: number | null;
  rotated_at: number | null;
  exposed_at: number | null;
  exposed_url: string | null;
  rate_limits: KeyLimits['rate_limits'] | null;
  spend_limit: KeyLimits['spend_limit'] | null;
  request_quota: KeyLimits['request_quota'] | null;
}

/** A create answer: the only time the full secret is sent. */
export type CreatedProjectKey = ProjectApiKeyObject & { value: string };

/** A rotate answer: the new secret, and when the one it replaces stops working. */
export type RotatedProjectKey = CreatedProjectKey & { previous_secret_expires_at: number };

/** An end-of-grace answer: the previous secrets stopped working now. */
export type GraceEndedKey = ProjectApiKeyObject & { previous_secret_expires_at: null };

export const KEY_STATUSES = ['active', 'expired', 'revoked', 'exposed', 'suspended'] as const satisfies readonly KeyStatus[];
export const KEY_ORDERS = ['created_desc', 'created_asc', 'last_used', 'name'] as const;
export type KeyOrder = (typeof KEY_ORDERS)[number];

/** A key as the dashboard lists it: the API object, and when its previous secret stops working (a rotation's grace). */
export type DashboardKey = ProjectApiKeyObject & { previous_secret_expires_at: number | null };

/** GET /auth/dashboard/projects/{id}/api_keys. */
export interface KeySearchPage extends ListPage<DashboardKey> {
  /** Keys matching the search and status filter, on every page. */
  total: number;
  /** Keys matching the search, by status (whatever the status filter), for the filter's counts. */
  status_counts: Record<KeyStatus, number>;
}

/** OpenAI's AdminApiKey.owner: the user who owns the key, or (Tollgate) the organization for keys made without one. */
export interface AdminKeyOwner {
  type: 'user' | 'organization';
  object: 'organization.user' | 'organization';
  id: string;
  name: string;
  created_at: number;
  role: string;
  email?: string;
}

export interface AdminApiKeyObject extends SecretKeyFields {
  object: 'organization.admin_api_key';
  allowed_ips: string[] | null;
  owner: AdminKeyOwner;
  created_by: { type: string; id: string | null };
  revoked_at: number | null;
}

/** An admin key as created: the only time its secret is sent. */
export type CreatedAdminKey = AdminApiKeyObject & { value: string };
