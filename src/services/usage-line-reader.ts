import { open } from 'node:fs/promises';

/** Whole lines read from a file, and the byte offset just past the last of them (where the next read starts). */
export interface LineChunk {
  lines: string[];
  end: number;
}

/**
 * The whole lines of `file` from byte `from` on, at most `maxLines` a chunk (empty lines skipped), read `readBytes` at
 * a time: the file is never held whole. A spill file or write-ahead log left by a long outage can pass the longest
 * string V8 makes (~512 MB: read whole, it threw RangeError: Invalid string length). A last line with no newline (an
 * append cut short) is not returned.
 */
export async function* usageLineChunks(file: string, from: number, maxLines: number, readBytes = 1 << 20): AsyncGenerator<LineChunk> {
  const fh = await open(file, 'r');
  try {
    let buf = Buffer.allocUnsafe(readBytes);
    // The file offset of buf[0], and how many bytes of buf are read.
    let base = from;
    let held = 0;
    let lines: string[] = [];
    for (;;) {
      if (held === buf.length) {
        // One line longer than the buffer: a bigger one.
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, held);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, held, buf.length - held, base + held);
      if (bytesRead === 0) break;
      held += bytesRead;
      const view = buf.subarray(0, held);
      let start = 0;
      for (let nl = view.indexOf(0x0a, start); nl >= 0; nl = view.indexOf(0x0a, start)) {
        if (nl > start) lines.push(view.toString('utf8', start, nl));
        start = nl + 1;
        if (lines.length >= maxLines) {
          yield { lines, end: base + start };
          lines = [];
        }
      }
      buf.copy(buf, 0, start, held);
      base += start;
      held -= start;
    }
    if (lines.length > 0) yield { lines, end: base };
  } finally {
    await fh.close();
  }
}
