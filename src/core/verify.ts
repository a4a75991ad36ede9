import type { IpMatcher } from './ip-rules.js';
import { redactKeysInText } from './key-search.js';
import type { KeyLimits } from './key-limits.js';
import type { PermissionsSpec } from './permissions.js';

/** What the gateway and admin API need to know about a key, as cached in memory. */
export interface KeyRecord {
  id: string;
  kind: 'project' | 'admin';
  name: string;
  orgId: string;
  projectId: string | null;
  status: 'active' | 'revoked' | 'exposed' | 'suspended';
  expiresAt: number | null;
  /** When the presented secret stops working (rotation grace); null for the current secret. */
  secretExpiresAt: number | null;
  permissions: PermissionsSpec;
  allowedModels: string[] | null;
  ipAllow: IpMatcher | null;
  projectStatus: 'active' | 'archived' | null;
  projectIpAllow: IpMatcher | null;
  exposedAt: number | null;
  exposedUrl: string | null;
  limits: KeyLimits | null;
  /**
   * The setting of the key's requests-per-day limit (api_keys.rpd_rev): made anew whenever that limit changes, and part
   * of its bucket's store key; null while the key keeps the limit it was made with.
   */
  rpdRev: string | null;
  /** The setting of the request quota's interval (api_keys.quota_rev), part of its counters' keys; as rpdRev. */
  quotaRev: string | null;
  /** The setting of the spend limit's interval (api_keys.spend_rev), part of its counters' keys; as rpdRev. */
  spendRev: string | null;
}

export type VerifyFailure =
  | 'unknown'
  | 'revoked'
  | 'exposed'
  | 'suspended'
  | 'expired'
  | 'secret_rotated'
  | 'project_archived'
  | 'ip_not_allowed';

export type VerifyResult = { ok: true } | { ok: false; code: VerifyFailure };

/** One ordered list of checks; each failure is data, not an exception. `now` is in seconds. */
export function verifyKey(input: { record: KeyRecord | null; now: number; ip: string }): VerifyResult {
  const { record, now, ip } = input;
  if (!record) return { ok: false, code: 'unknown' };
  if (record.status === 'exposed') return { ok: false, code: 'exposed' };
  if (record.status === 'suspended') return { ok: false, code: 'suspended' };
  if (record.status !== 'active') return { ok: false, code: 'revoked' };
  if (record.expiresAt !== null && now >= record.expiresAt) return { ok: false, code: 'expired' };
  if (record.secretExpiresAt !== null && now >= record.secretExpiresAt) return { ok: false, code: 'secret_rotated' };
  if (record.projectStatus === 'archived') return { ok: false, code: 'project_archived' };
  if (record.ipAllow && !record.ipAllow(ip)) return { ok: false, code: 'ip_not_allowed' };
  if (record.projectIpAllow && !record.projectIpAllow(ip)) return { ok: false, code: 'ip_not_allowed' };
  return { ok: true };
}

/** The client-facing message for a failure; never says whether a key exists, except for exposure. */
export function verifyFailureMessage(code: VerifyFailure, record: KeyRecord | null): string {
  switch (code) {
    case 'exposed':
      // Redacted again here for what was stored before report_exposed redacted it: the URL may name another key.
      return `This API key was disabled because it was found exposed${record?.exposedUrl ? ` at ${redactKeysInText(record.exposedUrl)}` : ''}. Create a new key.`;
    case 'suspended':
      return 'This API key was suspended automatically because of unusual activity. An administrator can review the audit log and issue a new key.';
    case 'ip_not_allowed':
      return 'Requests from this IP address are not allowed for this key.';
    case 'expired':
      return 'Incorrect API key provided: the key has expired.';
    case 'project_archived':
      return 'Incorrect API key provided: its project is archived.';
    default:
      return 'Incorrect API key provided.';
  }
}
