import { chmodSync, closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, writeSync as writeToFd } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { UsageLog } from '../core/ports.js';

const NEWLINE = Buffer.from('\n');

/**
 * Write-ahead log of usage events in numbered segment files (JSON lines) in this instance's data dir. The recorder
 * hands it each group of lines (the events of ~5 ms, already as UTF-8 bytes) and it appends them asynchronously, so
 * the request path does no I/O; a segment is deleted once every event in it is in the database. After a crash
 * (SIGKILL) the next start replays what is left (`leftovers`, read a part at a time) — inserts are idempotent by event
 * id — so at most the events of the last group can be lost, not a flush interval.
 */
export class UsageWal implements UsageLog {
  private segment: number;
  /** The open segment; `size`, once read, is where the next append starts (kept to cut a short write back). */
  private handle: { n: number; fh: Promise<FileHandle>; size?: number; torn?: boolean } | null = null;
  private chain: Promise<void> = Promise.resolve();
  /** Whether the last append failed: a run of failures (a full disk: one per group) is reported once. */
  private failing = false;
  /** The segment `writeSync` appends to, once it has been called. */
  private syncSegment: number | null = null;

  constructor(
    private readonly dir: string,
    private readonly onError: (err: unknown) => void = () => {},
    /** Opens a segment file (tests give one whose writes fall short, as on a disk filling up). */
    private readonly openFile: (path: string, flags: string, mode: number) => Promise<FileHandle> = open,
  ) {
    // Usage events name keys, projects and client addresses: the log's directory is the server user's alone (0700),
    // made so here whatever mode an earlier version gave it.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    this.segment = Math.max(0, ...this.segments()) + 1;
  }

  private file(n: number): string {
    return join(this.dir, `usage-wal-${String(n).padStart(10, '0')}.jsonl`);
  }

  private segments(): number[] {
    return readdirSync(this.dir)
      .map((f) => /^usage-wal-(\d+)\.jsonl$/.exec(f))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  /** The files of the segments a previous run left, oldest first (their last line may be torn by a crash). */
  leftovers(): string[] {
    return this.segments()
      .filter((n) => n < this.segment)
      .map((n) => this.file(n));
  }

  /** Appends whole lines (UTF-8, each ending in a newline) to the current segment, after every earlier append. */
  write(lines: Uint8Array): void {
    const n = this.segment;
    if (!this.handle || this.handle.n !== n) {
      const previous = this.handle;
      const fh = this.openSegment(n);
      // Awaited in the chain, maybe after it fails: marked handled now (an unhandled rejection ends the process).
      fh.catch(() => {});
      this.handle = { n, fh };
      // A handle that never opened has nothing to close.
      if (previous) this.chain = this.chain.then(() => previous.fh.then((h) => h.close())).catch(() => {});
    }
    const handle = this.handle;
    this.chain = this.chain.then(async () => {
      let fh: FileHandle;
      try {
        fh = await handle.fh;
      } catch (err) {
        // Opened again with the next group.
        if (this.handle === handle) this.handle = null;
        this.report(err);
        return;
      }
      let start: number | undefined;
      try {
        handle.size ??= (await fh.stat()).size;
        start = handle.size;
        const bytes = handle.torn ? Buffer.concat([NEWLINE, lines]) : lines;
        const { bytesWritten } = await fh.write(bytes);
        if (bytesWritten === bytes.length) {
          handle.size = start + bytesWritten;
          handle.torn = false;
          this.failing = false;
          return;
        }
        throw Object.assign(new Error(`the usage log took ${bytesWritten} of ${bytes.length} bytes (a full disk?): the group is not logged`), { code: 'ENOSPC' });
      } catch (err) {
        // A short write (a disk filling up) is cut back to where it began, so the segment ends on a whole line: left
        // cut, the next append was glued to it and that event lost at recovery (found by an outside review). If the
        // cut fails too, the next append starts on a new line (the cut line is then skipped at recovery, alone).
        if (start !== undefined) {
          const at = start;
          await fh.truncate(at).then(
            () => {
              handle.torn = false;
            },
            () => {
              handle.torn = true;
              handle.size = undefined;
            },
          );
        }
        this.report(err);
      }
    });
  }

  /**
   * Appends whole lines before returning, to a segment of their own: an asynchronous append under way keeps its own
   * file and the size it cuts a short write back to. For the lines of requests metered after the recorder stopped
   * (a shutdown's last moments: nothing waits for a promise then). A failed append throws, cut back to a whole line.
   * The data dir itself is not made again (removed, it was let go on purpose).
   */
  writeSync(lines: Uint8Array): void {
    if (this.syncSegment === null) {
      // The current segment stays the asynchronous appends' (none are expected now); the one after it is this.
      this.syncSegment = this.segment + 1;
      this.segment += 2;
    }
    const file = this.file(this.syncSegment);
    let fd: number;
    try {
      fd = openSync(file, 'a', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // The log's directory removed: made again, as an asynchronous append does, but not the data dir above it.
      mkdirSync(this.dir, { mode: 0o700 });
      fd = openSync(file, 'a', 0o600);
    }
    try {
      const start = fstatSync(fd).size;
      try {
        for (let at = 0; at < lines.length; ) at += writeToFd(fd, lines, at);
      } catch (err) {
        // A short write (a full disk) is cut back, so that the segment ends on a whole line.
        try {
          ftruncateSync(fd, start);
        } catch {}
        throw err;
      }
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Opens a segment for appending. The directory removed under a running server (by hand, a clean-up job) is made
   * again: every append failed with ENOENT, ~200 a second, and every release threw, failing every flush.
   */
  private async openSegment(n: number): Promise<FileHandle> {
    try {
      return await this.openFile(this.file(n), 'a', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.report(Object.assign(new Error(`the usage log's directory ${this.dir} was removed: made again (what it held is lost)`), { code: 'ENOENT' }));
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      return this.openFile(this.file(n), 'a', 0o600);
    }
  }

  /** Reports the first failure of a run of them. */
  private report(err: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.onError(err);
  }

  /** Starts a new segment and waits until the sealed one is fully written; returns its number. */
  async seal(): Promise<number> {
    const sealed = this.segment;
    this.segment++;
    await this.chain;
    return sealed;
  }

  /** Deletes every segment up to and including `upTo` (all their events are in the database). Asynchronous I/O only. */
  async release(upTo: number): Promise<void> {
    await this.chain;
    // No directory: nothing to delete (it is made again with the next append).
    const names = await readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    for (const name of names) {
      const m = /^usage-wal-(\d+)\.jsonl$/.exec(name);
      const n = m ? Number(m[1]) : Number.NaN;
      if (!(n <= upTo)) continue;
      if (this.handle?.n === n) {
        const fh = this.handle.fh;
        this.handle = null;
        await fh.then((h) => h.close()).catch(() => {});
      }
      await rm(join(this.dir, name), { force: true });
    }
  }

  async close(): Promise<void> {
    await this.chain;
    if (this.handle) await this.handle.fh.then((h) => h.close()).catch(() => {});
    this.handle = null;
  }
}
