import { type SelectQueryBuilder, sql } from 'kysely';
import { z } from 'zod';
import { type ActingKey, type AuditLogObject, auditLogObject, type StoredAuditEntry } from '../core/audit-entry.js';
import { isEventTypeName, isTenantScoped } from '../core/audit-events.js';
import { TollgateError } from '../core/errors.js';
import type { DB } from '../storage/schema.js';
import type { ServiceDeps } from './context.js';
import { type ListPage, toPage } from './pagination.js';
import { AfterParam, BoolParam, listParam, listValues, pageOf, pageParams } from './query-params.js';
import { text } from './text-fields.js';

// GET /v1/organization/audit_logs: OpenAI's Audit Logs API, newest first, with every query parameter of its
// specification (list-audit-logs) applied; any other parameter is a 400 unknown_parameter. Entries are rendered in
// OpenAI's shape by core/audit-entry.ts.

/** `effective_at[…]`: Unix seconds. */
const Seconds = text({ max: 32 }).transform((v, ctx) => {
  if (!/^\d{1,12}$/.test(v)) {
    ctx.addIssue({ code: 'custom', message: 'expected unix seconds (a non-negative integer).' });
    return z.NEVER;
  }
  return Number(v);
});

/** The query of GET /audit_logs: every parameter of OpenAI's list-audit-logs. */
export const ListAuditLogsQuery = z.strictObject({
  ...pageParams,
  before: AfterParam.optional(),
  'effective_at[gt]': Seconds.optional(),
  'effective_at[gte]': Seconds.optional(),
  'effective_at[lt]': Seconds.optional(),
  'effective_at[lte]': Seconds.optional(),
  ...listParam('project_ids'),
  ...listParam('event_types'),
  ...listParam('actor_ids'),
  ...listParam('actor_emails'),
  ...listParam('resource_ids'),
  tenant_only: BoolParam.optional(),
});
export type ListAuditLogsQuery = z.output<typeof ListAuditLogsQuery>;

/** Which spelling of a list parameter the client used (`name[]` or `name`), to name it in an error. */
function spelling(query: ListAuditLogsQuery, name: 'event_types'): string {
  return query[`${name}[]`] !== undefined ? `${name}[]` : name;
}

type AuditQuery = SelectQueryBuilder<DB, 'audit_logs', object>;

/**
 * Entries some of these actors caused: a user (signed in, or through a key they own), a service account (through its
 * keys) or an API key itself. OpenAI: "Can be a user ID, a service account ID, or an api key tracking ID".
 */
function byActors(q: AuditQuery, ids: string[]): AuditQuery {
  if (ids.length === 0) return q.where(sql<boolean>`1 = 0`);
  return q.where((eb) =>
    eb.or([eb('actor_id', 'in', ids), eb('actor_id', 'in', eb.selectFrom('api_keys').select('api_keys.id').where('api_keys.owner_id', 'in', ids))]),
  );
}

/**
 * The seq of the entry a cursor names; an unknown one is a 400 naming the cursor. Seqs follow commit order (see
 * writeAudit): an entry committed after the one a `before=` names is always numbered above it.
 */
async function cursorSeq(deps: ServiceDeps, orgId: string, id: string, param: 'after' | 'before'): Promise<number> {
  const row = await deps.database.db.selectFrom('audit_logs').select('seq').where('id', '=', id).where('org_id', '=', orgId).executeTakeFirst();
  if (!row) throw new TollgateError('invalid_value', `Invalid value for '${param}': no audit log entry ${id}.`, param);
  return Number(row.seq);
}

/** The acting keys of these entries (kind and owner), for rendering API-key actors as OpenAI does. */
async function actingKeys(deps: ServiceDeps, keyIds: string[]): Promise<Map<string, ActingKey>> {
  const out = new Map<string, ActingKey>();
  if (keyIds.length === 0) return out;
  const rows = await deps.database.db
    .selectFrom('api_keys')
    .leftJoin('users', (j) => j.onRef('users.id', '=', 'api_keys.owner_id').on('api_keys.owner_type', '=', 'user'))
    .select(['api_keys.id', 'api_keys.kind', 'api_keys.owner_type', 'api_keys.owner_id', 'users.email'])
    .where('api_keys.id', 'in', keyIds)
    .execute();
  for (const r of rows) out.set(r.id, { kind: r.kind, ownerType: r.owner_type, ownerId: r.owner_id, ownerEmail: r.email ?? null });
  return out;
}

