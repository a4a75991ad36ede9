import type { AuditEventType } from '../core/audit-events.js';
import { TollgateError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Actor, Executor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { afterSeq, type ListPage, pageQuery, toPage } from './pagination.js';

// Audit entries in OpenAI's shape: {id, type, effective_at, actor, project, <type>: {...details}}.
// Details are written by the use cases themselves and never hold a secret (audit.test.ts checks).

export interface AuditEntryInput {
  orgId: string;
  type: AuditEventType;
  actor: Actor;
  projectId?: string | null;
  objectId?: string | null;
  details?: Record<string, unknown>;
}

/** Renders an actor as OpenAI's audit log does. */
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

/** Appends an audit entry inside the caller's transaction. */
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

export interface AuditLogObject {
  id: string;
  object: 'organization.audit_log';
  type: string;
  effective_at: number;
  project: { id: string; name: string | null } | null;
  actor: Record<string, unknown>;
  ip_address: string | null;
  user_agent: string | null;
  [details: string]: unknown;
}

function listParam(query: Record<string, unknown>, name: string): string[] {
  const out: string[] = [];
  for (const key of [name, `${name}[]`]) {
    const v = query[key];
    if (Array.isArray(v)) out.push(...v.map(String));
    else if (typeof v === 'string') out.push(...v.split(',').filter(Boolean));
  }
  return out;
}

function timeParam(query: Record<string, unknown>, op: string): number | null {
  const v = query[`effective_at[${op}]`] ?? (query.effective_at as Record<string, unknown> | undefined)?.[op];
  if (v === undefined || v === '') return null;
  const n = Number(v);
  if (!Number.isFinite(n)) {
    throw new TollgateError('invalid_value', `Invalid value for 'effective_at[${op}]': expected unix seconds.`, `effective_at[${op}]`);
  }
  return n;
}

/** Lists audit entries, newest first, with OpenAI's filters (event_types, project_ids, actor_ids, resource_ids, effective_at[gt|gte|lt|lte]). */
export async function listAuditLogs(
  deps: ServiceDeps,
  orgId: string,
  query: Record<string, unknown>,
): Promise<ListPage<AuditLogObject>> {
  const { limit, after } = pageQuery(query);
  const db = deps.database.db;
  let q = db.selectFrom('audit_logs').selectAll().where('org_id', '=', orgId);
  const types = listParam(query, 'event_types');
  if (types.length) q = q.where('type', 'in', types);
  const projects = listParam(query, 'project_ids');
  if (projects.length) q = q.where('project_id', 'in', projects);
  const actors = listParam(query, 'actor_ids');
  if (actors.length) q = q.where('actor_id', 'in', actors);
  const resources = listParam(query, 'resource_ids');
  if (resources.length) q = q.where('object_id', 'in', resources);
  const gt = timeParam(query, 'gt');
  const gte = timeParam(query, 'gte');
  const lt = timeParam(query, 'lt');
  const lte = timeParam(query, 'lte');
  if (gt !== null) q = q.where('effective_at', '>', gt);
  if (gte !== null) q = q.where('effective_at', '>=', gte);
  if (lt !== null) q = q.where('effective_at', '<', lt);
  if (lte !== null) q = q.where('effective_at', '<=', lte);
  const from = await afterSeq(db, 'audit_logs', after, 'audit log');
  if (from !== null) q = q.where('seq', '<', from);
  const rows = await q.orderBy('seq', 'desc').limit(limit + 1).execute();
  const projectIds = [...new Set(rows.map((r) => r.project_id).filter((p): p is string => !!p))];
  const names = new Map<string, string>();
  if (projectIds.length) {
    for (const p of await db.selectFrom('projects').select(['id', 'name']).where('id', 'in', projectIds).execute()) {
      names.set(p.id, p.name);
    }
  }
  const data = rows.map((r): AuditLogObject => ({
    id: r.id,
    object: 'organization.audit_log',
    type: r.type,
    effective_at: r.effective_at,
    project: r.project_id ? { id: r.project_id, name: names.get(r.project_id) ?? null } : null,
    actor: JSON.parse(r.actor),
    ip_address: r.ip,
    user_agent: r.user_agent,
    [r.type]: JSON.parse(r.details),
  }));
  return toPage(data, limit);
}
