import type { ExpressionBuilder } from 'kysely';
import type { KeyLimits } from '../core/key-limits.js';
import type { ApiKeysTable, DB } from '../storage/schema.js';
import type { Executor } from './context.js';
import type { AdminApiKeyObject, AdminKeyOwner, OwnerObject, ProjectApiKeyObject } from '../contract/api-keys.js';

export type { AdminApiKeyObject, AdminKeyOwner, OwnerObject, ProjectApiKeyObject } from '../contract/api-keys.js';

// Renders key rows as the API objects of OpenAI's Admin API (plus Tollgate's fields). Never includes a secret.

type KeyRow = Omit<ApiKeysTable, 'seq'> & { seq?: number };
/** A key row with whether its owner has access to its project (SQLite answers 0/1, PostgreSQL true/false). */
type ProjectKeyRow = KeyRow & { owner_access: unknown };

/**
 * Whether a project key's owner has effective access to the key's project: a service account of the project that
 * is not deleted; a user not removed from the organization who is an organization owner or a member of the project.
 */
export function ownerHasProjectAccess(eb: ExpressionBuilder<DB, 'api_keys'>) {
  return eb.or([
    eb('api_keys.owner_type', 'is', null),
    eb.and([
      eb('api_keys.owner_type', '=', 'service_account'),
      eb.exists(
        eb
          .selectFrom('service_accounts as s')
          .select('s.id')
          .whereRef('s.id', '=', 'api_keys.owner_id')
          .whereRef('s.project_id', '=', 'api_keys.project_id')
          .where('s.deleted_at', 'is', null),
      ),
    ]),
    eb.and([
      eb('api_keys.owner_type', '=', 'user'),
      eb.exists(
        eb
          .selectFrom('users as u')
          .select('u.id')
          .whereRef('u.id', '=', 'api_keys.owner_id')
          .where('u.deleted_at', 'is', null)
          .where((inner) =>
            inner.or([
              inner('u.role', '=', 'owner'),
              inner.exists(
                inner
                  .selectFrom('project_members as m')
                  .select('m.user_id')
                  .whereRef('m.user_id', '=', 'u.id')
                  .whereRef('m.project_id', '=', 'api_keys.project_id'),
              ),
            ]),
          ),
      ),
    ]),
  ]);
}

/** The displayed status: expiry is computed, not stored. */
export function displayStatus(row: Pick<KeyRow, 'status' | 'expires_at'>, now: number): ProjectApiKeyObject['status'] {
  if (row.status !== 'active') return row.status;
  return row.expires_at !== null && now >= row.expires_at ? 'expired' : 'active';
}

/** Where a key's owner is in loadOwners' map: a user owns keys in several projects, with a role in each. */
function ownerKey(row: Pick<KeyRow, 'project_id' | 'owner_id'>): string {
  return `${row.project_id ?? ''}\u0000${row.owner_id ?? ''}`;
}

/**
 * Loads the owners of a batch of project keys in three queries. A user is shown as the key's project sees them
 * (OpenAI's ProjectApiKeyOwnerUser.role: "The user's project role"), as GET …/projects/{id}/users/{id} shows them:
 * their membership's role and added_at; an organization owner who is no member, `owner` (they manage every project,
 * core/roles.ts effectiveProjectRole), added when they joined; anyone else (taken out of the project, or removed from
 * the organization), `none`. It showed the organization role and the organization's added_at instead.
 */
