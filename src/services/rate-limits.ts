import { z } from 'zod';
import { TollgateError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import {
  modelOfRateLimitId,
  modelRateLimitId,
  RATE_LIMIT_FIELDS,
  RATE_LIMIT_UNLIMITED,
  type RateLimitField,
} from '../core/project-rate-limits.js';
import type { RateLimitsTable } from '../storage/schema-limits.js';
import { writeAudit } from './audit.js';
import { changedMembers, changesAnything } from './changed-members.js';
import { asActingOwner } from './acting-owner.js';
import type { Actor, Executor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { recordKeyChange } from './key-writes.js';
import { newLimitRev, rpdOf } from './limits.js';
import { markRemoved, removedPlace } from './list-removals.js';
import { getActiveProject, getProject, requireActiveProject } from './projects.js';
import { AfterParam, LimitParam } from './query-params.js';
import { text } from './text-fields.js';
import type { RateLimitObject } from '../contract/limits.js';

export type { RateLimitObject } from '../contract/limits.js';

// OpenAI's project rate limits (list, update) and Tollgate's own create and delete. The list has one object per model
// the project can use (core/project-rate-limits.ts), set or not, plus any limit stored for another model or for all
// models ('*', Tollgate's). An unset limit reads RATE_LIMIT_UNLIMITED in the two members the spec requires and is
// absent from the optional ones. Requests, tokens per minute and requests per day are enforced; images and audio per
// minute and batch input tokens per day are stored and shown only (docs/admin-api.md).

/**
 * The longest model whose limit is shown named after it (`rl-<model>`, as OpenAI's `rl-ada`): a path parameter holds
 * 200 characters. A stored row has a random id of its own (ids are unique across projects), which also names it.
 */
const MAX_NAMED_MODEL = 190;
const MAX_LIMIT = 1e12;

/** A limit: a whole number from 1; RATE_LIMIT_UNLIMITED or null (Tollgate's) remove it. */
const LimitValue = z
  .number()
  .int()
  .nullable()
  .superRefine((v, ctx) => {
    if (v === null || v === RATE_LIMIT_UNLIMITED || (v >= 1 && v <= MAX_LIMIT)) return;
    ctx.addIssue({
      code: 'custom',
      message:
        v === 0
          ? `a limit of 0 would refuse every request; to remove the limit send ${RATE_LIMIT_UNLIMITED} (unlimited) or null. To keep a model from a key, use the key's allowed_models.`
          : `expected a whole number from 1 to ${MAX_LIMIT}, or ${RATE_LIMIT_UNLIMITED} (unlimited) or null to remove the limit.`,
    });
  })
  .transform((v) => (v === RATE_LIMIT_UNLIMITED ? null : v));

const limitFields = Object.fromEntries(RATE_LIMIT_FIELDS.map((f) => [f, LimitValue.optional()])) as Record<RateLimitField, z.ZodOptional<typeof LimitValue>>;

/** The body of POST /projects/{project_id}/rate_limits/{rate_limit_id}: OpenAI's ProjectRateLimitUpdateRequest, every dimension of the spec. */
export const ModifyRateLimitBody = z.strictObject(limitFields);
export type ModifyRateLimitBody = z.output<typeof ModifyRateLimitBody>;

/** The body of POST /projects/{project_id}/rate_limits (Tollgate's). */
export const CreateRateLimitBody = z.strictObject({ model: text({ min: 1, max: 256 }).optional(), ...limitFields }).refine(
  (b) => RATE_LIMIT_FIELDS.some((f) => b[f] != null),
  `give at least one of ${RATE_LIMIT_FIELDS.join(', ')}`,
);

export type CreateRateLimitBody = z.output<typeof CreateRateLimitBody>;

/** The query of list-project-rate-limits: `limit` (default 100), `after`, `before`. */
export const ListRateLimitsQuery = z.strictObject({ limit: LimitParam.optional(), after: AfterParam.optional(), before: AfterParam.optional() });
export type ListRateLimitsQuery = z.output<typeof ListRateLimitsQuery>;

type RateRow = Pick<RateLimitsTable, 'id' | 'model' | RateLimitField>;

const shownModel = (stored: string) => (stored === '' ? '*' : stored);
const storedModel = (model: string) => (model === '*' ? '' : model);

function toObject(model: string, id: string, row: RateRow | null): RateLimitObject {
  const out: RateLimitObject = {
    object: 'project.rate_limit',
    id,
    model,
    max_requests_per_1_minute: row?.max_requests_per_1_minute ?? RATE_LIMIT_UNLIMITED,
    max_tokens_per_1_minute: row?.max_tokens_per_1_minute ?? RATE_LIMIT_UNLIMITED,
  };
  for (const f of RATE_LIMIT_FIELDS.slice(2) as Array<Exclude<RateLimitField, 'max_requests_per_1_minute' | 'max_tokens_per_1_minute'>>) {
    const v = row?.[f];
    if (v !== null && v !== undefined) out[f] = Number(v);
  }
  return out;
}

/** The id a model's limit is shown with: `rl-<model>`, or for a very long name its row's own id. */
const shownId = (model: string, row: RateRow | null) => (model.length <= MAX_NAMED_MODEL || !row ? modelRateLimitId(model) : row.id);

const rowObject = (row: RateRow) => toObject(shownModel(row.model), shownId(shownModel(row.model), row), row);

/** '*' first, then by model name. */
const compareModels = (a: string, b: string) => (a === b ? 0 : a === '*' ? -1 : b === '*' ? 1 : a < b ? -1 : 1);
const byModel = (a: RateLimitObject, b: RateLimitObject) => compareModels(a.model, b.model);

async function storedRows(deps: ServiceDeps, projectId: string): Promise<RateRow[]> {
  return deps.database.db.selectFrom('rate_limits').selectAll().where('project_id', '=', projectId).execute();
}

/** Lists a project's rate limits: one per model it can use (`models`), and every one stored. */
export async function listRateLimits(deps: ServiceDeps, orgId: string, projectId: string, models: readonly string[], q: ListRateLimitsQuery) {
  if (q.after && q.before) throw new TollgateError('invalid_value', "Give 'after' or 'before', not both.", 'before');
  await getProject(deps, orgId, projectId);
  const rows = await storedRows(deps, projectId);
  const stored = new Set(rows.map((r) => shownModel(r.model)));
  const all = [...rows.map(rowObject), ...models.filter((m) => !stored.has(m)).map((m) => toObject(m, modelRateLimitId(m), null))].sort(byModel);
  const limit = q.limit ?? 100;
  const cursor = q.after || q.before;
  let start = 0;
  let end = all.length;
  if (cursor) {
    const at = all.findIndex((r) => r.id === cursor);
    if (at >= 0) {
      if (q.after) start = at + 1;
      else end = at;
    } else {
      // A limit deleted since the page before: on from where its model stood (services/list-removals.ts).
      const gone = await removedPlace(deps.database.db, 'rate_limits', projectId, cursor);
      if (!gone) throw new TollgateError('invalid_value', `Invalid value for '${q.after ? 'after' : 'before'}': no rate limit ${cursor} in this project.`, q.after ? 'after' : 'before');
      const past = (r: RateLimitObject) => (q.after ? compareModels(r.model, gone.sortKey) > 0 : compareModels(r.model, gone.sortKey) >= 0);
      const from = all.findIndex(past);
      if (q.after) start = from < 0 ? all.length : from;
      else end = from < 0 ? all.length : from;
    }
  }
  // `before`: the page that ends just before the cursor; has_more says whether more come before it.
  const data = q.before ? all.slice(Math.max(start, end - limit), end) : all.slice(start, start + limit);
  const hasMore = q.before ? end - limit > start : start + limit < end;
  return { object: 'list' as const, data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: hasMore };
}

/**
 * The stored row an id names: a row's own id, or `rl-<model>` for the model's row. `row` is null when the id names a
 * model the project can use (or '*') that has no limit yet; any other id is a 404.
 */
async function resolve(deps: ServiceDeps, projectId: string, id: string, models: readonly string[]): Promise<{ model: string; row: RateRow | null }> {
  const db = deps.database.db;
  const own = await db.selectFrom('rate_limits').selectAll().where('project_id', '=', projectId).where('id', '=', id).executeTakeFirst();
  if (own) return { model: shownModel(own.model), row: own };
  const model = modelOfRateLimitId(id);
  if (model !== null) {
    const row = await db.selectFrom('rate_limits').selectAll().where('project_id', '=', projectId).where('model', '=', storedModel(model)).executeTakeFirst();
    if (row || model === '*' || models.includes(model)) return { model, row: row ?? null };
  }
  throw new TollgateError('not_found', `No rate limit found with id '${id}'. For a model this instance does not list, add one with POST …/rate_limits and {"model": …}.`, 'rate_limit_id');
}

/** The columns a parsed body sets (absent members are left as they are). */
function columnsOf(body: Partial<Record<RateLimitField, number | null>>): Partial<Record<RateLimitField, number | null>> {
  const out: Partial<Record<RateLimitField, number | null>> = {};
  for (const f of RATE_LIMIT_FIELDS) if (body[f] !== undefined) out[f] = body[f];
  return out;
}

/** A stored row's limits, as numbers (PostgreSQL's bigint columns read as strings). */
function limitsOf(row: RateRow): Record<RateLimitField, number | null> {
  return Object.fromEntries(RATE_LIMIT_FIELDS.map((f) => [f, row[f] === null ? null : Number(row[f])])) as Record<RateLimitField, number | null>;
}

function emptyColumns(): Record<RateLimitField, null> {
  return Object.fromEntries(RATE_LIMIT_FIELDS.map((f) => [f, null])) as Record<RateLimitField, null>;
}

/** Adds a rate limit for one model (or '*' / omitted for all models): Tollgate's, beside OpenAI's update. */
export async function createRateLimit(deps: ServiceDeps, orgId: string, projectId: string, body: CreateRateLimitBody, actor: Actor): Promise<RateLimitObject> {
  await getActiveProject(deps, orgId, projectId);
  const model = body.model ?? '*';
  const db = deps.database.db;
  const existing = (ex: Executor) => ex.selectFrom('rate_limits').select('id').where('project_id', '=', projectId).where('model', '=', storedModel(model)).executeTakeFirst();
  const clash = (id: string | undefined) =>
    new TollgateError('conflict', `A rate limit for ${model === '*' ? 'all models' : model} exists: ${id ?? 'another'}; modify it instead.`, 'model');
  const found = await existing(db);
  if (found) throw clash(found.id);
  const now = nowSeconds(deps);
  // A new setting of the model's RPD (a limit deleted earlier may have left the bucket of the same value).
  const row = { id: newId('rl_', deps.randomBytes), model: storedModel(model), ...emptyColumns(), ...columnsOf(body), rpd_rev: newLimitRev(deps) };
  const shown = rowObject(row);
  await asActingOwner(deps, actor, async (trx) => {
    await requireActiveProject(trx, deps, projectId);
    // A create for the model committed since the check above: the same 409 (its unique violation was a 500 on
    // PostgreSQL), with nothing written.
    const res = await trx
      .insertInto('rate_limits')
      .values({ ...row, project_id: projectId, created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(['project_id', 'model']).doNothing())
      .executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) throw clash((await existing(trx))?.id);
    await recordKeyChange(trx, deps, projectId);
    await writeAudit(trx, deps, { orgId, type: 'rate_limit.created', actor, projectId, objectId: shown.id, details: { data: { ...columnsOf(body), model } } });
  });
  deps.changes.projectChanged(projectId);
  return shown;
}

/** OpenAI's POST …/rate_limits/{rate_limit_id}: sets the members given (unlimited or null removes one). */
export async function modifyRateLimit(deps: ServiceDeps, orgId: string, projectId: string, id: string, models: readonly string[], body: ModifyRateLimitBody, actor: Actor) {
  await getActiveProject(deps, orgId, projectId);
  const { model, row } = await resolve(deps, projectId, id, models);
  const patch = columnsOf(body);
  const unchanged = () => (row ? rowObject(row) : toObject(model, shownId(model, null), null));
  // Nothing to set, or only "unlimited" for a model with no limit: no change, nothing written and no entry.
  if (!changesAnything(changedMembers(patch, row ? limitsOf(row) : emptyColumns()))) return unchanged();
  const now = nowSeconds(deps);
  const db = deps.database.db;
  const changed = await asActingOwner(deps, actor, async (trx) => {
    await requireActiveProject(trx, deps, projectId);
    // The model's first limit: a row for it (another request may have made one meanwhile), then the members given.
    if (!row) {
      await trx
        .insertInto('rate_limits')
        .values({ id: newId('rl_', deps.randomBytes), project_id: projectId, model: storedModel(model), ...emptyColumns(), created_at: now, updated_at: now })
        .onConflict((oc) => oc.columns(['project_id', 'model']).doNothing())
        .execute();
    }
    // Compared with the row as it is now, held until this commits: the entry names what this update changes.
    const current = trx.selectFrom('rate_limits').selectAll().where('project_id', '=', projectId).where('model', '=', storedModel(model));
    const before = await (deps.database.dialect === 'postgres' ? current.forUpdate() : current).executeTakeFirstOrThrow();
    const changed = changedMembers(patch, limitsOf(before));
    if (!changesAnything(changed)) return changed;
    // A changed RPD is a new setting, with a bucket of its own rebuilt from the day's requests (core/limit-plan.ts).
    const rpdChanged = 'max_requests_per_1_day' in changed && rpdOf(changed) !== rpdOf(limitsOf(before));
    await trx
      .updateTable('rate_limits')
      .set({ ...changed, updated_at: now, ...(rpdChanged ? { rpd_rev: newLimitRev(deps) } : {}) })
      .where('id', '=', before.id)
      .execute();
    await recordKeyChange(trx, deps, projectId);
    await writeAudit(trx, deps, { orgId, type: 'rate_limit.updated', actor, projectId, objectId: row ? rowObject(row).id : shownId(model, null), details: { changes_requested: { ...changed, model } } });
    return changed;
  });
  if (changesAnything(changed)) deps.changes.projectChanged(projectId);
  const after = await db.selectFrom('rate_limits').selectAll().where('project_id', '=', projectId).where('model', '=', storedModel(model)).executeTakeFirstOrThrow();
  return rowObject(after);
}

/** Removes a stored rate limit (Tollgate's): the model's limit is unlimited again. Allowed in an archived project. */
export async function deleteRateLimit(deps: ServiceDeps, orgId: string, projectId: string, id: string, models: readonly string[], actor: Actor) {
  await getProject(deps, orgId, projectId);
  const { model, row } = await resolve(deps, projectId, id, models);
  const unset = () => new TollgateError('not_found', `No rate limit is set for ${model === '*' ? 'all models' : model} in this project.`, 'rate_limit_id');
  if (!row) throw unset();
  await asActingOwner(deps, actor, async (trx) => {
    // Deleted by another request since the check above: a 404 as a second DELETE gets, and that one wrote the entry.
    const res = await trx.deleteFrom('rate_limits').where('id', '=', row.id).where('project_id', '=', projectId).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw unset();
    await markRemoved(trx, 'rate_limits', projectId, rowObject(row).id, { sortKey: model }, nowSeconds(deps));
    await recordKeyChange(trx, deps, projectId);
    await writeAudit(trx, deps, { orgId, type: 'rate_limit.deleted', actor, projectId, objectId: rowObject(row).id, details: { model } });
  });
  deps.changes.projectChanged(projectId);
  return { object: 'project.rate_limit.deleted' as const, id: rowObject(row).id, deleted: true as const };
}
