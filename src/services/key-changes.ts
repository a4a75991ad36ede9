import type { KeyLimits } from '../core/key-limits.js';
import type { PermissionsSpec } from '../core/permissions.js';
import { changedMembers } from './changed-members.js';
import type { Executor, ServiceDeps } from './context.js';

// What an update of a project key changes, for its audit entry: a field sent with the value the key already has
// (the dashboard's edit sent every field of its form) is no change, and naming it made the entry say so.

/** A key's settings as the API shows and updates them. */
export interface KeySettings extends Required<KeyLimits> {
  name: string;
  permissions: PermissionsSpec;
  expires_at: number | null;
  allowed_ips: string[] | null;
  allowed_models: string[] | null;
}

/** The fields of an update body whose values differ from the key's settings before it. */
export function changedSettings(body: Partial<KeySettings>, before: KeySettings): Partial<KeySettings> {
  return changedMembers(body, before);
}

/**
 * A key's settings read in the updating transaction, its row locked on PostgreSQL until it commits: an update merges its
 * limits with these and compares with them, so a change committed meanwhile is neither overwritten nor misreported.
 */
export async function lockedKeySettings(trx: Executor, deps: ServiceDeps, keyId: string): Promise<KeySettings> {
  const q = trx
    .selectFrom('api_keys')
    .select(['name', 'permissions', 'expires_at', 'allowed_ips', 'allowed_models', 'limits'])
    .where('id', '=', keyId);
  const row = await (deps.database.dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirstOrThrow();
  const limits: KeyLimits = row.limits ? JSON.parse(row.limits) : {};
  return {
    name: row.name,
    permissions: JSON.parse(row.permissions),
    expires_at: row.expires_at,
    allowed_ips: row.allowed_ips ? JSON.parse(row.allowed_ips) : null,
    allowed_models: row.allowed_models ? JSON.parse(row.allowed_models) : null,
    rate_limits: limits.rate_limits ?? null,
    spend_limit: limits.spend_limit ?? null,
    request_quota: limits.request_quota ?? null,
  };
}