/** Lists audit entries, newest first, filtered as OpenAI's list-audit-logs documents. */
export async function listAuditLogs(deps: ServiceDeps, orgId: string, params: ListAuditLogsQuery): Promise<ListPage<AuditLogObject>> {
  const { limit, after } = pageOf(params);
  const before = params.before ? params.before : null;
  const db = deps.database.db;
  let q: AuditQuery = db.selectFrom('audit_logs').where('org_id', '=', orgId);

  const types = listValues(params, 'event_types');
  if (types !== null) {
    // Any type OpenAI's list has (it grows) or Tollgate's catalogue has is taken; one nobody writes matches nothing.
    const malformed = types.find((t) => !isEventTypeName(t));
    if (malformed !== undefined) {
      const param = spelling(params, 'event_types');
      throw new TollgateError('invalid_value', `Invalid value for '${param}': '${malformed}' is not an event type (such as api_key.created; docs/audit-log.md lists them).`, param);
    }
    q = q.where('type', 'in', types.length ? types : ['']);
  }
  // Tenant-scoped events (OpenAI's ChatGPT Enterprise tenants) are never written by Tollgate: asked for them alone,
  // the list is empty; mixing them with others is refused as OpenAI refuses it.
  if (params.tenant_only) {
    const other = (types ?? []).find((t) => !isTenantScoped(t));
    if (other !== undefined) {
      throw new TollgateError('invalid_value', `Invalid value for 'tenant_only': '${other}' is not a tenant-scoped event type.`, 'tenant_only');
    }
    q = q.where(sql<boolean>`1 = 0`);
  }
  const projects = listValues(params, 'project_ids');
  if (projects !== null) q = q.where('project_id', 'in', projects.length ? projects : ['']);
  const resources = listValues(params, 'resource_ids');
  if (resources !== null) q = q.where('object_id', 'in', resources.length ? resources : ['']);
  const actors = listValues(params, 'actor_ids');
  if (actors !== null) q = byActors(q, actors);
  const emails = listValues(params, 'actor_emails');
  if (emails !== null) {
    const wanted = emails.map((e) => e.trim().toLowerCase()).filter(Boolean);
    // Deleted users too: their entries stay theirs.
    const users = wanted.length ? await db.selectFrom('users').select('id').where('org_id', '=', orgId).where('email', 'in', wanted).execute() : [];
    q = byActors(
      q,
      users.map((u) => u.id),
    );
  }
  const gt = params['effective_at[gt]'];
  const gte = params['effective_at[gte]'];
  const lt = params['effective_at[lt]'];
  const lte = params['effective_at[lte]'];
  if (gt !== undefined) q = q.where('effective_at', '>', gt);
  if (gte !== undefined) q = q.where('effective_at', '>=', gte);
  if (lt !== undefined) q = q.where('effective_at', '<', lt);
  if (lte !== undefined) q = q.where('effective_at', '<=', lte);
  if (after) q = q.where('seq', '<', await cursorSeq(deps, orgId, after, 'after'));
  if (before) q = q.where('seq', '>', await cursorSeq(deps, orgId, before, 'before'));

  // `before` alone pages back towards the newest: the `limit` entries just newer than the cursor, shown newest first.
  const backwards = before !== null && after === null;
  const fetched = await q
    .selectAll()
    .orderBy('seq', backwards ? 'asc' : 'desc')
    .limit(limit + 1)
    .execute();
  const rows = backwards ? fetched.slice(0, limit).reverse() : fetched;
  const page = toPage(
    await render(deps, rows),
    limit,
  );
  return backwards ? { ...page, has_more: fetched.length > limit } : page;
}

async function render(deps: ServiceDeps, rows: StoredAuditEntry[]): Promise<AuditLogObject[]> {
  const db = deps.database.db;
  const projectIds = [...new Set(rows.map((r) => r.project_id).filter((p): p is string => !!p))];
  const names = new Map<string, string>();
  if (projectIds.length) {
    for (const p of await db.selectFrom('projects').select(['id', 'name']).where('id', 'in', projectIds).execute()) names.set(p.id, p.name);
  }
  const keyIds = [...new Set(rows.filter((r) => r.actor_type === 'api_key' && r.actor_id).map((r) => r.actor_id as string))];
  const keys = await actingKeys(deps, keyIds);
  return rows.map((r) =>
    auditLogObject(r, r.project_id ? names.get(r.project_id) : undefined, r.actor_type === 'api_key' && r.actor_id ? keys.get(r.actor_id) : undefined),
  );
}
