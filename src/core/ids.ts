import { randomBase62 } from './base62.js';

export type IdPrefix = 'org-' | 'proj_' | 'key_' | 'user-' | 'svc_acct_' | 'audit_log-' | 'rl_' | 'wh_' | 'inv_' | 'evt_';

/** A new prefixed identifier, e.g. `proj_4fJ2…`. */
export function newId(prefix: IdPrefix, randomBytes: (n: number) => Uint8Array): string {
  return prefix + randomBase62(24, randomBytes);
}

/**
 * A UUIDv7 (RFC 9562): the 48-bit Unix time in ms, then the random bits of a v4 UUID. Time-ordered, so ids made one
 * after another land next to each other in a primary-key index (usage events: appends, not random page writes).
 */
export function uuidV7(nowMs: number, randomV4: string): string {
  const ts = Math.max(0, Math.floor(nowMs)).toString(16).padStart(12, '0').slice(-12);
  return `${ts.slice(0, 8)}-${ts.slice(8)}-7${randomV4.slice(15)}`;
}
