import type { UsageSink } from '../core/ports.js';
import { rawUsageSince } from '../core/usage-retention.js';

export interface UsageRetentionOptions {
  /** Days raw usage events are kept (TOLLGATE_USAGE_RETENTION_DAYS); null: forever, and this does nothing. */
  days: number | null;
  clock: () => number;
  /** Time between passes (default a minute). */
  intervalMs?: number;
  /** Events deleted per transaction (default 1,000). */
  batchSize?: number;
  /** Pause between two batches of a pass, so usage writes and the requests' own queries go between them (default 20 ms). */
  pauseMs?: number;
  onError?: (err: unknown) => void;
  /** Told of each pass that deleted events: how many, and before when. */
  onPass?: (deleted: number, beforeMs: number) => void;
}

/**
 * Deletes raw usage events older than the retention window, off the request path: a pass every minute deletes them in
 * small batches (one transaction each, through the usage sink: on SQLite in its worker thread, between two usage
 * writes) with a pause between batches, up to the window's start at the pass's beginning. The rollups are kept for
 * good; only minute buckets (and refusal reasons) need the raw events. Measured sizes and the reuse of the space
 * freed: docs/usage-api.md.
 */
export class UsageRetention {
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<number> | null = null;
  private stopped = false;
  readonly stats = { passes: 0, deleted: 0 };

  constructor(
    private readonly sink: Pick<UsageSink, 'deleteEventsBefore'>,
    private readonly opts: UsageRetentionOptions,
  ) {}

  start(): void {
    if (this.opts.days === null) return;
    this.stopped = false;
    const tick = () => void this.runOnce().catch((err) => this.opts.onError?.(err));
    // The first pass soon after start (a backlog after an upgrade or a long stop), then one a minute.
    this.timers = [setTimeout(tick, 1000), setInterval(tick, this.opts.intervalMs ?? 60_000)];
    for (const t of this.timers) t.unref();
  }

  /** One pass: deletes every raw event before the window's start, batch by batch; how many it deleted. A pass under way is joined. */
  runOnce(): Promise<number> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(): Promise<number> {
    const before = rawUsageSince(this.opts.clock(), this.opts.days);
    if (before === null) return 0;
    const batch = this.opts.batchSize ?? 1000;
    const pauseMs = this.opts.pauseMs ?? 20;
    let deleted = 0;
    // Until a batch finds nothing (the sink may delete fewer than asked: the main-thread fallback caps its batches).
    while (!this.stopped) {
      const n = await this.sink.deleteEventsBefore(before, batch);
      deleted += n;
      this.stats.deleted += n;
      if (n === 0) break;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
    this.stats.passes++;
    if (deleted > 0) this.opts.onPass?.(deleted, before);
    return deleted;
  }

  /** Stops the timer; a pass under way ends after its current batch. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.splice(0)) clearTimeout(t);
    await this.running?.catch(() => {});
  }
}
