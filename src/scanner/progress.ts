import type { ScanSummary } from './findings.js';
import { formatBytes } from './size.js';

// Progress for long scans, on stderr and only for a person watching: when output is piped (CI, a hook,
// `--json | jq`) nothing is written, so logs stay clean.

/** The part of a stream progress needs (process.stderr fits). */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface Progress {
  update(summary: ScanSummary): void;
  /** Clears the progress line, if one was drawn. */
  done(): void;
}

/** A progress line that redraws itself at most every intervalMs. */
export function createProgress(stream: ProgressStream, now: () => number = () => performance.now(), intervalMs = 200): Progress {
  if (!stream.isTTY) return { update() {}, done() {} };
  let last = Number.NEGATIVE_INFINITY;
  let drawn = false;
  return {
    update({ files, bytes, commits }) {
      const t = now();
      if (t - last < intervalMs) return;
      last = t;
      drawn = true;
      const history = commits > 0 ? `, ${commits} commits` : '';
      // \r and "erase line" (ESC [2K) redraw in place.
      stream.write(`\r\x1b[2Kscanning: ${files} files, ${formatBytes(bytes)}${history}`);
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
    },
  };
}
