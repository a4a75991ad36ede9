import type { ServerResponse } from 'node:http';
import type { KeyChangeListener } from '../../core/ports.js';
import { isPending } from '../../core/maybe-promise.js';
import type { KeyRecord } from '../../core/verify.js';
import { checkSecret, type SecretCheck } from '../../services/verify-secret.js';
import { presentedKey } from '../shared/bearer.js';
import type { GatewayContext } from './gateway-context.js';
import { cutByGateway } from './deadlines.js';
import type { GatewayRequest } from './request.js';

/** A request under way: its key, the headers that presented it, and its client's response. */
export interface Live {
  readonly g: GatewayContext;
  readonly record: KeyRecord;
  readonly head: GatewayRequest;
  readonly res: ServerResponse;
  /** When its key (or the secret it presented, in a rotation's grace) expires while it runs: a check then. */
  timer?: NodeJS.Timeout;
  /** Ended (removed): a check still under way, or a timer, does nothing more. */
  ended?: boolean;
}

/** Expiries further off than this are not watched: no request runs that long (the longest deadline is minutes). */
const EXPIRY_WATCH_MS = 24 * 3_600_000;

/**
 * The gateway's requests under way, by key. A leak is contained in seconds only if what a key already started stops
 * too: a stream (or a long generation) went on for up to the provider's whole deadline after its key was revoked,
 * found exposed, suspended or its project archived. On each key or project change this instance hears of (its own
 * writes, the change feed, other instances through Redis), the requests of the keys it touches are checked again as a
 * new request would be (core/verify: status, expiry, project, IP rules), and those the key no longer lets through
 * are cut as a client that hangs up is (and a request whose key expires while it runs, when it expires): their upstream is read on when its usage must still be billed (proxy.ts,
 * watchHangUp), never relayed further. A change of scopes or limits leaves a request already admitted alone.
 */
export class LiveRequests implements KeyChangeListener {
  /** One request as itself (most keys have one under way), more as a Set. */
  private readonly byKey = new Map<string, Live | Set<Live>>();
  readonly stats = { cut: 0 };

  /** Notes a request under way; `remove` it once the request ended. */
  add(g: GatewayContext, record: KeyRecord, head: GatewayRequest, res: ServerResponse): Live {
    const live: Live = { g, record, head, res };
    this.watch(live, record);
    const had = this.byKey.get(record.id);
    if (had === undefined) this.byKey.set(record.id, live);
    else if (had instanceof Set) had.add(live);
    else this.byKey.set(record.id, new Set([had, live]));
    return live;
  }

  /**
   * An expiry is no change anyone is told of: the request is checked again when it comes. Armed at the start from the
   * key's record, and again after each check from the changed record (an expiry set, moved earlier, or a rotation's grace
   * begun while the request runs: found by a review, a stream ran on past an expiry set after it began).
   */
  private watch(live: Live, record: KeyRecord): void {
    if (live.timer) clearTimeout(live.timer);
    live.timer = undefined;
    if (live.ended) return;
    const ends = earliest(record.expiresAt, record.secretExpiresAt);
    if (ends === null) return;
    const inMs = ends * 1000 - live.g.app.deps.clock();
    if (inMs >= EXPIRY_WATCH_MS) return;
    live.timer = setTimeout(() => this.check(live), Math.max(0, inMs) + 1);
    live.timer.unref();
  }

  remove(live: Live): void {
    live.ended = true;
    if (live.timer) clearTimeout(live.timer);
    const id = live.record.id;
    const had = this.byKey.get(id);
    if (had === live) this.byKey.delete(id);
    else if (had instanceof Set) {
      had.delete(live);
      if (had.size === 1) this.byKey.set(id, had.values().next().value as Live);
    }
  }

  /**
   * Waits until no request is under way (each is removed once it has been metered), or `ms` have passed; returns how
   * many still are. A shutdown stops the usage recorder only after this (gateway-runtime.ts, closeGateway).
   */
  async settled(ms: number): Promise<number> {
    const until = performance.now() + ms;
    while (this.byKey.size > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
    return this.size;
  }

  get size(): number {
    let n = 0;
    for (const v of this.byKey.values()) n += v instanceof Set ? v.size : 1;
    return n;
  }

  keyChanged(keyId: string): void {
    const had = this.byKey.get(keyId);
    if (had === undefined) return;
    for (const live of had instanceof Set ? [...had] : [had]) this.check(live);
  }

  projectChanged(projectId: string): void {
    for (const live of this.all()) if (live.record.projectId === projectId) this.check(live);
  }

  everythingChanged(): void {
    for (const live of this.all()) this.check(live);
  }

  private all(): Live[] {
    const out: Live[] = [];
    for (const v of this.byKey.values()) {
      if (v instanceof Set) out.push(...v);
      else out.push(v);
    }
    return out;
  }

  /** Checks the request's key again as a new request's (the key cache reads the changed record); cuts it if refused. */
  private check(live: Live): void {
    if (live.ended || live.res.destroyed) return;
    const secret = presentedKey(live.head, true);
    if (typeof secret !== 'string') return;
    const { g } = live;
    const decide = (c: SecretCheck) => {
      if (live.ended || live.res.destroyed) return;
      if (c.ok) return this.watch(live, c.record);
      this.stats.cut++;
      cutByGateway(live.res);
    };
    try {
      const checked = checkSecret(g.app.keyCache, secret, Math.floor(g.app.deps.clock() / 1000), live.head.ip);
      if (isPending(checked)) {
        // The record could not be read (the database away): the request goes on, as it would have been let in.
        checked.then(decide, () => undefined);
      } else decide(checked);
    } catch {
      // as above
    }
  }
}

function earliest(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}
