import { type ExpressionBuilder, type SelectQueryBuilder, sql } from 'kysely';
import { TollgateError } from '../core/errors.js';
import type { DB } from '../storage/schema.js';
import type { ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { previousSecretEnds } from './key-grace.js';
import { loadOwners, ownerHasProjectAccess, toProjectKeyObject } from './key-objects.js';
import { pageQuery, toPage } from './pagination.js';
import { getProject } from './projects.js';
import { KEY_ORDERS, KEY_STATUSES, type KeyOrder, type KeySearchPage, type KeyStatus } from '../contract/api-keys.js';
import type { NamedObject } from '../contract/dashboard.js';

export type { DashboardKey, KeyOrder, KeySearchPage, KeyStatus } from '../contract/api-keys.js';
export type { NamedObject } from '../contract/dashboard.js';

// The dashboard's key list (issue 19): a project's keys found by name, id or redacted value, filtered by status,
// sorted, and paged by cursor, so a team with hundreds of keys sees the ones it looks for. The OpenAI list
// (GET …/api_keys) stays as OpenAI shapes it; this is a session-only read beside it.


type Q = SelectQueryBuilder<DB, 'api_keys', object>;
type Eb = ExpressionBuilder<DB, 'api_keys'>;

const invalid = (param: string, message: string) => new TollgateError('invalid_value', `Invalid value for '${param}': ${message}`, param);

function single(query: Record<string, unknown>, name: string): string | null {
  const v = query[name];
  if (v === undefined || v === '') return null;
  if (typeof v !== 'string') throw invalid(name, 'expected a single value.');
  return v;
}

function statusList(query: Record<string, unknown>): KeyStatus[] {
  const raw = query.status ?? query['status[]'];
  const items = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).flatMap((v) => String(v).split(',')).map((s) => s.trim()).filter(Boolean);
  for (const s of items) if (!(KEY_STATUSES as readonly string[]).includes(s)) throw invalid('status', `'${s}' is not one of ${KEY_STATUSES.join(', ')}.`);
  return [...new Set(items)] as KeyStatus[];
}

/** LIKE pattern of a literal substring: % _ and the escape character itself are escaped (lower-cased by the database, as the column is). */
function containing(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function statusCondition(eb: Eb, status: KeyStatus, now: number) {
  // Expiry is computed, not stored (key-objects.ts displayStatus): an active row past its expiry is expired.
  if (status === 'active') return eb.and([eb('status', '=', 'active'), eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])]);
  if (status === 'expired') return eb.and([eb('status', '=', 'active'), eb('expires_at', '<=', now)]);
  return eb('status', '=', status);
}

// Names sort by code point on both databases (SQLite's BINARY; PostgreSQL's own collation could be a locale's).
const lowerNameOf = (dialect: 'sqlite' | 'postgres') => (dialect === 'postgres' ? sql<string>`lower(name) collate "C"` : sql<string>`lower(name)`);
const lastUsed = sql<number>`coalesce(last_used_at, -1)`;

/** The query parameters searchProjectKeys reads; the route refuses any other. */
export const KEY_SEARCH_PARAMS = ['limit', 'after', 'search', 'status', 'status[]', 'order', 'owner_id'] as const;

