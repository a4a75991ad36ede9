import type { ColumnType, Generated } from 'kysely';

/** An object of the upstream account and the project it belongs to (see migrations-objects.ts). */
export interface UpstreamObjectsTable {
  seq: Generated<number>;
  object_id: string;
  /** Its type (core/object-families.ts): file, batch, response, … */
  type: string;
  project_id: string;
  /** The key whose request created it; null when an operator assigned it. */
  api_key_id: string | null;
  /** created (the answer to the project's request), produced (made by the upstream for it), assigned (by an operator). */
  source: 'created' | 'produced' | 'assigned';
  /** The upstream's created_at (unix seconds), when known. */
  created_at: number | null;
  recorded_at: number;
  /** Set when the project deleted it through Tollgate; the row stays, so the id never passes to another project. */
  deleted_at: number | null;
  /**
   * The provider credential whose account holds it (the id usage events name in `credential`): every request naming it
   * is sent with that credential. Null when not known (recorded before 107, assigned by an operator, no key): not pinned.
   */
  credential: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Tables of upstream object ownership. */
export interface ObjectTables {
  upstream_objects: UpstreamObjectsTable;
}
