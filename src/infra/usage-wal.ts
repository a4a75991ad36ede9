import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { type FileHandle, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Write-ahead log of usage events in numbered segment files (JSON lines) in this instance's data dir. Appends are
 * grouped for `groupMs` (2 ms) and written asynchronously, so the request path does no I/O; a segment is deleted once
 * every event in it is in the database. After a crash (SIGKILL) the next start replays what is left — inserts are
 * idempotent by event id — so at most the events of the last `groupMs` can be lost, not a flush interval.
 * Why group: a write per event-loop turn cost the gateway's main thread ~2.5 µs per request under load (CPU profile
 * with 1,000 keys in use: the string-to-bytes hand-over of each small write), one write per 2 ms a tenth of that.
 */
export class UsageWal {
  private segment: number;
  private handle: { n: number; fh: Promise<FileHandle> } | null = null;
  private buffer: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly groupMs = 2,
  ) {
    mkdirSync(dir, { recursive: true });
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

  /** Lines left by a previous run that `isValid` accepts (a torn last line from a crash is not). */
  recover(isValid: (line: string) => boolean): string[] {
    const out: string[] = [];
    for (const n of this.segments()) {
      if (n >= this.segment) continue;
      for (const line of readFileSync(this.file(n), 'utf8').split('\n')) {
        // A torn write at a crash: that event was never acknowledged as written.
        if (line && isValid(line)) out.push(line);
      }
    }
    return out;
  }

  /** Queues an event, serialised as one JSON line, for the log; written with its group within `groupMs`. */
  appendLine(line: string): void {
    this.buffer.push(line);
    this.timer ??= setTimeout(() => this.drain(), this.groupMs);
  }

  private drain(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.buffer.length === 0) return;
    const text = `${this.buffer.join('\n')}\n`;
    this.buffer = [];
    const n = this.segment;
    if (!this.handle || this.handle.n !== n) {
      const previous = this.handle;
      this.handle = { n, fh: open(this.file(n), 'a', 0o600) };
      if (previous) this.chain = this.chain.then(async () => (await previous.fh).close());
    }
    const fh = this.handle.fh;
    this.chain = this.chain.then(async () => {
      await (await fh).write(text);
    }).catch(this.onError);
  }

  /** Starts a new segment and waits until the sealed one is fully written; returns its number. */
  async seal(): Promise<number> {
    this.drain();
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
    this.drain();
    await this.chain;
    if (this.handle) await (await this.handle.fh).close().catch(() => {});
    this.handle = null;
  }
}
