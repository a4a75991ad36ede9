import { appendFile, readFile, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import type { Kysely } from 'kysely';
import { UsageWal } from '../infra/usage-wal.js';
import type { Database } from '../storage/database.js';
import type { DB } from '../storage/schema.js';
import type { UsageEventsTable } from '../storage/schema-usage.js';
import { isUsageLine, toUsageLine, usageEventOf, usageRowOf } from './usage-line.js';

export type UsageEvent = UsageEventsTable;

export interface UsageRecorderOptions {
  flushIntervalMs: number;
  batchSize: number;
  /** Events kept in memory before overflow goes to the spill file. */
  maxInMemory: number;
  /** JSON-lines file in this instance's data dir; never shared between instances. */
  spillFile: string;
  onError?: (err: unknown) => void;
  /** Runs in the same transaction as each batch insert, with only the events newly inserted (rollups). */
  onInserted?: (trx: Kysely<DB>, events: UsageEvent[]) => Promise<void>;
  /** Directory of the write-ahead log (this instance's data dir); none when unset. */
  walDir?: string;
  /** A faster writer for this database (SQLite: a worker thread or prepared statements); the generic Kysely path otherwise. */
  writer?: { write(lines: string[]): Promise<void>; close(): Promise<void>; maxBatch?: number } | null;
}

/**
 * Usage events leave the request path at once: `record` serialises the event to one JSON line and pushes it to memory.
 * Only the line is kept (for the log, the worker, the spill file alike): an event object held until the next flush
 * outlives two young-generation collections, and copying it cost the gateway measurable GC time per request. A timer writes batches
 * (idempotent by event id); a failed write keeps the batch for the next try; past `maxInMemory` events
 * go to a local spill file, replayed once the database answers again. `stop` flushes, or spills what it cannot write.
 */
export class UsageRecorder {
  /** Each queued event as one JSON line. */
  private queue: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private spillChain: Promise<void> = Promise.resolve();
  private spilled = 0;
  private readonly wal: UsageWal | null;
  readonly stats = { recorded: 0, written: 0, failedFlushes: 0, spilled: 0, replayed: 0, recovered: 0 };

  constructor(
    private readonly database: Database,
    private readonly opts: UsageRecorderOptions,
  ) {
    if (existsSync(opts.spillFile)) this.spilled = 1;
    this.wal = opts.walDir ? new UsageWal(opts.walDir, opts.onError) : null;
    // Events a crashed run left in its log are written again (idempotent by id) with the first flush.
    const recovered = this.wal?.recover(isUsageLine) ?? [];
    this.stats.recovered = recovered.length;
    for (const line of recovered) this.enqueue(line);
  }

  /** O(1); no I/O on the caller's path (the log and any overflow are written asynchronously). */
  record(event: UsageEvent): void {
    this.stats.recorded++;
    const line = toUsageLine(event);
    this.wal?.appendLine(line);
    this.enqueue(line);
  }

  private enqueue(line: string): void {
    if (this.queue.length >= this.opts.maxInMemory) {
      this.spill([line]);
      return;
    }
    this.queue.push(line);
  }

  /** Events per write: the writer's own bound when it has one (the SQLite worker takes a whole flush at once). */
  private get batchSize(): number {
    return this.opts.writer?.maxBatch ?? this.opts.batchSize;
  }

  get pending(): number {
    return this.queue.length;
  }

  start(): void {
    this.timer = setInterval(() => void this.flush().catch(() => {}), this.opts.flushIntervalMs);
    this.timer.unref();
  }

  /** Writes everything queued (and any spilled events); rejects when the database refuses. */
  flush(): Promise<void> {
    if (!this.flushing) {
      this.flushing = this.doFlush().finally(() => {
        this.flushing = null;
      });
    }
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    try {
      const sealed = this.wal ? await this.wal.seal() : 0;
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, this.batchSize);
        await this.write(batch);
        this.queue.splice(0, batch.length);
        this.stats.written += batch.length;
      }
      if (this.spilled) await this.replaySpill();
      // Everything logged up to the sealed segment is now in the database.
      if (this.wal) await this.wal.release(sealed);
    } catch (err) {
      this.stats.failedFlushes++;
      this.opts.onError?.(err);
      throw err;
    }
  }

  private async write(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    if (this.opts.writer) return this.opts.writer.write(lines);
    const batch = lines.map((l) => usageEventOf(usageRowOf(l)));
    await this.database.db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('usage_events')
        .values(batch)
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .execute();
      if (this.opts.onInserted && inserted.length > 0) {
        const ids = new Set(inserted.map((r) => r.id));
        await this.opts.onInserted(trx, batch.filter((e) => ids.has(e.id)));
      }
    });
  }

  private spill(lines: string[]): void {
    this.spilled = 1;
    this.stats.spilled += lines.length;
    const text = `${lines.join('\n')}\n`;
    this.spillChain = this.spillChain.then(() => appendFile(this.opts.spillFile, text, { mode: 0o600 })).catch((err) => this.opts.onError?.(err));
  }

  private async replaySpill(): Promise<void> {
    await this.spillChain;
    if (!existsSync(this.opts.spillFile)) {
      this.spilled = 0;
      return;
    }
    const replaying = `${this.opts.spillFile}.replaying`;
    if (!existsSync(replaying)) await rename(this.opts.spillFile, replaying);
    const lines = (await readFile(replaying, 'utf8')).split('\n').filter(isUsageLine);
    for (let i = 0; i < lines.length; i += this.batchSize) await this.write(lines.slice(i, i + this.batchSize));
    this.stats.replayed += lines.length;
    await rm(replaying);
    this.spilled = existsSync(this.opts.spillFile) ? 1 : 0;
  }

  /** Stops the timer and writes what is left; what cannot be written is spilled to disk for the next start. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      await this.flush();
    } catch {
      const rest = this.queue.splice(0);
      if (rest.length) this.spill(rest);
    }
    await this.spillChain;
    await this.wal?.close();
    await this.opts.writer?.close();
  }
}
