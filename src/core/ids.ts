import { randomBase62 } from './base62.js';

export type IdPrefix = 'org-' | 'proj_' | 'key_' | 'user-' | 'svc_acct_' | 'audit_log-' | 'rl_' | 'wh_' | 'inv_' | 'evt_';

/** A new prefixed identifier, e.g. `proj_4fJ2…`. */
export function newId(prefix: IdPrefix, randomBytes: (n: number) => Uint8Array): string {
  return prefix + randomBase62(24, randomBytes);
}
