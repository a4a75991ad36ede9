import type { Database } from '../storage/database.js';
import type { KeyChangeListener } from '../core/ports.js';
import { SeqGaps } from '../core/seq-gaps.js';

/** How long a missing seq is asked for again: far longer than any of Tollgate's write transactions. */
const GAP_WINDOW_MS = 5 * 60_000;
/** The most missing seqs held (and so the most in one poll's `IN` list). */
const MAX_GAPS = 1000;
/** The most rows one poll reads; the rest come with the next. */
const BATCH = 10_000;

/**
 * Polls the key_changes table and forwards each change to the listener. This is how a running server
 * learns of CLI writes and, scaled out, of other instances' writes (Redis pub/sub only makes it faster).
 * On PostgreSQL a seq is taken at insert but seen only at commit, so a lower seq can commit after a higher one was
 * polled: the seqs skipped are asked for again until they show up or the window passes (core/seq-gaps.ts).
 */
export class ChangeFeed {
  private gaps: SeqGaps;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private readonly intervalMs: number;
  private readonly clock: () => number;
  private readonly onError: (err: unknown) => void;

  constructor(
    private readonly database: Database,
    private readonly listener: KeyChangeListener,
    opts: { intervalMs: number; clock: () => number; onError?: (err: unknown) => void },
  ) {
    this.intervalMs = opts.intervalMs;
    this.clock = opts.clock;
    this.onError = opts.onError ?? (() => {});
    this.gaps = new SeqGaps({ max: MAX_GAPS, windowMs: GAP_WINDOW_MS });
  }

  async start(): Promise<void> {
    await this.init();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  /**
   * Starts from the newest seq, with the missing ones among the last MAX_GAPS below it awaited: a transaction open
   * now may hold one, and its change must still reach the caches this instance fills from here on.
   */
  private async init(): Promise<void> {
    const row = await this.database.db
      .selectFrom('key_changes')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .executeTakeFirst();
    const top = Number(row?.seq ?? 0);
    const from = Math.max(0, top - MAX_GAPS);
    const seen = await this.database.db.selectFrom('key_changes').select('seq').where('seq', '>', from).orderBy('seq').execute();
    this.gaps = new SeqGaps({ max: MAX_GAPS, windowMs: GAP_WINDOW_MS }, from);
    const now = this.clock();
    for (const r of seen) this.gaps.see(Number(r.seq), now);
  }

  /** One poll; exported for tests. Errors (database down) are reported and retried next tick. */
  async poll(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      const now = this.clock();
      const last = this.gaps.last;
      const awaited = this.gaps.awaited(now);
      const rows = await this.database.db
        .selectFrom('key_changes')
        .select(['seq', 'key_id'])
        .where((eb) => (awaited.length === 0 ? eb('seq', '>', last) : eb.or([eb('seq', '>', last), eb('seq', 'in', awaited)])))
        .orderBy('seq')
        .limit(BATCH)
        .execute();
      let delivered = 0;
      for (const r of rows) {
        if (!this.gaps.see(Number(r.seq), now)) continue;
        delivered++;
        // Projects and the organization (its own limits) invalidate policies; runtime providers (and their credentials)
        // reload the provider directory; anything else is a key.
        if (r.key_id.startsWith('proj_') || r.key_id.startsWith('org-')) this.listener.projectChanged(r.key_id);
        else if (r.key_id.startsWith('prov_')) this.listener.providerChanged?.(r.key_id);
        else this.listener.keyChanged(r.key_id);
      }
      // Seqs dropped for the bound may still commit unseen: what was cached is forgotten and read again.
      if (this.gaps.takeOverflow()) this.listener.everythingChanged?.();
      return delivered;
    } catch (err) {
      this.onError(err);
      return 0;
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