export async function loadOwners(db: Executor, rows: KeyRow[]): Promise<Map<string, OwnerObject>> {
  const userRows = rows.filter((r) => r.owner_type === 'user' && r.owner_id);
  const svcIds = rows.filter((r) => r.owner_type === 'service_account' && r.owner_id).map((r) => r.owner_id as string);
  const out = new Map<string, OwnerObject>();
  if (userRows.length) {
    const userIds = [...new Set(userRows.map((r) => r.owner_id as string))];
    const projectIds = [...new Set(userRows.map((r) => r.project_id).filter((p): p is string => p !== null))];
    const users = new Map((await db.selectFrom('users').selectAll().where('id', 'in', userIds).execute()).map((u) => [u.id, u]));
    const memberships = projectIds.length
      ? await db
          .selectFrom('project_members')
          .select(['project_id', 'user_id', 'role', 'added_at'])
          .where('user_id', 'in', userIds)
          .where('project_id', 'in', projectIds)
          .execute()
      : [];
    const memberOf = new Map(memberships.map((m) => [ownerKey({ project_id: m.project_id, owner_id: m.user_id }), m]));
    for (const r of userRows) {
      const u = users.get(r.owner_id as string);
      if (!u) continue;
      const m = memberOf.get(ownerKey(r));
      const role = m?.role ?? (u.deleted_at === null && u.role === 'owner' ? 'owner' : 'none');
      out.set(ownerKey(r), {
        type: 'user',
        user: {
          object: 'organization.project.user',
          id: u.id,
          name: u.name,
          email: u.email,
          role,
          created_at: u.created_at,
          added_at: m?.added_at ?? u.created_at,
        },
      });
    }
  }
  if (svcIds.length) {
    const svcs = await db.selectFrom('service_accounts').selectAll().where('id', 'in', [...new Set(svcIds)]).execute();
    for (const s of svcs) {
      out.set(ownerKey({ project_id: s.project_id, owner_id: s.id }), {
        type: 'service_account',
        service_account: {
          object: 'organization.project.service_account',
          id: s.id,
          name: s.name,
          role: s.role,
          created_at: s.created_at,
        },
      });
    }
  }
  return out;
}

/** A project key row as its API object. */
export function toProjectKeyObject(row: ProjectKeyRow, owners: Map<string, OwnerObject>, now: number): ProjectApiKeyObject {
  return {
    object: 'organization.project.api_key',
    id: row.id,
    name: row.name,
    redacted_value: row.redacted_value,
    created_at: row.created_at,
    last_used_at: row.last_used_at,
    expires_at: row.expires_at,
    status: displayStatus(row, now),
    project_id: row.project_id,
    owner_project_access: row.owner_access === true || Number(row.owner_access) === 1 ? 'active' : 'inactive',
    permissions: JSON.parse(row.permissions),
    allowed_models: row.allowed_models ? JSON.parse(row.allowed_models) : null,
    allowed_ips: row.allowed_ips ? JSON.parse(row.allowed_ips) : null,
    owner: row.owner_id ? (owners.get(ownerKey(row)) ?? null) : null,
    created_by: { type: row.created_by_type, id: row.created_by_id },
    revoked_at: row.revoked_at,
    rotated_at: row.rotated_at,
    exposed_at: row.exposed_at,
    exposed_url: row.exposed_url,
    ...limitsOf(row.limits),
  };
}

/** The organization, as the owner of admin keys that no user owns. */
export interface OrgRef {
  id: string;
  name: string;
  created_at: number;
}

function limitsOf(json: string | null): Pick<ProjectApiKeyObject, 'rate_limits' | 'spend_limit' | 'request_quota'> {
  const l: KeyLimits = json ? JSON.parse(json) : {};
  return { rate_limits: l.rate_limits ?? null, spend_limit: l.spend_limit ?? null, request_quota: l.request_quota ?? null };
}

/** The users who own a batch of admin keys, by id: an admin key's owner is shown with their organization role. */
export async function loadAdminKeyOwners(db: Executor, rows: KeyRow[]): Promise<Map<string, AdminKeyOwner>> {
  const ids = [...new Set(rows.filter((r) => r.owner_type === 'user' && r.owner_id).map((r) => r.owner_id as string))];
  if (!ids.length) return new Map();
  const users = await db.selectFrom('users').select(['id', 'name', 'email', 'created_at', 'role']).where('id', 'in', ids).execute();
  return new Map(users.map((u) => [u.id, { type: 'user', object: 'organization.user', id: u.id, name: u.name, email: u.email, created_at: u.created_at, role: u.role }]));
}

/** An admin key row as its API object; `org` owns the keys no user owns. */
export function toAdminKeyObject(row: KeyRow, owners: Map<string, AdminKeyOwner>, now: number, org: OrgRef): AdminApiKeyObject {
  const user = row.owner_id ? owners.get(row.owner_id) : undefined;
  return {
    object: 'organization.admin_api_key',
    id: row.id,
    name: row.name,
    redacted_value: row.redacted_value,
    created_at: row.created_at,
    last_used_at: row.last_used_at,
    expires_at: row.expires_at,
    status: displayStatus(row, now),
    allowed_ips: row.allowed_ips ? JSON.parse(row.allowed_ips) : null,
    owner: user ?? { type: 'organization', object: 'organization', id: org.id, name: org.name, created_at: org.created_at, role: 'owner' },
    created_by: { type: row.created_by_type, id: row.created_by_id },
    revoked_at: row.revoked_at,
  };
}
