import type { Database } from '../storage/database.js';

/**
 * Coalesces `last_used_at` writes: at most one per key per flush interval, written in one batch
 * off the request path. A failed flush keeps the timestamps for the next try.
 */
export class LastUsedTracker {
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private update: import('better-sqlite3').Statement | null = null;

  constructor(
    private readonly database: Database,
    private readonly intervalMs = 5000,
  ) {}

  /** Notes a use (seconds). O(1), no I/O. */
  touch(keyId: string, nowSeconds: number): void {
    this.pending.set(keyId, nowSeconds);
  }

  start(): void {
    this.timer = setInterval(() => void this.flush().catch(() => {}), this.intervalMs);
    this.timer.unref();
  }

  /** Writes pending timestamps; keeps them on failure. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      const sqlite = this.database.sqlite;
      if (sqlite) {
        // SQLite writes block the event loop: one prepared statement in one transaction keeps a flush of thousands
        // of keys to a few milliseconds (the generic path compiled a statement per key).
        this.update ??= sqlite.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)');
        const update = this.update;
        const run = sqlite.transaction((rows: Array<[string, number]>) => {
          for (const [id, at] of rows) update.run(at, id, at);
        });
        await this.database.db.connection().execute(async () => run([...batch]));
        return;
      }
      await this.database.db.transaction().execute(async (trx) => {
        for (const [id, at] of batch) {
          await trx
            .updateTable('api_keys')
            .set({ last_used_at: at })
            .where('id', '=', id)
            .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
            .execute();
        }
      });
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
