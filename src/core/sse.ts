// An event ends with a blank line: "\n\n", or "\r\n\r\n" (whose last three bytes are "\n\r\n"). The searches below
// are plain loops from where the boundary usually is (right before or after the position asked about, or at the end
// of a chunk): a native indexOf per needle and direction cost more in call overhead than these short walks.

/** Whether an event boundary ends just before `end`. */
export function boundaryEndsAt(buf: Buffer, end: number): boolean {
  if (end < 2 || buf[end - 1] !== 0x0a) return false;
  return buf[end - 2] === 0x0a || (end >= 3 && buf[end - 2] === 0x0d && buf[end - 3] === 0x0a);
}

/** Just past the last event boundary in `buf` before `before`, or -1 when there is none. */
export function lastBoundaryEnd(buf: Buffer, before = buf.length): number {
  // A boundary ending at `before` itself counts only if it started before it (as lastIndexOf(…, before) did).
  for (let end = Math.min(before + 3, buf.length); end >= 2; end--) {
    if (buf[end - 1] !== 0x0a) continue;
    if (buf[end - 2] === 0x0a && end - 2 <= before) return end;
    if (end >= 3 && buf[end - 2] === 0x0d && buf[end - 3] === 0x0a && end - 3 <= before) return end;
  }
  return -1;
}

/** Just past the first event boundary in `buf` at or after `from`, or the end of `buf` when there is none. */
export function nextBoundaryEnd(buf: Buffer, from: number): number {
  for (let i = Math.max(from, 0); i + 1 < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    if (buf[i + 1] === 0x0a) return i + 2;
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return i + 3;
  }
  return buf.length;
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
    // Upstreams nearly always end a chunk with a whole event.
    const end = boundaryEndsAt(data, data.length) ? data.length : lastBoundaryEnd(data);
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
  // The usual event is one `data: …` line and its blank line: no split needed.
  const nl = event.indexOf('\n');
  if (event.startsWith('data: ') && nl >= 0) {
    const lineEnd = event[nl - 1] === '\r' ? nl - 1 : nl;
    if (event.slice(nl).trim() === '') return event.slice(6, lineEnd);
  }
  let data: string | null = null;
  for (const line of event.split(/\r?\n/)) {
    if (line.startsWith('data:')) {
      const v = line.slice(5).replace(/^ /, '');
      data = data === null ? v : `${data}\n${v}`;
    }
  }
  return data;
}
