import { existsSync, readFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';

/** One usage event the database refused, as the dead-letter file keeps it (one JSON object a line). */
export interface DeadLetter {
  /** When it was set aside (ms since the epoch, the injected clock's). */
  dead_at_ms: number;
  /** The event's id, when its line reads as one. */
  id: string | null;
  /** The database's error, and its code (SQLSTATE, SQLITE_…) when it gave one. */
  error: string;
  error_code: string | null;
  /** Whether a copy with its refused text shown quoted was written instead (then the request is counted and billed). */
  salvaged: boolean;
  /** The event's usage line exactly as it was logged (services/usage-line.ts: values in USAGE_COLUMNS order). */
  line: string;
}

/**
 * The usage events the database refused for their data (issue 16 §2b), appended to a JSON-lines file in this instance's
 * data dir (mode 0600): set aside, so that every other event is written and metering goes on; kept, so that an
 * operator can see what and why (docs/metering.md). Appends are awaited before the write-ahead log that held the event
 * is released, so an event is never in neither.
 */
export class UsageDeadLetters {
  /** Lines in the file: those earlier runs left, and this run's. */
  count: number;
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {
    this.count = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
  }

  /** Appends entries; resolves once they are in the file. */
  append(entries: DeadLetter[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    const text = entries.map((e) => `${JSON.stringify(e)}\n`).join('');
    const run = this.chain
      .then(() => appendFile(this.file, text, { mode: 0o600 }))
      .then(() => {
        this.count += entries.length;
      });
    // A failed append fails its caller's flush (retried later), not every later append.
    this.chain = run.catch(() => {});
    return run;
  }
}
