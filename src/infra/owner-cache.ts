import type { KeyChangeListener } from '../core/ports.js';
import type { ObjectOwner } from '../core/ports.js';
import type { MaybePromise } from '../core/maybe-promise.js';

const CHANGE_PREFIX = 'obj:';

/**
 * Owners of upstream objects in memory (bounded, least recently filled dropped first), loaded on a miss with one
 * query for every missing id. An operator's assignment reaches every instance through the change feed (`obj:<id>`);
 * an epoch guards the fill race as in the key cache, so a load that started before a change is not kept. Ids known to
 * have no owner are remembered only briefly: an object can gain one (created, produced, assigned) at any time.
 */
export class OwnerCache implements KeyChangeListener {
  private readonly entries = new Map<string, ObjectOwner>();
  private readonly unowned = new Map<string, number>();
  private epoch = 0;

  constructor(
    private readonly load: (ids: string[]) => Promise<Map<string, ObjectOwner>>,
    private readonly opts: { max: number; unownedTtlMs: number; clock: () => number },
  ) {}

  /** The owners of `ids` (null: nobody's): synchronous when all are in memory, else one load for the rest. */
  owners(ids: readonly string[]): MaybePromise<Map<string, ObjectOwner | null>> {
    const out = new Map<string, ObjectOwner | null>();
    const missing: string[] = [];
    const now = this.opts.clock();
    for (const id of ids) {
      const hit = this.entries.get(id);
      if (hit) out.set(id, hit);
      else if ((this.unowned.get(id) ?? 0) > now) out.set(id, null);
      else missing.push(id);
    }
    if (missing.length === 0) return out;
    const epoch = this.epoch;
    const wanted = missing;
    return this.load(wanted).then((found) => {
      const keep = epoch === this.epoch;
      for (const id of wanted) {
        const owner = found.get(id) ?? null;
        out.set(id, owner);
        if (keep) {
          if (owner) this.remember(id, owner);
          else this.rememberUnowned(id);
        }
      }
      return out;
    });
  }

  /** Remembers an owner this instance has just recorded. */
  remember(id: string, owner: ObjectOwner): void {
    this.unowned.delete(id);
    this.entries.delete(id);
    this.entries.set(id, owner);
    if (this.entries.size > this.opts.max) this.entries.delete(this.entries.keys().next().value as string);
  }

  private rememberUnowned(id: string): void {
    this.unowned.set(id, this.opts.clock() + this.opts.unownedTtlMs);
    if (this.unowned.size > this.opts.max) this.unowned.delete(this.unowned.keys().next().value as string);
  }

  /** Forgets an id (deleted through this instance, or changed by an operator). */
  forget(id: string): void {
    this.epoch++;
    this.entries.delete(id);
    this.unowned.delete(id);
  }

  keyChanged(key: string): void {
    if (key.startsWith(CHANGE_PREFIX)) this.forget(key.slice(CHANGE_PREFIX.length));
  }

  projectChanged(): void {}

  everythingChanged(): void {
    this.epoch++;
    this.entries.clear();
    this.unowned.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
