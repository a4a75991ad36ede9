import { compileAllowlist } from '../core/ip-rules.js';
import type { KeyRecord } from '../core/verify.js';
import type { Database } from '../storage/database.js';
import { precompiled } from '../storage/precompiled.js';

function keyQuery(database: Database, secretHash: string) {
  return database.db
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
      'k.rpd_rev as rpd_rev',
      'k.quota_rev as quota_rev',
      'k.spend_rev as spend_rev',
      'p.status as project_status',
      'p.allowed_ips as project_allowed_ips',
    ])
    .where('s.secret_hash', '=', secretHash);
}

/** Each database's key lookup, compiled once (it runs on the event loop at every key's first use). */
type KeyRow = Awaited<ReturnType<ReturnType<typeof keyQuery>['executeTakeFirstOrThrow']>>;
const lookups = new WeakMap<Database, (secretHash: string) => Promise<KeyRow[]>>();

// Every cached record kept its own copy of the texts most keys share (kind, status, the org and project ids: five
// strings, ~170 bytes a key; with 10,000 keys in use 1.7 MB of the heap). A record takes the copy seen before.
const KINDS = { project: 'project', admin: 'admin' } as const;
const STATUSES = { active: 'active', revoked: 'revoked', exposed: 'exposed', suspended: 'suspended' } as const;
const PROJECT_STATUSES = { active: 'active', archived: 'archived' } as const;
const SHARED_IDS_MAX = 4096;
const sharedIds = new Map<string, string>();

/** The copy of an org or project id seen before (bounded: forgotten all at once when full). */
function sharedId(id: string): string {
  const seen = sharedIds.get(id);
  if (seen !== undefined) return seen;
  if (sharedIds.size >= SHARED_IDS_MAX) sharedIds.clear();
  sharedIds.set(id, id);
  return id;
}

/** Loads the verification record for a secret digest (one indexed join), or null if unknown. */
export async function loadKeyRecord(database: Database, secretHash: string): Promise<KeyRecord | null> {
  let lookup = lookups.get(database);
  if (!lookup) {
    lookup = precompiled<KeyRow, [string]>(database.db, 1, (hash) => keyQuery(database, hash));
    lookups.set(database, lookup);
  }
  const [row] = await lookup(secretHash);
  if (!row) return null;
  return {
    id: row.id,
    kind: KINDS[row.kind] ?? row.kind,
    name: row.name,
    orgId: sharedId(row.org_id),
    projectId: row.project_id === null ? null : sharedId(row.project_id),
    status: STATUSES[row.status] ?? row.status,
    expiresAt: row.expires_at,
    secretExpiresAt: row.secret_expires_at,
    permissions: JSON.parse(row.permissions),
    allowedModels: row.allowed_models ? JSON.parse(row.allowed_models) : null,
    ipAllow: compileAllowlist(row.allowed_ips ? JSON.parse(row.allowed_ips) : null),
    projectStatus: row.project_status ? (PROJECT_STATUSES[row.project_status] ?? row.project_status) : null,
    projectIpAllow: compileAllowlist(row.project_allowed_ips ? JSON.parse(row.project_allowed_ips) : null),
    exposedAt: row.exposed_at,
    exposedUrl: row.exposed_url,
    limits: row.limits ? JSON.parse(row.limits) : null,
    rpdRev: row.rpd_rev,
    quotaRev: row.quota_rev,
    spendRev: row.spend_rev,
  };
}
