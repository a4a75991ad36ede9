// The API objects the dashboard reads, in OpenAI's Admin API shapes (see src/services/*.ts on the server).

export type OrgRole = 'owner' | 'reader';
export type ProjectRole = 'owner' | 'member' | 'reader';
export type AccessLevel = 'none' | 'read' | 'write';
export type Permissions = 'all' | 'read_only' | { restricted: Record<string, AccessLevel> };

export interface ListPage<T> {
  object: 'list';
  data: T[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export interface Account {
  object: 'dashboard.session';
  user: { id: string; email: string; name: string; role: OrgRole };
  organization: { id: string; name: string };
  role: OrgRole;
  projects: Array<{ id: string; name: string; role: ProjectRole }>;
  csrf_token: string;
  expires_at: number;
}

export interface Project {
  id: string;
  object: 'organization.project';
  name: string;
  created_at: number;
  archived_at: number | null;
  status: 'active' | 'archived';
}

export interface ProjectApiKey {
  object: 'organization.project.api_key';
  id: string;
  name: string;
  redacted_value: string;
  created_at: number;
  last_used_at: number | null;
  expires_at: number | null;
  status: 'active' | 'revoked' | 'expired' | 'exposed' | 'suspended';
  exposed_url?: string | null;
  project_id: string | null;
  permissions: Permissions;
  allowed_ips: string[] | null;
  allowed_models: string[] | null;
  owner: { type: 'user' | 'service_account'; user?: { id: string; name: string; email: string }; service_account?: { id: string; name: string } } | null;
  created_by: { type: string; id: string | null };
  revoked_at?: number | null;
  rotated_at?: number | null;
  rate_limits: KeyRateLimits | null;
  spend_limit: { threshold_amount: number; interval?: string } | null;
  request_quota: { max_requests: number; interval?: 'day' | 'month' | 'total' } | null;
  /** The dashboard's list and key page: when the secret replaced by the last rotation stops working (null: none in grace). */
  previous_secret_expires_at?: number | null;
}

export interface KeyRateLimits {
  max_requests_per_1_minute?: number | null;
  max_tokens_per_1_minute?: number | null;
  max_requests_per_1_day?: number | null;
}

export type KeyStatus = ProjectApiKey['status'];
export type KeyOrder = 'created_desc' | 'created_asc' | 'last_used' | 'name';

/** GET /auth/dashboard/projects/{id}/api_keys. */
export interface KeySearchPage extends ListPage<ProjectApiKey> {
  total: number;
  status_counts: Record<KeyStatus, number>;
}

/** GET /auth/dashboard/refusals. */
export interface RefusalReport {
  object: 'list';
  data: Array<{ error_code: string | null; reason: string; count: number; last_at: number }>;
  total: number;
}

/** GET /auth/dashboard/budgets: where a spend limit or request quota stands in its period. */
export interface Standing {
  kind: 'spend' | 'quota';
  scope: 'api_key' | 'project' | 'organization';
  id: string;
  project_id: string | null;
  interval: string;
  period_start: number;
  resets_at: number | null;
  limit: number;
  used: number;
  enforced: boolean;
  blocked: boolean;
  refused: number;
  last_refused_at: number | null;
}

/** GET /auth/dashboard/names. */
export interface NamedObject {
  id: string;
  object: 'api_key' | 'admin_api_key' | 'user' | 'service_account' | 'project';
  name: string;
  detail: string | null;
  project_id: string | null;
}

/** A create or rotate answer: the only time the full secret is sent. */
export interface CreatedKey extends ProjectApiKey {
  value: string;
}

export interface AdminApiKey {
  object: 'organization.admin_api_key';
  id: string;
  name: string;
  redacted_value: string;
  created_at: number;
  last_used_at: number | null;
  status: 'active' | 'revoked' | 'expired' | 'exposed';
  value?: string;
}

export interface ServiceAccount {
  object: 'organization.project.service_account';
  id: string;
  name: string;
  role: string;
  created_at: number;
  is_default?: boolean;
}

/** A service account as created: with its first key's secret, shown once. */
export interface CreatedServiceAccount extends ServiceAccount {
  api_key: { id: string; name: string; value: string; created_at: number };
}

export interface OrgUser {
  object: 'organization.user';
  id: string;
  name: string;
  email: string;
  role: OrgRole;
  added_at: number;
}

export interface ProjectUser {
  object: 'organization.project.user';
  id: string;
  name: string;
  email: string;
  role: ProjectRole;
  added_at: number;
}

export interface Invite {
  object: 'organization.invite';
  id: string;
  email: string;
  role: OrgRole;
  status: 'pending' | 'accepted' | 'expired';
  created_at: number;
  expires_at: number;
  accept_url?: string;
}

export interface AuditLog {
  id: string;
  type: string;
  effective_at: number;
  /** Absent when the entry is not about a project. */
  project?: { id: string; name?: string };
  /** OpenAI's actor: a session or an API key (its `type` is its owner's; `object` says admin or project key). */
  actor: {
    type: string;
    session?: { user: { id?: string; email?: string }; ip_address?: string };
    api_key?: { id: string; type?: string; object?: string; user?: { id: string; email?: string }; service_account?: { id: string } };
    ip_address?: string;
  } | null;
  /** Who acted when no person or key did (actor null): the CLI on the server, Tollgate itself, a leak reporter. */
  tollgate_actor?: { type: string; id?: string; ip_address?: string };
  ip_address: string | null;
  [details: string]: unknown;
}
