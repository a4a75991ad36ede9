import { chmodSync, mkdirSync, readdirSync } from 'node:fs';
import { type FileHandle, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { UsageLog } from '../core/ports.js';

/**
 * Write-ahead log of usage events in numbered segment files (JSON lines) in this instance's data dir. The recorder
 * hands it each group of lines (the events of ~5 ms, already as UTF-8 bytes) and it appends them asynchronously, so
 * the request path does no I/O; a segment is deleted once every event in it is in the database. After a crash
 * (SIGKILL) the next start replays what is left (`leftovers`, read a part at a time) — inserts are idempotent by event
 * id — so at most the events of the last group can be lost, not a flush interval.
 */
export class UsageWal implements UsageLog {
  private segment: number;
  private handle: { n: number; fh: Promise<FileHandle> } | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly onError: (err: unknown) => void = () => {},
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
      this.handle = { n, fh: open(this.file(n), 'a', 0o600) };
      if (previous) this.chain = this.chain.then(async () => (await previous.fh).close());
    }
    const fh = this.handle.fh;
    this.chain = this.chain
      .then(async () => {
        await (await fh).write(lines);
      })
      .catch(this.onError);
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
    const names = await readdir(this.dir);
    for (const name of names) {
      const m = /^usage-wal-(\d+)\.jsonl$/.exec(name);
      const n = m ? Number(m[1]) : Number.NaN;
      if (!(n <= upTo)) continue;
      if (this.handle?.n === n) {
        const fh = this.handle.fh;
        this.handle = null;
        await (await fh).close().catch(() => {});
      }
      await rm(join(this.dir, name), { force: true });
    }
  }

  async close(): Promise<void> {
    await this.chain;
    if (this.handle) await (await this.handle.fh).close().catch(() => {});
    this.handle = null;
  }
}
