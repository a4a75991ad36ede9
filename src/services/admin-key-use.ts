import { writeAudit } from './audit.js';
import type { Actor, ServiceDeps } from './context.js';

/** Audits that an admin key was used (admin_api_key.used), in its own transaction. */
export async function recordAdminKeyUse(
  deps: ServiceDeps,
  use: { orgId: string; keyId: string; actor: Actor; method: string; path: string },
): Promise<void> {
  await writeAudit(deps.database.db, deps, {
    orgId: use.orgId,
    type: 'admin_api_key.used',
    actor: use.actor,
    objectId: use.keyId,
    details: { method: use.method, path: use.path },
  });
}
