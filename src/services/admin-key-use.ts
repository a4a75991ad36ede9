import { writeAudit } from './audit.js';
import type { Actor, ServiceDeps } from './context.js';

/** What one use of an admin key was: the key, who presented it from where, and the call. */
export interface AdminKeyUse {
  orgId: string;
  keyId: string;
  actor: Actor;
  method: string;
  path: string;
}

const USE_AUDIT_INTERVAL_MS = 60_000;
const MAX_REMEMBERED = 10_000;

/**
 * Audits admin keys' uses (`admin_api_key.used`), coalesced to one entry per key and address a minute so polling
 * scripts do not flood the log. One per server, shared by every route that takes an admin key (the admin API and
 * the invitations API alike), so that the minute is the key's, whichever route it called.
 */
export class AdminKeyUseAudit {
  private readonly lastAudited = new Map<string, number>();
  constructor(private readonly deps: ServiceDeps) {}

  /** Writes the use's entry, in its own transaction, unless this key and address had one in the last minute. */
  async record(use: AdminKeyUse): Promise<void> {
    const key = `${use.keyId}|${use.actor.ip ?? ''}`;
    const now = this.deps.clock();
    if ((this.lastAudited.get(key) ?? Number.NEGATIVE_INFINITY) + USE_AUDIT_INTERVAL_MS > now) return;
    this.lastAudited.set(key, now);
    if (this.lastAudited.size > MAX_REMEMBERED) this.lastAudited.clear();
    await writeAudit(this.deps.database.db, this.deps, {
      orgId: use.orgId,
      type: 'admin_api_key.used',
      actor: use.actor,
      objectId: use.keyId,
      details: { method: use.method, path: use.path },
    });
  }
}
