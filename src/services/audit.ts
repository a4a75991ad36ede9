import type { AuditEventType } from '../core/audit-events.js';
import { newId } from '../core/ids.js';
import type { Actor, Executor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';

// Audit entries as Tollgate records them: the type (audit-events.ts), who acted as Tollgate saw them, the project and
// object, and the details the use case writes (never a secret). The Audit Logs API shows them in OpenAI's shape
// (core/audit-entry.ts, services/audit-logs.ts).

export interface AuditEntryInput {
  orgId: string;
  type: AuditEventType;
  actor: Actor;
  projectId?: string | null;
  objectId?: string | null;
  details?: Record<string, unknown>;
}

/** The actor as recorded with an entry (the API renders it as OpenAI's: core/audit-entry.ts). */
export function renderActor(actor: Actor): Record<string, unknown> {
  switch (actor.type) {
    case 'api_key':
      return {
        type: 'api_key',
        api_key: { id: actor.id, type: actor.keyType ?? 'admin' },
        ip_address: actor.ip ?? null,
        user_agent: actor.userAgent ?? null,
      };
    case 'session':
      return {
        type: 'session',
        session: {
          user: { id: actor.id, email: actor.email ?? null },
          ip_address: actor.ip ?? null,
          user_agent: actor.userAgent ?? null,
        },
      };
    default:
      return { type: actor.type, id: actor.id, ip_address: actor.ip ?? null };
  }
}

/**
 * Appends an audit entry inside the caller's transaction. On PostgreSQL its place in the log (`seq`, what the list's
 * cursors compare) is given as the transaction commits, and its time made no earlier than the organization's entries
 * committed before it (migration 108, storage/migrations-audit.ts): a client that polls for entries newer than the
 * newest it has read never misses one whose transaction committed after a later-written one.
 */
export async function writeAudit(trx: Executor, deps: ServiceDeps, entry: AuditEntryInput): Promise<string> {
  const id = newId('audit_log-', deps.randomBytes);
  await trx
    .insertInto('audit_logs')
    .values({
      id,
      org_id: entry.orgId,
      type: entry.type,
      effective_at: nowSeconds(deps),
      actor_type: entry.actor.type,
      actor_id: entry.actor.id,
      actor: JSON.stringify(renderActor(entry.actor)),
      project_id: entry.projectId ?? null,
      object_id: entry.objectId ?? null,
      ip: entry.actor.ip ?? null,
      user_agent: entry.actor.userAgent ?? null,
      details: JSON.stringify({ id: entry.objectId ?? null, ...(entry.details ?? {}) }),
    })
    .execute();
  return id;
}
