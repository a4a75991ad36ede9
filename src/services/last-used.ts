import type SQLite from 'better-sqlite3';
import type { Database } from '../storage/database.js';

/** (key id, unix seconds) pairs to write. */
export type LastUsedRows = Array<[string, number]>;

/** Writes last-used times elsewhere: the SQLite usage worker, on its own connection and thread. */
export interface LastUsedSink {
  writeLastUsed(rows: LastUsedRows): Promise<void>;
}

/**
 * The SQLite write of a batch: one prepared statement in one transaction (the generic path compiled a statement per
 * key). Never moves a time backwards. Used by the usage worker, and on the main connection where there is none.
 */
export function sqliteLastUsedWriter(sqlite: SQLite.Database): (rows: LastUsedRows) => void {
  const update = sqlite.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)');
  return sqlite.transaction((rows: LastUsedRows) => {
    for (const [id, at] of rows) update.run(at, id, at);
  });
}

/**
 * Coalesces `last_used_at` writes: at most one per key per flush interval, written in one batch
 * off the request path. A failed flush keeps the timestamps for the next try.
 */
export class LastUsedTracker {
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private writeSqlite: ((rows: LastUsedRows) => void) | null = null;
  private sink: LastUsedSink | null = null;

  constructor(
    private readonly database: Database,
    private readonly intervalMs = 5000,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /**
   * Routes flushes to `sink` (null: back to this tracker's own connection). With SQLite a flush on the event loop
   * blocked it (measured: 23–25 ms every 5 s with 1,000 keys in use, waiting behind the usage worker's transaction).
   */
  useSink(sink: LastUsedSink | null): void {
    this.sink = sink;
  }

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
      if (this.sink) {
        await this.sink.writeLastUsed([...batch]);
        return;
      }
      const sqlite = this.database.sqlite;
      if (sqlite) {
        // On the event loop (no worker: an in-memory database, or shutting down): under Kysely's connection lock.
        this.writeSqlite ??= sqliteLastUsedWriter(sqlite);
        const write = this.writeSqlite;
        await this.database.db.connection().execute(async () => write([...batch]));
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