/** The project's keys matching `search` (name, id, redacted value), `status` (any of), `owner_id`; sorted by `order`, paged by `after`. */
export async function searchProjectKeys(deps: ServiceDeps, orgId: string, projectId: string, query: Record<string, unknown>): Promise<KeySearchPage> {
  await getProject(deps, orgId, projectId);
  const { limit, after } = pageQuery(query);
  const search = single(query, 'search');
  if (search !== null && search.length > 256) throw invalid('search', 'at most 256 characters.');
  const statuses = statusList(query);
  const order = (single(query, 'order') ?? 'created_desc') as KeyOrder;
  if (!(KEY_ORDERS as readonly string[]).includes(order)) throw invalid('order', `expected one of ${KEY_ORDERS.join(', ')}.`);
  const ownerId = single(query, 'owner_id');
  const now = nowSeconds(deps);
  const db = deps.database.db;
  const lowerName = lowerNameOf(deps.database.dialect);

  const matching = (q: Q): Q => {
    let out = q.where('org_id', '=', orgId).where('project_id', '=', projectId).where('kind', '=', 'project');
    if (ownerId) out = out.where('owner_id', '=', ownerId);
    if (search) {
      const pattern = containing(search.trim());
      out = out.where((eb) =>
        eb.or([
          sql<boolean>`lower(name) like lower(${pattern}) escape '\\'`,
          sql<boolean>`lower(id) like lower(${pattern}) escape '\\'`,
          sql<boolean>`lower(redacted_value) like lower(${pattern}) escape '\\'`,
        ]),
      );
    }
    return out;
  };
  const filtered = (q: Q): Q => (statuses.length ? matching(q).where((eb) => eb.or(statuses.map((s) => statusCondition(eb, s, now)))) : matching(q));

  let q = filtered(db.selectFrom('api_keys'));
  if (after) {
    // The cursor row's own lower(name) from the database: the database's lower() is what the order uses.
    const from = await matching(db.selectFrom('api_keys'))
      .select(['seq', 'last_used_at', sql<string>`lower(name)`.as('lower_name')])
      .where('id', '=', after)
      .executeTakeFirst();
    if (!from) throw invalid('after', `no key ${after} in this project.`);
    const seq = from.seq;
    if (order === 'created_desc') q = q.where('seq', '<', seq);
    else if (order === 'created_asc') q = q.where('seq', '>', seq);
    else if (order === 'name') {
      const name = from.lower_name;
      q = q.where((eb) => eb.or([eb(lowerName, '>', name), eb.and([eb(lowerName, '=', name), eb('seq', '>', seq)])]));
    } else {
      const used = from.last_used_at ?? -1;
      q = q.where((eb) => eb.or([eb(lastUsed, '<', used), eb.and([eb(lastUsed, '=', used), eb('seq', '<', seq)])]));
    }
  }
  if (order === 'created_desc') q = q.orderBy('seq', 'desc');
  else if (order === 'created_asc') q = q.orderBy('seq', 'asc');
  else if (order === 'name') q = q.orderBy(lowerName, 'asc').orderBy('seq', 'asc');
  else q = q.orderBy(lastUsed, 'desc').orderBy('seq', 'desc');
  const rows = await q
    .selectAll('api_keys')
    .select((eb) => ownerHasProjectAccess(eb).as('owner_access'))
    .limit(limit + 1)
    .execute();

  const [owners, graces, counted] = await Promise.all([
    loadOwners(db, rows),
    previousSecretEnds(db, rows.slice(0, limit).map((r) => r.id), now),
    matching(db.selectFrom('api_keys'))
      .select(['status', sql<number>`sum(case when expires_at <= ${now} then 1 else 0 end)`.as('past'), sql<number>`count(*)`.as('n')])
      .groupBy('status')
      .execute(),
  ]);
  const status_counts: Record<KeyStatus, number> = { active: 0, expired: 0, revoked: 0, exposed: 0, suspended: 0 };
  for (const c of counted) {
    const past = c.status === 'active' ? Number(c.past) : 0;
    status_counts[c.status] += Number(c.n) - past;
    status_counts.expired += past;
  }
  const total = statuses.length ? statuses.reduce((sum, s) => sum + status_counts[s], 0) : Object.values(status_counts).reduce((a, b) => a + b, 0);
  const page = toPage(
    rows.map((r) => ({ ...toProjectKeyObject(r, owners, now), previous_secret_expires_at: graces.get(r.id) ?? null })),
    limit,
  );
  return { ...page, total, status_counts };
}

const MAX_NAMES = 200;

/**
 * Names of the ids given (audit entries, usage groups and CSV exports show names beside ids). Unknown ids are left
 * out; admin keys are named to organization owners only, as only they can list them.
 */
export async function resolveNames(deps: ServiceDeps, orgId: string, ids: string[], isOwner: boolean): Promise<NamedObject[]> {
  const wanted = [...new Set(ids.filter((id) => id.length > 0 && id.length <= 100))];
  if (wanted.length > MAX_NAMES) throw invalid('ids', `at most ${MAX_NAMES} ids at a time.`);
  if (wanted.length === 0) return [];
  const db = deps.database.db;
  const of = (prefix: string) => wanted.filter((id) => id.startsWith(prefix));
  const out: NamedObject[] = [];
  const keys = of('key_');
  if (keys.length) {
    const rows = await db.selectFrom('api_keys').select(['id', 'kind', 'name', 'redacted_value', 'project_id']).where('org_id', '=', orgId).where('id', 'in', keys).execute();
    for (const r of rows) {
      if (r.kind === 'admin' && !isOwner) continue;
      out.push({ id: r.id, object: r.kind === 'admin' ? 'admin_api_key' : 'api_key', name: r.name, detail: r.redacted_value, project_id: r.project_id });
    }
  }
  const users = of('user-');
  if (users.length) {
    const rows = await db.selectFrom('users').select(['id', 'name', 'email']).where('org_id', '=', orgId).where('id', 'in', users).execute();
    for (const r of rows) out.push({ id: r.id, object: 'user', name: r.name, detail: r.email, project_id: null });
  }
  const projects = of('proj_');
  if (projects.length) {
    const rows = await db.selectFrom('projects').select(['id', 'name']).where('org_id', '=', orgId).where('id', 'in', projects).execute();
    for (const r of rows) out.push({ id: r.id, object: 'project', name: r.name, detail: null, project_id: r.id });
  }
  const accounts = of('svc_acct_');
  if (accounts.length) {
    const rows = await db
      .selectFrom('service_accounts as s')
      .innerJoin('projects as p', 'p.id', 's.project_id')
      .select(['s.id as id', 's.name as name', 's.project_id as project_id'])
      .where('p.org_id', '=', orgId)
      .where('s.id', 'in', accounts)
      .execute();
    for (const r of rows) out.push({ id: r.id, object: 'service_account', name: r.name, detail: null, project_id: r.project_id });
  }
  return out;
}
