import type { KeyRecord } from '../core/verify.js';
import type { KeyChangeListener } from '../core/ports.js';
import type { MaybePromise } from '../core/maybe-promise.js';

/**
 * Bounded LRU of key records by secret digest, filled on miss, invalidated on change.
 * An epoch counter guards the fill race: a load that started before an invalidation is not stored,
 * so a revoked key can never be re-cached as active. Records are indexed by key and project, so a change costs
 * the entries it touches, not a scan of the cache (every key creation is a change, on every instance).
 */
export class KeyCache implements KeyChangeListener {
  private readonly entries = new Map<string, KeyRecord>();
  /** Digests known not to be a key, until when (ms): guessing traffic does not reach the database each time. */
  private readonly unknown = new Map<string, number>();
  /** Digests by key id: one digest as itself (a key has one secret but during a rotation's grace), more as a Set. */
  private readonly byKey = new Map<string, string | Set<string>>();
  private readonly byProject = new Map<string, string | Set<string>>();
  /** Lookups under way, with the epoch each started in: only one started since the last change may be joined. */
  private readonly inflight = new Map<string, { promise: Promise<KeyRecord | null>; epoch: number }>();
  /** The lookup count at which each entry last moved to the back of `entries` (its recency). */
  private readonly movedAt = new Map<string, number>();
  private lookups = 0;
  private epoch = 0;
  readonly stats = { hits: 0, misses: 0 };

  constructor(
    private readonly load: (secretHash: string) => Promise<KeyRecord | null>,
    private readonly opts: { max: number; negativeTtlMs: number; clock: () => number },
  ) {}

  /** The cached record for a digest, or undefined; never a lookup. */
  peek(secretHash: string): KeyRecord | undefined {
    const hit = this.entries.get(secretHash);
    if (hit) {
      this.stats.hits++;
      // Recency is Map insertion order. Moving an entry to the back on every hit churned the Map's table (a deleted
      // slot per request, then rehashes) and cost the gateway GC time; an entry moved within the last max/2 lookups
      // is still in the newer half, so it is moved again only after that: evicted entries remain the least recent.
      const lookup = ++this.lookups;
      if (lookup - (this.movedAt.get(secretHash) ?? 0) > this.opts.max / 2) {
        this.entries.delete(secretHash);
        this.entries.set(secretHash, hit);
        this.movedAt.set(secretHash, lookup);
      }
    }
    return hit;
  }

  /** The record for a digest: from memory when known, else one (shared) database lookup. */
  get(secretHash: string): MaybePromise<KeyRecord | null> {
    const hit = this.peek(secretHash);
    if (hit) return hit;
    const until = this.unknown.get(secretHash);
    if (until !== undefined && until > this.opts.clock()) {
      this.stats.hits++;
      return null;
    }
    this.stats.misses++;
    // A lookup started before a change (a revoke) may have read the row before it committed: a request arriving
    // after the change starts its own instead of being handed that answer.
    const pending = this.inflight.get(secretHash);
    if (pending && pending.epoch === this.epoch) return pending.promise;
    const epoch = this.epoch;
    const settled = (): void => {
      if (this.inflight.get(secretHash) === entry) this.inflight.delete(secretHash);
    };
    const promise = this.load(secretHash).then(
      (record) => {
        settled();
        if (epoch === this.epoch) this.store(secretHash, record);
        return record;
      },
      (err) => {
        settled();
        throw err;
      },
    );
    const entry = { promise, epoch };
    this.inflight.set(secretHash, entry);
    return promise;
  }

  private store(secretHash: string, record: KeyRecord | null): void {
    if (!record) {
      this.unknown.set(secretHash, this.opts.clock() + this.opts.negativeTtlMs);
      if (this.unknown.size > this.opts.max) this.unknown.delete(this.unknown.keys().next().value as string);
      return;
    }
    this.unknown.delete(secretHash);
    this.entries.set(secretHash, record);
    this.movedAt.set(secretHash, this.lookups);
    index(this.byKey, record.id, secretHash);
    if (record.projectId) index(this.byProject, record.projectId, secretHash);
    if (this.entries.size > this.opts.max) this.drop(this.entries.keys().next().value as string);
  }

  private drop(secretHash: string): void {
    const record = this.entries.get(secretHash);
    if (!record) return;
    this.entries.delete(secretHash);
    this.movedAt.delete(secretHash);
    unindex(this.byKey, record.id, secretHash);
    if (record.projectId) unindex(this.byProject, record.projectId, secretHash);
  }

  keyChanged(keyId: string): void {
    this.epoch++;
    // A new key's digest may sit among the unknown ones.
    this.unknown.clear();
    for (const hash of digestsOf(this.byKey, keyId)) this.drop(hash);
  }

  projectChanged(projectId: string): void {
    this.epoch++;
    this.unknown.clear();
    for (const hash of digestsOf(this.byProject, projectId)) this.drop(hash);
  }

  everythingChanged(): void {
    this.epoch++;
    this.unknown.clear();
    this.entries.clear();
    this.movedAt.clear();
    this.byKey.clear();
    this.byProject.clear();
  }

  get changes(): number {
    return this.epoch;
  }

  get size(): number {
    return this.entries.size;
  }
}

// An index entry is one digest as a string until a second one joins it: a Set per key was ~150 bytes of the heap for
// every key in use (1.5 MB with 10,000 keys), almost always holding one digest.
type Digests = string | Set<string>;

function index(map: Map<string, Digests>, id: string, hash: string): void {
  const had = map.get(id);
  if (had === undefined || had === hash) map.set(id, hash);
  else if (typeof had === 'string') map.set(id, new Set([had, hash]));
  else had.add(hash);
}

function unindex(map: Map<string, Digests>, id: string, hash: string): void {
  const had = map.get(id);
  if (had === undefined) return;
  if (typeof had === 'string') {
    if (had === hash) map.delete(id);
    return;
  }
  had.delete(hash);
  if (had.size === 0) map.delete(id);
}

/** A copy of the digests indexed under an id (dropping them edits the index). */
function digestsOf(map: Map<string, Digests>, id: string): string[] {
  const had = map.get(id);
  return had === undefined ? [] : typeof had === 'string' ? [had] : [...had];
}
