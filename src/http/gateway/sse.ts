// An event ends with a blank line: "\n\n", or "\r\n\r\n" (whose last three bytes are "\n\r\n").
const LF_LF = Buffer.from('\n\n');
const LF_CRLF = Buffer.from('\n\r\n');

/** Just past the last event boundary in `buf` before `before`, or -1 when there is none. */
export function lastBoundaryEnd(buf: Buffer, before = buf.length): number {
  const lf = buf.lastIndexOf(LF_LF, before);
  const crlf = buf.lastIndexOf(LF_CRLF, before);
  return Math.max(lf < 0 ? -1 : lf + 2, crlf < 0 ? -1 : crlf + 3);
}

/** Just past the first event boundary in `buf` at or after `from`, or the end of `buf` when there is none. */
export function nextBoundaryEnd(buf: Buffer, from: number): number {
  const lf = buf.indexOf(LF_LF, from);
  const crlf = buf.indexOf(LF_CRLF, from);
  if (lf < 0 && crlf < 0) return buf.length;
  if (lf < 0) return crlf + 3;
  if (crlf < 0) return lf + 2;
  return Math.min(lf + 2, crlf + 3);
}

/**
 * Incremental Server-Sent Events framing over bytes: `push` returns the complete events of what has arrived (up to the
 * last blank line) as one Buffer, keeping an unfinished event for the next chunk. Working on bytes, a multi-byte UTF-8
 * character split across two chunks is never decoded half by half; and complete events can be forwarded as they came.
 */
export class SseFramer {
  private pending: Buffer | null = null;

  /** The complete events in the bytes received so far (null when none is complete yet). */
  push(chunk: Buffer): Buffer | null {
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const end = lastBoundaryEnd(data);
    if (end < 0) {
      this.pending = data;
      return null;
    }
    this.pending = end < data.length ? data.subarray(end) : null;
    return end === data.length ? data : data.subarray(0, end);
  }

  /** Whatever is left without a terminating blank line. */
  rest(): Buffer | null {
    const r = this.pending;
    this.pending = null;
    return r;
  }
}

/** The events of complete SSE text, each with its terminating blank line. */
export function splitEvents(text: string): string[] {
  return text.split(/(?<=\r?\n\r?\n)/).filter((e) => e.length > 0);
}

/** The `data:` payload of an event (multi-line data joined), or null. */
export function eventData(event: string): string | null {
  let data: string | null = null;
  for (const line of event.split(/\r?\n/)) {
    if (line.startsWith('data:')) {
      const v = line.slice(5).replace(/^ /, '');
      data = data === null ? v : `${data}\n${v}`;
    }
  }
  return data;
}
