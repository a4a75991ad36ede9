import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import type { DeadLetter, DeadLetterFile, UsageLog, UsageSink } from '../core/ports.js';
import type { UsageEvent } from '../core/usage-event.js';
import { salvagedUsageLine, UsageLineWriter, usageLineError, usageLinesIn, usageLinesToBytes, usageValuesOf } from '../core/usage-line.js';
import { isDataError } from '../storage/write-errors.js';
import { usageLineChunks } from './usage-line-reader.js';

export interface UsageRecorderOptions {
  flushIntervalMs: number;
  /** Events kept in memory before overflow goes to the spill file. */
  maxInMemory: number;
  /** JSON-lines file in this instance's data dir; never shared between instances. */
  spillFile: string;
  /** Appends bytes to the spill file (default: `appendWhole`, which leaves nothing of an append that failed). */
  appendSpill?: (file: string, bytes: Uint8Array) => Promise<void>;
  onError?: (err: unknown) => void;
  /**
   * Told when events recorded after `stop` (requests metered after a shutdown's flush) could not be put on disk
   * either: they are lost. `onError` when unset.
   */
  onLateLost?: (err: unknown, events: number) => void;
  /**
   * Told when a group could not be spilled (a full disk): its events are kept in memory past `maxInMemory` until
   * written. Once per run of failures (`spillFailing` says whether the last spill failed); `onError` when unset.
   */
  onSpillError?: (err: unknown, events: number) => void;
  /** The write-ahead log (in this instance's data dir); none when unset. */
  log?: UsageLog;
  /**
   * Where events the database refuses for their data go: a batch that fails so is split until the events at fault are
   * found, which are filed there, and the rest is written. Without one such a batch is retried like any other failure.
   */
  deadLetter?: {
    file: DeadLetterFile;
    /** Milliseconds since the epoch, for the entries. */
    clock: () => number;
    /** Told of each event set aside, once it is in the file. */
    onSetAside?: (entry: DeadLetter) => void;
  };
  /**
   * How long recorded events gather before they are logged and queued as one group (default 5 ms). Measured under
   * load: 2 ms groups (~10 events each) cost 3–15% more CPU per request than 5 ms ones; 10 and 25 ms gained nothing more.
   */
  groupMs?: number;
}

/** The lines of a group of events (~5 ms of them) as UTF-8 bytes, each ending in a newline. */
interface LineGroup {
  bytes: Buffer;
  count: number;
}

function groupOf(lines: string[]): LineGroup {
  return { bytes: usageLinesToBytes(lines), count: lines.length };
}

/**
 * Usage events leave the request path at once: `record` only keeps the event. The events of each ~5 ms (`groupMs`)
 * are written as one group of JSON lines (UTF-8 bytes) in one loop — serialising each in its own request cost twice
 * as much, caches being cold by then — and the group is written to the log and queued as such: held until the next
 * flush as strings, every event outlived two young-generation collections and was copied into the old generation
 * (measured: ~20 µs of the gateway's CPU per request under load, GC threads included); a group's bytes live outside
 * the JS heap.
 * A timer hands batches to the usage sink (writes are idempotent by event id); a failed write keeps the batch for the next try; past `maxInMemory`
 * events go to a local spill file, replayed once the database answers again. A batch refused for its data is split to
 * set the events at fault aside (`deadLetter`), so that one of them never holds back the rest. `stop` flushes, or
 * spills what it cannot write.
 */
