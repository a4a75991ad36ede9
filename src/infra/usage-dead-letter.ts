import { existsSync, readFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import type { DeadLetter, DeadLetterFile } from '../core/ports.js';

/**
 * The usage events the database refused for their data (issue 16 §2b), appended to a JSON-lines file in this instance's
 * data dir (mode 0600): set aside, so that every other event is written and metering goes on; kept, so that an
 * operator can see what and why (docs/metering.md). Appends are awaited before the write-ahead log that held the event
 * is released, so an event is never in neither.
 */
export class UsageDeadLetters implements DeadLetterFile {
  /** Lines in the file: those earlier runs left, and this run's. */
  count: number;
  private chain: Promise<void> = Promise.resolve();

  /** The entries' event ids (or lines, for those without one). */
  private readonly filed = new Set<string>();

  constructor(readonly file: string) {
    const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
    this.count = lines.length;
    for (const line of lines) {
      try {
        const e = JSON.parse(line) as Partial<DeadLetter>;
        const key = typeof e.id === 'string' ? e.id : e.line;
        if (typeof key === 'string') this.filed.add(key);
      } catch {}
    }
  }

  has(idOrLine: string): boolean {
    return this.filed.has(idOrLine);
  }

  /** Appends entries; resolves once they are in the file. */
  append(entries: DeadLetter[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    const text = entries.map((e) => `${JSON.stringify(e)}\n`).join('');
    const run = this.chain
      .then(() => appendFile(this.file, text, { mode: 0o600 }))
      .then(() => {
        this.count += entries.length;
        for (const e of entries) this.filed.add(e.id ?? e.line);
      });
    // A failed append fails its caller's flush (retried later), not every later append.
    this.chain = run.catch(() => {});
    return run;
  }
}
