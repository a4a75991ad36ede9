import type { KeyRecord } from '../core/verify.js';
import type { KeyChangeListener } from '../services/context.js';

export interface KeyCacheStats {
  hits: number;
  misses: number;
  size: number;
}

interface Entry {
  record: KeyRecord | null;
  /** For negative entries only: when to look again (ms). */
  until: number;
}

/**
 * Bounded LRU of key records by secret digest, filled on miss, invalidated on change.
 * An epoch counter guards the fill race: a load that started before an invalidation is not stored,
 * so a revoked key can never be re-cached as active.
 */
export class KeyCache implements KeyChangeListener {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<KeyRecord | null>>();
  private epoch = 0;
  readonly stats = { hits: 0, misses: 0 };

  constructor(
    private readonly load: (secretHash: string) => Promise<KeyRecord | null>,
    private readonly opts: { max: number; negativeTtlMs: number; clock: () => number },
  ) {}

  /** The record for a digest: from memory when known, else one (shared) database lookup. */
  get(secretHash: string): KeyRecord | null | Promise<KeyRecord | null> {
    const hit = this.entries.get(secretHash);
    if (hit && (hit.record || hit.until > this.opts.clock())) {
      this.stats.hits++;
      // Refresh recency: Map iteration order is insertion order.
      this.entries.delete(secretHash);
      this.entries.set(secretHash, hit);
      return hit.record;
    }
    this.stats.misses++;
    const pending = this.inflight.get(secretHash);
    if (pending) return pending;
    const epoch = this.epoch;
    const p = this.load(secretHash).then(
      (record) => {
        this.inflight.delete(secretHash);
        if (epoch === this.epoch) this.store(secretHash, record);
        return record;
      },
      (err) => {
        this.inflight.delete(secretHash);
        throw err;
      },
    );
    this.inflight.set(secretHash, p);
    return p;
  }

  private store(secretHash: string, record: KeyRecord | null): void {
    this.entries.set(secretHash, { record, until: record ? 0 : this.opts.clock() + this.opts.negativeTtlMs });
    if (this.entries.size > this.opts.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  keyChanged(keyId: string): void {
    this.epoch++;
    // A new key's digest may sit in the negative cache: negative entries go too.
    for (const [hash, e] of this.entries) if (!e.record || e.record.id === keyId) this.entries.delete(hash);
  }

  projectChanged(projectId: string): void {
    this.epoch++;
    for (const [hash, e] of this.entries) if (!e.record || e.record.projectId === projectId) this.entries.delete(hash);
  }

  get size(): number {
    return this.entries.size;
  }
}
