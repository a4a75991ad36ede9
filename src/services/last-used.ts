import type { UsageSink } from '../core/ports.js';

/**
 * Coalesces `last_used_at` writes: at most one per key per flush interval, written in one batch off the request path
 * through the usage sink (its one writer: on SQLite the usage worker, whose connection and thread keep the write off
 * the event loop). A failed flush keeps the timestamps for the next try.
 */
export class LastUsedTracker {
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sink: Pick<UsageSink, 'writeLastUsed'>,
    private readonly intervalMs = 5000,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Notes a use (seconds). O(1), no I/O. */
  touch(keyId: string, nowSeconds: number): void {
    this.pending.set(keyId, nowSeconds);
  }

  start(): void {
    this.timer = setInterval(() => void this.flush().catch(this.onError), this.intervalMs);
    this.timer.unref();
  }

  /** Writes pending timestamps; keeps them on failure. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.sink.writeLastUsed([...batch]);
    } catch (err) {
      for (const [id, at] of batch) if (!this.pending.has(id)) this.pending.set(id, at);
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}
