import { z } from 'zod';
import { TollgateError } from '../core/errors.js';
import { IpEntryError, parseIpEntry } from '../core/ip-rules.js';
import { writeAudit } from './audit.js';
import { insertProject } from './bootstrap.js';
import { changedMembers, changesAnything } from './changed-members.js';
import { asActingOwner } from './acting-owner.js';
import type { Actor, Executor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { afterSeq, type ListPage, toPage } from './pagination.js';
import { BoolParam, pageOf, pageParams } from './query-params.js';
import { NameSchema, text } from './text-fields.js';
import { RESIDENCIES, type ProjectObject, type Residency } from '../contract/projects.js';

export type { ProjectObject, Residency } from '../contract/projects.js';

export { NameSchema };

/** Validates an IP allowlist (addresses and CIDR ranges, core/ip-rules.ts) and stores each entry canonically. */
export const IpListSchema = z
  .array(text({ max: 64 }))
  // An empty list was stored as none: a key or project sent `[]` was open to every address (found by a review).
  .min(1, 'An empty list would let no address in: send null (or leave the member out) for every address.')
  .max(256)
  .transform((list, ctx) => {
    const out: string[] = [];
    for (const [i, entry] of list.entries()) {
      try {
        out.push(parseIpEntry(entry));
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: [i], message: err instanceof IpEntryError ? err.message : `"${entry}" is not an IP address or CIDR range` });
        return z.NEVER;
      }
    }
    return out;
  });

// OpenAI's ProjectCreateRequest and ProjectUpdateRequest, plus Tollgate's allowed_ips. `residency`, `geography` (the
// deprecated name OpenAI's SDKs still send; the npm package knows no other) and `external_key_id` are recorded and
// returned as given: Tollgate keeps its data where it runs and sends requests to the upstreams it is configured with,
// whatever they say (docs/admin-api.md).
const ExternalKeyId = text({ max: 256, min: 1, trim: true }).nullable();
const Geography = text({ max: 64, min: 1, trim: true }).nullable();
/** The body of POST /projects. */
export const CreateProjectBody = z.strictObject({
  name: NameSchema,
  residency: z.enum(RESIDENCIES).nullable().optional(),
  geography: Geography.optional(),
  external_key_id: ExternalKeyId.optional(),
  allowed_ips: IpListSchema.nullable().optional(),
});
export type CreateProjectBody = z.output<typeof CreateProjectBody>;
/** The body of POST /projects/{project_id}. A null name leaves the name as it is (the spec's name is nullable; a project always has one). */
export const ModifyProjectBody = z.strictObject({
  name: NameSchema.nullable().optional(),
  external_key_id: ExternalKeyId.optional(),
  geography: Geography.optional(),
  allowed_ips: IpListSchema.nullable().optional(),
});
export type ModifyProjectBody = z.output<typeof ModifyProjectBody>;
/** The query of GET /projects. */
export const ListProjectsQuery = z.strictObject({ ...pageParams, include_archived: BoolParam.optional() });
export type ListProjectsQuery = z.output<typeof ListProjectsQuery>;

type ProjectRow = {
  id: string;
  name: string;
  created_at: number;
  archived_at: number | null;
  status: 'active' | 'archived';
  allowed_ips: string | null;
  external_key_id: string | null;
  residency: string | null;
  geography: string | null;
};

function toObject(r: ProjectRow): ProjectObject {
  return {
    id: r.id,
    object: 'organization.project',
    name: r.name,
    created_at: r.created_at,
    archived_at: r.archived_at,
    status: r.status,
    allowed_ips: r.allowed_ips ? JSON.parse(r.allowed_ips) : null,
    external_key_id: r.external_key_id,
    ...(r.residency ? { residency: r.residency as Residency } : {}),
    ...(r.geography ? { geography: r.geography } : {}),
  };
}

/** Lists projects, oldest first; archived ones only with include_archived=true (as OpenAI does). */
export async function listProjects(deps: ServiceDeps, orgId: string, params: ListProjectsQuery): Promise<ListPage<ProjectObject>> {
  const { limit, after } = pageOf(params);
  const db = deps.database.db;
  let q = db.selectFrom('projects').selectAll().where('org_id', '=', orgId);
  if (!params.include_archived) q = q.where('status', '=', 'active');
  const from = await afterSeq(db, 'projects', after, 'project', { org_id: orgId });
  if (from !== null) q = q.where('seq', '>', from);
  const rows = await q.orderBy('seq').limit(limit + 1).execute();
  return toPage(rows.map(toObject), limit);
}

/** One project, or 404. */
export async function getProject(deps: ServiceDeps, orgId: string, projectId: string): Promise<ProjectObject> {
  const row = await deps.database.db
    .selectFrom('projects')
    .selectAll()
    .where('id', '=', projectId)
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  if (!row) throw new TollgateError('not_found', `No project found with id '${projectId}'.`, 'project_id');
  return toObject(row);
}

// An archived project is frozen (OpenAI: "Archived projects cannot be used or updated"): every write that would change
// what it is or holds (its settings, members and their roles, keys, service accounts, rate and spend limits, spend
// alerts, objects given to it) is refused with project_archived, checked before the write and again in its
// transaction with the project's row held (requireActiveProject), as archiving writes that row. Only removals that
// take something away are let through: a member removed, a key revoked, a service account deleted, a limit or alert
// deleted, an object taken away (docs/admin-api.md); no key of the project is let through the gateway anyway.

