import { isUtf8 } from 'node:buffer';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from './json-depth.js';

// The lines of a JSON Lines file (a batch's input) as any reader may read them, for the checks that read what each line
// names. A line a check skips or reads one way while the upstream reads it another runs unchecked: Python's json.loads
// reads NaN, Infinity and -Infinity, which JSON.parse refuses; a universal-newline reader ends a line at a bare CR;
// str.splitlines at U+0085, U+2028 and U+2029 too (valid inside a JSON string); bytes that are no UTF-8 are read as
// each reader pleases (found by an outside review). So a line ends at LF, CR or CRLF (CRLF is one break: honest files
// written on Windows read as before), and a line is read only when it is strict JSON in UTF-8, with no character at
// which another reader may end it; any other is refused, never skipped.

/** A line read: blank (nothing to run), a JSON value and its text, or why it cannot be read one way only. */
export type JsonLine = { kind: 'blank' } | { kind: 'json'; value: unknown; text: string } | { kind: 'unreadable'; problem: string };

const BLANK = /^[ \t]*$/;
/** Characters str.splitlines ends a line at that may stand inside a JSON string. (The others fail JSON.parse.) */
const OTHER_BREAKS = /[\u0085\u2028\u2029]/;

/** Reads one line (without its line break). */
export function readJsonLine(bytes: Buffer): JsonLine {
  if (!isUtf8(bytes)) return { kind: 'unreadable', problem: 'is not UTF-8 text' };
  let text = bytes.toString('utf8');
  // A byte order mark before the line (a file saved by some Windows tools): a reader that keeps it reads no line at all.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (BLANK.test(text)) return { kind: 'blank' };
  const other = OTHER_BREAKS.exec(text);
  if (other) {
    const code = other[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return { kind: 'unreadable', problem: `holds the character U+${code}, at which some readers end a line; write it escaped (\\u${code.toLowerCase()})` };
  }
  if (exceedsJsonDepth(text)) return { kind: 'unreadable', problem: `nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep` };
  try {
    return { kind: 'json', value: JSON.parse(text), text };
  } catch {
    return { kind: 'unreadable', problem: 'is not strict JSON (NaN, Infinity, comments, trailing commas and control characters in strings are not), which some readers read anyway' };
  }
}

/**
 * Cuts bytes that come in chunks into lines at LF, CR and CRLF, handing each to `line` (without its break; a blank
 * line too, so that lines are counted as a reader counts them). Throws `tooLong()` when a line outgrows `maxLine` bytes.
 */
export function lineSplitter(line: (bytes: Buffer) => void, maxLine: number, tooLong: () => Error): { push(chunk: Buffer): void; end(): void } {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  // Whether the last chunk ended in a CR: an LF starting the next ends no second line.
  let afterCR = false;
  const emit = (last: Buffer) => {
    line(pending.length > 0 ? Buffer.concat([...pending, last]) : last);
    pending = [];
    pendingBytes = 0;
  };
  return {
    push(chunk) {
      if (chunk.length === 0) return;
      let from = afterCR && chunk[0] === 0x0a ? 1 : 0;
      afterCR = false;
      let lf = chunk.indexOf(0x0a, from);
      let cr = chunk.indexOf(0x0d, from);
      while (lf >= 0 || cr >= 0) {
        const end = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
        emit(chunk.subarray(from, end));
        from = end + 1;
        if (chunk[end] === 0x0d) {
          if (from === chunk.length) afterCR = true;
          else if (chunk[from] === 0x0a) from++;
        }
        if (lf >= 0 && lf < from) lf = chunk.indexOf(0x0a, from);
        if (cr >= 0 && cr < from) cr = chunk.indexOf(0x0d, from);
      }
      if (from < chunk.length) {
        pending.push(chunk.subarray(from));
        pendingBytes += chunk.length - from;
        if (pendingBytes > maxLine) throw tooLong();
      }
    },
    end() {
      if (pending.length > 0) emit(Buffer.alloc(0));
    },
  };
}
