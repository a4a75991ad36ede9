import { type Kysely, sql } from 'kysely';
import type { DB } from '../storage/schema.js';
import { TollgateError } from '../core/errors.js';
import type { ListPage } from '../contract/lists.js';
import { type RemovalList, removedPlace } from './list-removals.js';
import { decimalCount } from './query-params.js';

export type { ListPage } from '../contract/lists.js';

export interface PageQuery {
  limit: number;
  after: string | null;
}

/** Reads `limit` (1–100, default 20) and `after` from a query string object. */
export function pageQuery(query: Record<string, unknown>, defaultLimit = 20): PageQuery {
  const rawLimit = query.limit;
  let limit = defaultLimit;
  if (rawLimit !== undefined && rawLimit !== '') {
    const n = typeof rawLimit === 'string' ? decimalCount(rawLimit) : null;
    if (n === null || n < 1 || n > 100) {
      throw new TollgateError('invalid_value', "Invalid value for 'limit': expected an integer from 1 to 100.", 'limit');
    }
    limit = n;
  }
  const after = typeof query.after === 'string' && query.after !== '' ? query.after : null;
  return { limit, after };
}

/** Builds the envelope from `limit + 1` fetched rows. */
export function toPage<T extends { id: string }>(rows: T[], limit: number): ListPage<T> {
  const data = rows.slice(0, limit);
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: rows.length > limit,
  };
}

/** Tables listed with an `after` cursor: ordered by `seq`, addressed by `id`. */
type CursorTable = 'projects' | 'api_keys' | 'users' | 'service_accounts' | 'audit_logs' | 'webhooks' | 'invites' | 'runtime_providers' | 'provider_credentials';

/**
 * The `seq` of the row an `after` cursor names, or null without a cursor; an unknown cursor is a 400. `scope` names the
 * columns the list is filtered by (`{ project_id }`, `{ kind: 'admin' }`): a cursor naming a row outside the list (a key
 * of another project, a project key on the admin keys' list) is refused as unknown, so a list never tells whether an
 * object it does not hold exists. `removed` names the marker list of a table whose rows are deleted outright
 * (services/list-removals.ts): a row deleted since the page before is where it stood.
 */
export async function afterSeq(
  db: Kysely<DB>,
  table: CursorTable,
  after: string | null,
  what: string,
  scope: Record<string, string> = {},
  removed?: { list: RemovalList; scopeId: string },
): Promise<number | null> {
  if (!after) return null;
  let q = db.selectFrom(table as 'projects').select('seq').where('id', '=', after);
  for (const [column, value] of Object.entries(scope)) q = q.where(sql.ref(column), '=', value);
  const row = (await q.executeTakeFirst()) ?? (removed ? await removedPlace(db, removed.list, removed.scopeId, after) : undefined);
  if (!row) throw new TollgateError('invalid_value', `Invalid value for 'after': no ${what} ${after}${Object.keys(scope).length ? ' in this list' : ''}.`, 'after');
  return Number(row.seq);
}