/** The refusal of a write to an archived project (OpenAI's code and words). */
export const projectArchived = (projectId: string) =>
  new TollgateError('project_archived', `Project '${projectId}' is archived. You can only update an active project.`, 'project_id');

/** The project a write is for, or 404; an archived one is refused (checked again in the write: requireActiveProject). */
export async function getActiveProject(deps: ServiceDeps, orgId: string, projectId: string): Promise<ProjectObject> {
  const project = await getProject(deps, orgId, projectId);
  if (project.status === 'archived') throw projectArchived(projectId);
  return project;
}

/** Refuses, in the writing transaction, a project archived since the check before it (lockActiveProject). */
export async function requireActiveProject(trx: Executor, deps: ServiceDeps, projectId: string): Promise<void> {
  if (!(await lockActiveProject(trx, deps, projectId))) throw projectArchived(projectId);
}

/**
 * Whether a project is still active, read in the caller's transaction with its row held (FOR SHARE on PostgreSQL)
 * until that commits: archiving writes the row, so it waits for a key or service account being made, or is seen here.
 * Checked only before the transaction, a key created as its project was archived answered 200 after project.archived.
 */
export async function lockActiveProject(trx: Executor, deps: ServiceDeps, projectId: string): Promise<boolean> {
  const q = trx.selectFrom('projects').select('id').where('id', '=', projectId).where('status', '=', 'active');
  return (await (deps.database.dialect === 'postgres' ? q.forShare() : q).executeTakeFirst()) !== undefined;
}

/** Creates a project (with its default service account) and its audit entry in one transaction. */
export async function createProject(deps: ServiceDeps, orgId: string, body: CreateProjectBody, actor: Actor): Promise<ProjectObject> {
  if (body.residency != null && body.geography != null) {
    throw new TollgateError('invalid_value', "Give either 'residency' or 'geography' (its older name), not both.", 'geography');
  }
  const id = await asActingOwner(deps, actor, (trx) =>
    insertProject(trx, deps, orgId, body.name, body.allowed_ips ?? null, actor, {
      residency: body.residency ?? null,
      geography: body.geography ?? null,
      externalKeyId: body.external_key_id ?? null,
    }),
  );
  return getProject(deps, orgId, id);
}

/** Renames a project or changes its IP allowlist. */
export async function modifyProject(
  deps: ServiceDeps,
  orgId: string,
  projectId: string,
  body: ModifyProjectBody,
  actor: Actor,
): Promise<ProjectObject> {
  const current = await getProject(deps, orgId, projectId);
  if (current.status === 'archived') throw new TollgateError('project_archived', 'Archived projects cannot be modified.', 'project_id');
  const wrote = await asActingOwner(deps, actor, async (trx) => {
    // Archived meanwhile: refused as above, with nothing written (the entry read project.updated after project.archived).
    const live = trx.selectFrom('projects').selectAll().where('id', '=', projectId).where('status', '=', 'active');
    const before = await (deps.database.dialect === 'postgres' ? live.forUpdate() : live).executeTakeFirst();
    if (!before) throw new TollgateError('project_archived', 'Archived projects cannot be modified.', 'project_id');
    // A null name keeps the name; members sent with the value they have are no change: one that changes nothing
    // writes nothing, and no entry.
    const { name, ...rest } = body;
    const shown = toObject(before);
    const settings = { name: shown.name, external_key_id: shown.external_key_id, geography: shown.geography ?? null, allowed_ips: shown.allowed_ips };
    const changed = changedMembers({ ...(name != null ? { name } : {}), ...rest }, settings);
    if (!changesAnything(changed)) return false;
    const patch: { name?: string; allowed_ips?: string | null; external_key_id?: string | null; geography?: string | null } = {};
    if (changed.geography !== undefined) patch.geography = changed.geography;
    if (changed.name != null) patch.name = changed.name;
    if (changed.external_key_id !== undefined) patch.external_key_id = changed.external_key_id;
    if (changed.allowed_ips !== undefined) patch.allowed_ips = changed.allowed_ips?.length ? JSON.stringify(changed.allowed_ips) : null;
    await trx.updateTable('projects').set(patch).where('id', '=', projectId).execute();
    await trx.insertInto('key_changes').values({ key_id: projectId, changed_at: nowSeconds(deps) }).execute();
    await writeAudit(trx, deps, {
      orgId,
      type: 'project.updated',
      actor,
      projectId,
      objectId: projectId,
      details: { changes_requested: changed },
    });
    return true;
  });
  if (wrote) deps.changes.projectChanged(projectId);
  return getProject(deps, orgId, projectId);
}

/** Archives a project: from this moment every key of it is refused. Idempotent. */
export async function archiveProject(deps: ServiceDeps, orgId: string, projectId: string, actor: Actor): Promise<ProjectObject> {
  const current = await getProject(deps, orgId, projectId);
  if (current.status === 'archived') return current;
  await asActingOwner(deps, actor, async (trx) => {
    const now = nowSeconds(deps);
    // Only the archive that changes the row is audited: two at once wrote project.archived twice.
    const res = await trx
      .updateTable('projects')
      .set({ status: 'archived', archived_at: now })
      .where('id', '=', projectId)
      .where('status', '=', 'active')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return;
    await trx.insertInto('key_changes').values({ key_id: projectId, changed_at: now }).execute();
    await writeAudit(trx, deps, { orgId, type: 'project.archived', actor, projectId, objectId: projectId });
  });
  deps.changes.projectChanged(projectId);
  return getProject(deps, orgId, projectId);
}
