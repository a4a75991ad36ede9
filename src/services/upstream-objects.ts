import { z } from 'zod';
import { TollgateError } from '../core/errors.js';
import { isObjectType, OBJECT_TYPES, type ObjectType, typeOfId } from '../core/object-families.js';
import type { AnswerObject } from '../core/object-refs.js';
import type { ObjectOwner } from '../core/ports.js';
import { writeAudit } from './audit.js';
import { asActingOwner } from './acting-owner.js';
import type { Actor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import type { ListPage } from './pagination.js';
import { getActiveProject, getProject, requireActiveProject } from './projects.js';
import { pageOf, pageParams } from './query-params.js';
import { text } from './text-fields.js';

// Which project owns each object of the shared upstream account. The gateway records the objects a project's
// requests create (before their answer goes out), checks every object a request names, and filters lists; an
// operator assigns objects made outside Tollgate. See docs/object-isolation.md.

/** The owner of an object, as the gateway needs it. */
export type { ObjectOwner };

/** Longest object id recorded: upstream ids are far shorter (fine-tuned model names are the longest). */
const MAX_ID = 512;
/** Ids per `in (…)` query: well below SQLite's and PostgreSQL's limits on bound parameters. */
const CHUNK = 500;

/** The change-feed entry that tells every instance to forget what it cached about an object. */
export const objectChangeKey = (objectId: string) => `obj:${objectId}`;

/** The owners of these ids (absent: nobody's). */
export async function loadOwners(deps: ServiceDeps, ids: readonly string[]): Promise<Map<string, ObjectOwner>> {
  const out = new Map<string, ObjectOwner>();
  const wanted = [...new Set(ids)].filter((id) => id.length <= MAX_ID);
  for (let i = 0; i < wanted.length; i += CHUNK) {
    const rows = await deps.database.db
      .selectFrom('upstream_objects')
      .select(['object_id', 'project_id', 'deleted_at', 'created_at', 'credential'])
      .where('object_id', 'in', wanted.slice(i, i + CHUNK))
      .execute();
    for (const r of rows) out.set(r.object_id, { projectId: r.project_id, deleted: r.deleted_at !== null, createdAt: r.created_at, credential: r.credential });
  }
  return out;
}

/**
 * Records objects as a project's, committed when this resolves. An id already recorded keeps its owner (and its
 * credential): `created` ids are new upstream, and `produced` ones are adopted only when nobody owns them. `credential`:
 * the provider credential that answered (whose account holds them), null when not known.
 */
export async function recordObjects(
  deps: ServiceDeps,
  objects: readonly AnswerObject[],
  owner: { projectId: string; apiKeyId: string | null; credential?: string | null },
  source: 'created' | 'produced',
): Promise<Set<string>> {
  const seen = new Set<string>();
  const now = nowSeconds(deps);
  const values = [];
  for (const o of objects) {
    if (o.id === '' || o.id.length > MAX_ID || seen.has(o.id)) continue;
    seen.add(o.id);
    values.push({
      object_id: o.id,
      type: o.type,
      project_id: owner.projectId,
      api_key_id: owner.apiKeyId,
      source,
      created_at: o.createdAt,
      recorded_at: now,
      deleted_at: null,
      credential: owner.credential ?? null,
    });
  }
  if (values.length === 0) return new Set();
  const inserted = await deps.database.db
    .insertInto('upstream_objects')
    .values(values)
    .onConflict((oc) => oc.column('object_id').doNothing())
    .returning('object_id')
    .execute();
  return new Set(inserted.map((r) => r.object_id));
}

/** The projects that own these object ids, by id (ids nobody owns are absent). */
export async function projectsOwning(deps: ServiceDeps, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await deps.database.db.selectFrom('upstream_objects').select(['object_id', 'project_id']).where('object_id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.object_id, r.project_id]));
}

/** Marks a project's object deleted (deleted through Tollgate); the row stays so the id never passes to another. */
export async function markObjectDeleted(deps: ServiceDeps, objectId: string, projectId: string): Promise<void> {
  await deps.database.db
    .updateTable('upstream_objects')
    .set({ deleted_at: nowSeconds(deps) })
    .where('object_id', '=', objectId)
    .where('project_id', '=', projectId)
    .where('deleted_at', 'is', null)
    .execute();
}

/** Remembers an object's creation time, first learnt from a list (assigned objects are recorded without one). */
export async function setObjectCreatedAt(deps: ServiceDeps, objectId: string, createdAt: number): Promise<void> {
  await deps.database.db.updateTable('upstream_objects').set({ created_at: createdAt }).where('object_id', '=', objectId).execute();
}

/**
 * Whether a project owns a live object of a type that a list running past `createdAt` (in the direction `op`) could
 * still reach: one created on that side of it, at it but not among `seen`, or at an unknown time.
 */
export async function ownsMoreObjects(
  deps: ServiceDeps,
  projectId: string,
  type: ObjectType,
  bound: { op: '<=' | '>='; createdAt: number; seen: readonly string[] },
): Promise<boolean> {
  const strict = bound.op === '<=' ? '<' : '>';
  const row = await deps.database.db
    .selectFrom('upstream_objects')
    .select('object_id')
    .where('project_id', '=', projectId)
    .where('type', '=', type)
    .where('deleted_at', 'is', null)
    .where((eb) => {
      const atBound = bound.seen.length > 0
        ? eb.and([eb('created_at', '=', bound.createdAt), eb('object_id', 'not in', bound.seen.slice(0, CHUNK))])
        : eb('created_at', '=', bound.createdAt);
      return eb.or([eb('created_at', 'is', null), eb('created_at', strict, bound.createdAt), atBound]);
    })
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

// --- the admin API: /v1/organization/projects/{project_id}/upstream_objects

export interface UpstreamObjectObject {
  object: 'organization.project.upstream_object';
  id: string;
  type: ObjectType;
  project_id: string;
  api_key_id: string | null;
  source: 'created' | 'produced' | 'assigned';
  created_at: number | null;
  recorded_at: number;
  deleted_at: number | null;
}

type Row = {
  object_id: string;
  type: string;
  project_id: string;
  api_key_id: string | null;
  source: 'created' | 'produced' | 'assigned';
  created_at: number | null;
  recorded_at: number;
  deleted_at: number | null;
};

const toObject = (r: Row): UpstreamObjectObject => ({
  object: 'organization.project.upstream_object',
  id: r.object_id,
  type: r.type as ObjectType,
  project_id: r.project_id,
  api_key_id: r.api_key_id,
  source: r.source,
  created_at: r.created_at,
  recorded_at: r.recorded_at,
  deleted_at: r.deleted_at,
});

const ObjectId = text({ min: 1, max: MAX_ID }).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/** The body of POST /projects/{project_id}/upstream_objects. */
export const AssignUpstreamObjectBody = z.strictObject({ id: ObjectId, type: z.enum(OBJECT_TYPES).optional() });
export type AssignUpstreamObjectBody = z.output<typeof AssignUpstreamObjectBody>;

const COLUMNS = ['object_id', 'type', 'project_id', 'api_key_id', 'source', 'created_at', 'recorded_at', 'deleted_at'] as const;

/** The query of GET /projects/{project_id}/upstream_objects: the page and `type`; any other parameter is refused. */
export const ListUpstreamObjectsQuery = z.strictObject({ ...pageParams, type: text({ max: 64 }).optional() });
export type ListUpstreamObjectsQuery = z.output<typeof ListUpstreamObjectsQuery>;

/** The objects a project owns, in the order they were recorded; `type` filters. */
export async function listUpstreamObjects(
  deps: ServiceDeps,
  orgId: string,
  projectId: string,
  query: ListUpstreamObjectsQuery,
): Promise<ListPage<UpstreamObjectObject>> {
  const type = query.type;
  if (type !== undefined && !isObjectType(type)) throw new TollgateError('invalid_value', `Invalid value for 'type': '${type}' is not an object type.`, 'type');
  await getProject(deps, orgId, projectId);
  const { limit, after } = pageOf(query);
  const db = deps.database.db;
  let q = db.selectFrom('upstream_objects').select([...COLUMNS, 'seq']).where('project_id', '=', projectId);
  if (type !== undefined) q = q.where('type', '=', type);
  if (after) {
    const from = await db.selectFrom('upstream_objects').select('seq').where('object_id', '=', after).where('project_id', '=', projectId).executeTakeFirst();
    if (!from) throw new TollgateError('invalid_value', `Invalid value for 'after': no object ${after} in this project.`, 'after');
    q = q.where('seq', '>', from.seq);
  }
  const rows = await q.orderBy('seq').limit(limit + 1).execute();
  const data = rows.slice(0, limit).map(toObject);
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: rows.length > limit };
}

/**
 * Assigns an upstream object to a project: one made outside Tollgate (or before it), or one moved from another project.
 * Every instance forgets what it cached about the object; the previous owner is in the audit entry.
 */
export async function assignUpstreamObject(
  deps: ServiceDeps,
  orgId: string,
  projectId: string,
  body: AssignUpstreamObjectBody,
  actor: Actor,
): Promise<UpstreamObjectObject> {
  await getActiveProject(deps, orgId, projectId);
  const type = body.type ?? typeOfId(body.id);
  if (!type) {
    throw new TollgateError('missing_required_parameter', `The id '${body.id}' does not tell its type: give 'type' (${OBJECT_TYPES.join(', ')}).`, 'type');
  }
  const now = nowSeconds(deps);
  const row = await asActingOwner(deps, actor, async (trx) => {
    // Archived since the check above: refused as it would have been.
    await requireActiveProject(trx, deps, projectId);
    const held = trx.selectFrom('upstream_objects').select(['project_id', 'created_at', 'type', 'source', 'api_key_id', 'deleted_at']).where('object_id', '=', body.id);
    const before = await (deps.database.dialect === 'postgres' ? held.forUpdate() : held).executeTakeFirst();
    // Assigned to this project already, as the same type: no change, nothing written and no entry.
    const same = before && before.project_id === projectId && before.type === type && before.source === 'assigned' && before.api_key_id === null && before.deleted_at === null;
    if (same) return trx.selectFrom('upstream_objects').select(COLUMNS).where('object_id', '=', body.id).executeTakeFirstOrThrow();
    if (before) {
      await trx
        .updateTable('upstream_objects')
        .set({ type, project_id: projectId, api_key_id: null, source: 'assigned', recorded_at: now, deleted_at: null })
        .where('object_id', '=', body.id)
        .execute();
    } else {
      await trx
        .insertInto('upstream_objects')
        .values({ object_id: body.id, type, project_id: projectId, api_key_id: null, source: 'assigned', created_at: null, recorded_at: now, deleted_at: null })
        .execute();
    }
    await trx.insertInto('key_changes').values({ key_id: objectChangeKey(body.id), changed_at: now }).execute();
    await writeAudit(trx, deps, {
      orgId,
      type: 'upstream_object.assigned',
      actor,
      projectId,
      objectId: body.id,
      details: { type, previous_project_id: before?.project_id ?? null },
    });
    return trx.selectFrom('upstream_objects').select(COLUMNS).where('object_id', '=', body.id).executeTakeFirstOrThrow();
  });
  deps.changes.keyChanged(objectChangeKey(body.id));
  return toObject(row);
}

/** Takes an object away from a project: no project key sees it any more (until assigned again). */
export async function unassignUpstreamObject(
  deps: ServiceDeps,
  orgId: string,
  projectId: string,
  objectId: string,
  actor: Actor,
): Promise<{ object: 'organization.project.upstream_object.deleted'; id: string; deleted: true }> {
  await getProject(deps, orgId, projectId);
  await asActingOwner(deps, actor, async (trx) => {
    // The delete decides, not a read before it: an unassign racing another (or a move to another project) found the
    // row, deleted nothing or the other project's row, and wrote its entry all the same.
    const row = await trx.deleteFrom('upstream_objects').where('object_id', '=', objectId).where('project_id', '=', projectId).returning('type').executeTakeFirst();
    if (!row) throw new TollgateError('not_found', `No object '${objectId}' belongs to project '${projectId}'.`, 'object_id');
    await trx.insertInto('key_changes').values({ key_id: objectChangeKey(objectId), changed_at: nowSeconds(deps) }).execute();
    await writeAudit(trx, deps, { orgId, type: 'upstream_object.unassigned', actor, projectId, objectId, details: { type: row.type } });
  });
  deps.changes.keyChanged(objectChangeKey(objectId));
  return { object: 'organization.project.upstream_object.deleted', id: objectId, deleted: true };
}
