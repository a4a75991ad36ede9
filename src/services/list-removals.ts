import type { Executor } from './context.js';

// Where a removed item of a list stood (table list_removals), for the lists whose rows are deleted outright: spend
// alerts, a project's members and rate limits, runtime providers and their credentials. OpenAI's SDKs page with the last id of the page before, so a loop
// that lists and deletes names a deleted item as `after`; the list goes on from where that item was. A marker is
// scoped to the one list the item was in, so an id of another list stays an unknown cursor (400) and no list tells of
// another's objects. The other lists keep their removed rows (deleted_at, status) and need none.

/** The lists that keep removal markers. */
export type RemovalList = 'spend_alerts' | 'project_members' | 'rate_limits' | 'runtime_providers' | 'provider_credentials';

/** Where an item stood: its sequence in a list ordered by it, or its name in one ordered by name. */
export interface ListPlace {
  seq: number;
  sortKey: string;
}

/**
 * How long a marker is kept: far past any loop that lists and deletes (seconds), short enough that the table holds a
 * month's removals, not every removal ever. A cursor naming an item removed longer ago is an unknown cursor (400).
 */
export const REMOVAL_MARKER_KEEP_SECONDS = 30 * 86_400;

/**
 * Records, in the caller's transaction, where a removed item stood (an item removed again moves its marker), and drops
 * every list's markers older than REMOVAL_MARKER_KEEP_SECONDS: the pruning rides on the removals that make markers, so
 * the table holds about a month's removals (a scan of it per removal, a rare admin action).
 */
export async function markRemoved(ex: Executor, list: RemovalList, scopeId: string, itemId: string, place: Partial<ListPlace>, nowSeconds: number): Promise<void> {
  const values = { seq: place.seq ?? 0, sort_key: place.sortKey ?? '', removed_at: nowSeconds };
  await ex.deleteFrom('list_removals').where('removed_at', '<', nowSeconds - REMOVAL_MARKER_KEEP_SECONDS).execute();
  await ex
    .insertInto('list_removals')
    .values({ list, scope_id: scopeId, item_id: itemId, ...values })
    .onConflict((oc) => oc.columns(['list', 'scope_id', 'item_id']).doUpdateSet(values))
    .execute();
}

/** Where an item removed from this list stood, or undefined when it was never in it. */
export async function removedPlace(ex: Executor, list: RemovalList, scopeId: string, itemId: string): Promise<ListPlace | undefined> {
  const row = await ex
    .selectFrom('list_removals')
    .select(['seq', 'sort_key'])
    .where('list', '=', list)
    .where('scope_id', '=', scopeId)
    .where('item_id', '=', itemId)
    .executeTakeFirst();
  return row ? { seq: Number(row.seq), sortKey: row.sort_key } : undefined;
}