export class UsageRecorder {
  /** Events recorded since the last group was closed. */
  private events: UsageEvent[] = [];
  private readonly lines = new UsageLineWriter();
  private groupTimer: NodeJS.Timeout | null = null;
  private queue: LineGroup[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  /** The flush that runs once the one under way ends, shared by every caller meanwhile. */
  private again: Promise<void> | null = null;
  private spillChain: Promise<void> = Promise.resolve();
  private spilled = 0;
  /** Whether the last spill failed (its group is held in memory), and whether its bytes may have left a torn line. */
  private spillFailed = false;
  private spillTorn = false;
  /** Set when a group whose spill failed is queued after a flush took its queue: that flush must keep the log. */
  private logHeld = false;
  /** The spill file being replayed (renamed so that new spills go to a new file), and where its replay stands. */
  private readonly replaying: string;
  private readonly replayedTo: string;
  /** Bytes of the file being replayed that are written: a replay cut short by a failure goes on from there. */
  private replayFrom = 0;
  /** The segments an earlier run left in the log, still to be written (oldest first), and where the first stands. */
  private leftovers: string[];
  private leftoverFrom = 0;
  private readonly wal: UsageLog | null;
  private readonly groupMs: number;
  /** The events set aside, when there is a dead-letter file. */
  readonly deadLetters: DeadLetterFile | null;
  /** Ids set aside by this run (before their append ends): a flush retried after a lost connection does not file them twice. */
  private readonly setAside = new Set<string>();
  /** Set by `stop`: no flush follows any more, so each event is put on disk as it is recorded (`recordLate`). */
  private stopped = false;
  /** Set by `stop` once no spill is under way any more. */
  private spillsEnded = false;
  readonly stats = { recorded: 0, written: 0, failedFlushes: 0, spilled: 0, spillFailed: 0, replayed: 0, recovered: 0, deadLettered: 0, salvaged: 0 };

  constructor(
    private readonly sink: Pick<UsageSink, 'write' | 'maxBatch'>,
    private readonly opts: UsageRecorderOptions,
  ) {
    this.replaying = `${opts.spillFile}.replaying`;
    this.replayedTo = `${opts.spillFile}.replayed`;
    // A replay an earlier run left unfinished goes on where it stopped (its offset is kept beside it).
    if (existsSync(this.replaying)) this.replayFrom = replayedOffset(this.replayedTo);
    if (existsSync(opts.spillFile) || existsSync(this.replaying)) this.spilled = 1;
    this.groupMs = opts.groupMs ?? 5;
    this.wal = opts.log ?? null;
    this.deadLetters = opts.deadLetter?.file ?? null;
    // Events a crashed run left in its log are written again (idempotent by id) with the first flush, read from its
    // segments a batch at a time: after a long outage they can hold more than memory (or one string) does.
    this.leftovers = this.wal?.leftovers() ?? [];
  }

  /**
   * O(1); no I/O on the caller's path (the log and any overflow are written asynchronously). After `stop`, the event
   * is put in the log before this returns (no flush follows).
   */
  record(event: UsageEvent): void {
    this.stats.recorded++;
    if (this.stopped) {
      this.recordLate([event]);
      return;
    }
    this.events.push(event);
    this.groupTimer ??= setTimeout(this.closeGroup, this.groupMs);
  }

  /** Turns the lines gathered so far into one group: logged, then queued. */
  private readonly closeGroup = (): void => {
    if (this.groupTimer) clearTimeout(this.groupTimer);
    this.groupTimer = null;
    const events = this.events;
    if (events.length === 0) return;
    this.events = [];
    for (const e of events) {
      try {
        this.lines.append(e);
      } catch (err) {
        // Not an event the gateway makes (a value JSON cannot hold): reported and dropped, never the whole group.
        this.opts.onError?.(err);
      }
    }
    if (this.lines.count === 0) return;
    const group = { count: this.lines.count, bytes: this.lines.take() };
    this.wal?.write(group.bytes);
    this.enqueue(group);
  };

  private enqueue(group: LineGroup): void {
    if (this.queued >= this.opts.maxInMemory) {
      this.spill(group.bytes, group.count);
      return;
    }
    this.queue.push(group);
    this.queued += group.count;
  }

  /** Events per write: the sink's bound (the SQLite worker takes a whole flush at once). */
  private get batchSize(): number {
    return this.sink.maxBatch;
  }

  get pending(): number {
    return this.queued + this.events.length;
  }

  /** Whether the last spill to disk failed: events are then held in memory past `maxInMemory` (readiness says so). */
  get spillFailing(): boolean {
    return this.spillFailed;
  }

  /**
   * Writes what an earlier run left (its log's events, its spill file) before the gateway serves, so that limits
   * seeded from stored usage count it (services/limit-seeding.ts). A failure is reported, and the events stay
   * queued for the timer's flushes.
   */
  async writeRecovered(): Promise<void> {
    if (this.queued === 0 && !this.spilled && this.leftovers.length === 0) return;
    await this.flush().catch(() => {});
  }

  start(): void {
    this.timer = setInterval(() => void this.flush().catch(() => {}), this.opts.flushIntervalMs);
    this.timer.unref();
  }

  /**
   * Writes everything recorded before the call (and any spilled events); rejects when the database refuses. A flush
   * already under way (the timer's) closed its group before the latest events, so one more runs after it: returning
   * the one under way let a caller see events recorded just before its call missing.
   */
  flush(): Promise<void> {
    if (this.flushing) {
      this.again ??= this.flushing
        .catch(() => {})
        .then(() => {
          this.again = null;
          return this.flush();
        });
      return this.again;
    }
    this.flushing = this.doFlush().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    try {
      this.closeGroup();
      // The groups queued now, counted before the seal is waited for: every one is logged in the segments sealed, and
      // only they are. A group closed while the seal waits (a slow disk) is logged in the next segment, which this
      // flush does not release: written now, it was left in the log after a stop (found by a CI run under load).
      // Groups closed while these are written wait for the next flush too: chasing them made a flush under load a run
      // of small transactions back to back (each rewriting the same rollup and index pages) instead of one per
      // interval.
      let remaining = this.queue.length;
      const sealed = this.wal ? await this.wal.seal() : 0;
      this.logHeld = false;
      while (remaining > 0) {
        // Whole groups up to the batch size (at least one): a failed write leaves them queued as they were.
        let n = 0;
        let count = 0;
        while (n < remaining && (n === 0 || count + this.queue[n].count <= this.batchSize)) count += this.queue[n++].count;
        const setAside = await this.write(this.queue.slice(0, n));
        this.queue.splice(0, n);
        remaining -= n;
        this.queued -= count;
        this.stats.written += count - setAside;
      }
      // What a failed spill held in memory past the bound is written: ready again (found by an outside review: only
      // a spill that succeeded cleared it, so an instance whose database took everything stayed unready for good).
      if (this.spillFailed && this.queued <= this.opts.maxInMemory) this.spillFailed = false;
      if (this.leftovers.length) await this.replayLeftovers();
      if (this.spilled) await this.replaySpill();
      // Everything logged up to the sealed segment is now in the database. A replay cut short has thrown above: the
      // log is never released while spilled events are still to be given back.
      // A group whose spill failed after the queue was taken is in memory only: its segment is kept.
      if (this.wal && !this.logHeld) await this.wal.release(sealed);
    } catch (err) {
      this.stats.failedFlushes++;
      this.opts.onError?.(err);
      throw err;
    }
  }

  /** Writes the groups; returns how many of their events were set aside, not written (the rest are). */
  private async write(groups: LineGroup[]): Promise<number> {
    const bytes = groups.length === 1 ? groups[0].bytes : Buffer.concat(groups.map((g) => g.bytes));
    try {
      await this.sink.write(bytes);
      return 0;
    } catch (err) {
      if (!this.deadLetters || !isDataError(err)) throw err;
      return this.isolate(usageLinesIn(bytes), err);
    }
  }

  /**
   * Lines the database refused for their data: written in halves, each half that fails split again, until each event
   * at fault is alone; those are set aside (a write is a transaction and inserts are idempotent by id, so a half
   * written before its sibling failed is never counted twice). k bad events among n cost about 2k·log2(n) writes, on
   * this path only. A failure that is not the data's (the connection lost meanwhile) ends the search: the whole batch
   * stays queued and is retried, as any batch. Returns how many were set aside.
   */
  private async isolate(lines: string[], err: unknown): Promise<number> {
    if (lines.length === 1) return this.setAsideLine(lines[0], err);
    const mid = lines.length >> 1;
    let setAside = 0;
    for (const half of [lines.slice(0, mid), lines.slice(mid)]) {
      try {
        await this.sink.write(usageLinesToBytes(half));
      } catch (halfErr) {
        if (!isDataError(halfErr)) throw halfErr;
        setAside += await this.isolate(half, halfErr);
      }
    }
    return setAside;
  }

  /**
   * Files one refused event, after writing its salvaged copy when it has one (and `salvage` allows); 1 when nothing of
   * it was written.
   */
  private async setAsideLine(line: string, err: unknown, trySalvage = true): Promise<number> {
    const salvage = trySalvage ? salvagedUsageLine(line) : null;
    let salvaged = false;
    if (salvage) {
      try {
        await this.sink.write(usageLinesToBytes([salvage]));
        salvaged = true;
      } catch (salvageErr) {
        if (!isDataError(salvageErr)) throw salvageErr;
      }
    }
    let id: string | null = null;
    try {
      const first = usageValuesOf(line)[0];
      id = typeof first === 'string' ? first : null;
    } catch {}
    const key = id ?? line;
    // Filed already: by this run (a flush retried after a lost connection), or by an earlier one whose log, released
    // only after a whole flush, is replayed now.
    if (!this.setAside.has(key) && !this.deadLetters?.has(key)) {
      const e = err as { message?: unknown; code?: unknown };
      const entry: DeadLetter = {
        dead_at_ms: this.opts.deadLetter?.clock() ?? 0,
        id,
        error: String(e?.message ?? err),
        error_code: typeof e?.code === 'string' ? e.code : null,
        salvaged,
        line,
      };
      await this.deadLetters?.append([entry]);
      this.setAside.add(key);
      this.stats.deadLettered++;
      if (salvaged) this.stats.salvaged++;
      this.opts.deadLetter?.onSetAside?.(entry);
    }
    return salvaged ? 0 : 1;
  }

  /**
   * Appends a group to the spill file, after every spill under way. One that fails (a full disk) is never dropped: the
   * group is kept in memory past `maxInMemory`, counted and reported, and the next append starts on a new line.
   */
  private spill(bytes: Buffer, count: number): void {
    this.spilled = 1;
    this.stats.spilled += count;
    const append = this.opts.appendSpill ?? appendWhole;
    this.spillChain = this.spillChain
      .then(() => append(this.opts.spillFile, this.spillTorn ? Buffer.concat([NEWLINE, bytes]) : bytes))
      .then(
        () => {
          this.spillTorn = false;
          this.spillFailed = false;
        },
        (err) => {
          this.stats.spilled -= count;
          this.stats.spillFailed += count;
          this.spillTorn = true;
          this.queue.push({ bytes, count });
          this.queued += count;
          this.logHeld = true;
          if (this.spillFailed) return;
          this.spillFailed = true;
          if (this.opts.onSpillError) this.opts.onSpillError(err, count);
          else this.opts.onError?.(err);
        },
      );
  }

  /**
   * Writes the spilled events: first what a replay cut short left (by this run or an earlier one), from where it
   * stopped, then the spill file, renamed first (after every spill already under way) so that new spills start a new
   * one. Read a batch at a time; after each batch written, the offset reached is kept beside the file. A failure
   * rejects with the file and its offset kept for the next flush (which the log is not released before).
   */
  private async replaySpill(): Promise<void> {
    await this.spillChain;
    // Set again by any spill from now on (one still to be appended after the rename below included).
    this.spilled = 0;
    try {
      if (existsSync(this.replaying)) await this.replayFile();
      if (existsSync(this.opts.spillFile)) {
        const renamed = this.spillChain.then(() => rename(this.opts.spillFile, this.replaying));
        this.spillChain = renamed.catch(() => {});
        await renamed;
        this.replayFrom = 0;
        this.spillTorn = false;
        await this.replayFile();
      }
    } catch (err) {
      this.spilled = 1;
      throw err;
    }
  }

  /**
   * Writes the events of the log's segments an earlier run left, a batch at a time; a failure rejects with the
   * segment and offset reached kept for the next flush. The log releases the segments once the flush is done.
   */
  private async replayLeftovers(): Promise<void> {
    while (this.leftovers.length > 0) {
      const file = this.leftovers[0];
      if (existsSync(file)) {
        for await (const { lines, end } of usageLineChunks(file, this.leftoverFrom, this.batchSize)) {
          this.stats.recovered += await this.writeLines(lines);
          this.leftoverFrom = end;
        }
      }
      this.leftovers.shift();
      this.leftoverFrom = 0;
    }
  }

  /**
   * Writes lines read back from disk; returns how many read as events (those the database refuses included). A line that is not JSON (torn by a crash: its
   * event was never acknowledged) is skipped; one whose values are not an event's is set aside like an event the
   * database refuses (reported when there is no dead-letter file), never written.
   */
  private async writeLines(lines: string[]): Promise<number> {
    const good: string[] = [];
    for (const line of lines) {
      const err = usageLineError(line);
      if (!err) good.push(line);
      else if (err.name === 'SyntaxError') continue;
      else if (this.deadLetters) await this.setAsideLine(line, err, false);
      else this.opts.onError?.(err);
    }
    if (good.length) await this.write([groupOf(good)]);
    return good.length;
  }

  private async replayFile(): Promise<void> {
    for await (const { lines, end } of usageLineChunks(this.replaying, this.replayFrom, this.batchSize)) {
      this.stats.replayed += await this.writeLines(lines);
      this.replayFrom = end;
      await writeFile(this.replayedTo, String(end), { mode: 0o600 });
    }
    // The offset first: a crash between the two replays the file from its start (idempotent), never a new file from
    // an old offset.
    await rm(this.replayedTo, { force: true });
    await rm(this.replaying);
    this.replayFrom = 0;
  }

  /** Stops the timer and writes what is left; what cannot be written is spilled to disk for the next start. The sink stays open (its owner closes it). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      await this.flush();
      // Events recorded while that flush wrote (requests that finished as the server drained) are written too: a
      // flush writes only what was queued when it began.
      for (let i = 0; i < 3 && this.pending > 0; i++) await this.flush();
    } catch {
      this.closeGroup();
      const rest = this.queue.splice(0);
      this.queued = 0;
      for (const g of rest) this.spill(g.bytes, g.count);
    }
    // From here no flush follows: what is recorded now (requests metered after the shutdown's wait for them, or
    // while this stop finishes) is put on disk at once, for the next start to write. Grouped by a timer instead, it
    // went to a log segment the exiting process never wrote (found by a durability review: a cut stream unbilled).
    this.stopped = true;
    if (this.groupTimer) clearTimeout(this.groupTimer);
    this.groupTimer = null;
    await this.spillChain;
    this.spillsEnded = true;
    this.recordLate(this.events.splice(0));
    await this.wal?.close();
  }

  /**
   * Appends events recorded after `stop` to the log (a segment of their own) before returning, or to the spill file
   * when there is no log; the next start writes them like any left there (idempotent by id). Never queued: nothing
   * would write them in this run.
   */
  private recordLate(events: UsageEvent[]): void {
    // Without a log they go to the spill file, after the spills still under way (an append beside one could tear it).
    if (!this.wal && !this.spillsEnded) {
      this.events.push(...events);
      return;
    }
    for (const e of events) {
      try {
        this.lines.append(e);
      } catch (err) {
        this.opts.onError?.(err);
      }
    }
    const count = this.lines.count;
    if (count === 0) return;
    const bytes = this.lines.take();
    try {
      if (this.wal) this.wal.writeSync(bytes);
      else appendFileSync(this.opts.spillFile, this.spillTorn ? Buffer.concat([NEWLINE, bytes]) : bytes, { mode: 0o600 });
    } catch (err) {
      if (this.opts.onLateLost) this.opts.onLateLost(err, count);
      else this.opts.onError?.(err);
    }
  }
}

/** The offset a replay reached, as kept beside its file; 0 (from the start: idempotent) when unreadable. */
function replayedOffset(file: string): number {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

const NEWLINE = Buffer.from('\n');

/**
 * Appends bytes to a file, or nothing: an append the disk could hold only part of is cut back to where it began (so
 * no torn line is left for the next one to follow), then fails.
 */
export async function appendWhole(file: string, bytes: Uint8Array): Promise<void> {
  const fh = await open(file, 'a', 0o600);
  try {
    const { size } = await fh.stat();
    try {
      await fh.writeFile(bytes);
    } catch (err) {
      await fh.truncate(size).catch(() => {});
      throw err;
    }
  } finally {
    await fh.close();
  }
}
