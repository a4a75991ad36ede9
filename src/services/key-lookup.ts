import { compileAllowlist } from '../core/ip-rules.js';
import type { KeyRecord } from '../core/verify.js';
import type { Database } from '../storage/database.js';

/** Loads the verification record for a secret digest (one indexed join), or null if unknown. */
export async function loadKeyRecord(database: Database, secretHash: string): Promise<KeyRecord | null> {
  const row = await database.db
    .selectFrom('api_key_secrets as s')
    .innerJoin('api_keys as k', 'k.id', 's.key_id')
    .leftJoin('projects as p', 'p.id', 'k.project_id')
    .select([
      'k.id as id',
      'k.kind as kind',
      'k.name as name',
      'k.org_id as org_id',
      'k.project_id as project_id',
      'k.status as status',
      'k.expires_at as expires_at',
      's.expires_at as secret_expires_at',
      'k.permissions as permissions',
      'k.allowed_models as allowed_models',
      'k.allowed_ips as allowed_ips',
      'k.exposed_at as exposed_at',
      'k.exposed_url as exposed_url',
      'k.limits as limits',
      'p.status as project_status',
      'p.allowed_ips as project_allowed_ips',
    ])
    .where('s.secret_hash', '=', secretHash)
    .executeTakeFirst();
  if (!row) return null;
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    orgId: row.org_id,
    projectId: row.project_id,
    status: row.status,
    expiresAt: row.expires_at,
    secretExpiresAt: row.secret_expires_at,
    permissions: JSON.parse(row.permissions),
    allowedModels: row.allowed_models ? JSON.parse(row.allowed_models) : null,
    ipAllow: compileAllowlist(row.allowed_ips ? JSON.parse(row.allowed_ips) : null),
    projectStatus: row.project_status ?? null,
    projectIpAllow: compileAllowlist(row.project_allowed_ips ? JSON.parse(row.project_allowed_ips) : null),
    exposedAt: row.exposed_at,
    exposedUrl: row.exposed_url,
    limits: row.limits ? JSON.parse(row.limits) : null,
  };
}
