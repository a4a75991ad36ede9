// An event ends with a blank line: "\n\n", or "\r\n\r\n" (whose last three bytes are "\n\r\n"). The searches below
// are plain loops from where the boundary usually is (right before or after the position asked about, or at the end
// of a chunk): a native indexOf per needle and direction cost more in call overhead than these short walks. They, and
// splitEvents and eventData, read what SseFramer hands on, whose line ends are LF or CRLF only: a lone CR, which ends a
// line as well (WHATWG HTML, "Parsing an event stream"), it hands on as LF (withLoneCrAsLf).

const LF = 0x0a;
const CR = 0x0d;

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
 * `buf` with every CR that no LF follows in it (a line end of its own, or the last byte) made LF: its lines then end with
 * LF or CRLF only, as every reader of events here expects, and its length is the same. `buf` itself when it has none.
 */
export function withLoneCrAsLf(buf: Buffer): Buffer {
  let out: Buffer | null = null;
  for (let i = buf.indexOf(CR); i >= 0; i = buf.indexOf(CR, i + 1)) {
    if (buf[i + 1] === LF) continue;
    out ??= Buffer.from(buf);
    out[i] = LF;
  }
  return out ?? buf;
}

/**
 * Whether a blank line (an event's end) ends just before a byte whose three predecessors are `b1`, `b2`, `b3`. A line ends with CRLF, LF or CR (WHATWG HTML, "Parsing an event stream"), so a blank line ends wherever a line
 * end follows another: LF LF, CR CR, LF CR, and the LF of a CRLF after a line end (LF CR LF, CR CR LF). A CR that
 * ends a blank line may still be followed by its LF: the event is framed at the CR, the LF opens the next bytes.
 */
function blankLineEnds(b1: number, b2: number, b3: number): boolean {
  if (b1 === CR) return b2 === CR || b2 === LF;
  if (b1 !== LF) return false;
  return b2 === LF || (b2 === CR && (b3 === CR || b3 === LF));
}

/**
 * Just past the last blank line in `chunk` (not empty), or 0 when it has none; `l1`, `l2`: the stream's last two bytes
 * before it.
 * The line ends are found by the native search (a JavaScript loop over a 16 KiB chunk of base64 cost several times more).
 */
function lastBlankLineEnd(chunk: Buffer, l1: number, l2: number): number {
  const n = chunk.length;
  // Where it nearly always is: at the end.
  if (blankLineEnds(chunk[n - 1], n >= 2 ? chunk[n - 2] : l1, n >= 3 ? chunk[n - 3] : n === 2 ? l1 : l2)) return n;
  let lf = chunk.lastIndexOf(LF);
  let cr = chunk.lastIndexOf(CR);
  while (lf >= 0 || cr >= 0) {
    const i = Math.max(lf, cr);
    if (blankLineEnds(chunk[i], i >= 1 ? chunk[i - 1] : l1, i >= 2 ? chunk[i - 2] : i === 1 ? l1 : l2)) return i + 1;
    // lastIndexOf(x, -1) would search from the end again.
    if (i === lf) lf = i > 0 ? chunk.lastIndexOf(LF, i - 1) : -1;
    else cr = i > 0 ? chunk.lastIndexOf(CR, i - 1) : -1;
  }
  return 0;
}

/**
 * Largest unfinished event SseFramer holds by default: above OpenAI's largest single events (a whole base64 image,
 * ~8 MiB for a 1536×1024 PNG at worst, repeated in a Responses stream's response.completed) and a 4096×4096 RGBA PNG
 * that does not compress (~85 MiB in base64), below V8's longest string (~512 MiB), which reading it would need.
 */
export const MAX_SSE_EVENT_BYTES = 128 * 1024 * 1024;

/** Thrown by SseFramer.push when one event grows past the framer's bound: the stream is to be cut there. */
export class SseEventTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`An upstream stream event grew past ${limit} bytes.`);
    this.name = 'SseEventTooLarge';
  }
}

/**
 * Incremental Server-Sent Events framing over bytes: `push` returns the complete events of what has arrived (up to the
 * last blank line) as one Buffer, keeping an unfinished event for the next chunk. Working on bytes, a multi-byte UTF-8
 * character split across two chunks is never decoded half by half; and complete events can be forwarded as they came.
 * Each byte is looked at once (only a new chunk is searched, the stream's last two bytes standing in for what came
 * before it) and an unfinished event's chunks are joined once, when it ends: a 10 MiB event in 16 KiB chunks was joined
 * and searched again with every chunk, 6.9 s of CPU. An event still unfinished past `maxEventBytes` throws
 * SseEventTooLarge (an upstream that never sends a blank line held the process's memory without end).
 * A stream that ends its lines with a lone CR (seen where its events end: a blank line that ends at a CR) has every lone
 * CR handed on as LF from then on (withLoneCrAsLf), so that the readers after it know its lines: its usage went unread,
 * the usage chunk asked for on the client's behalf reached the client, and an error followed [DONE] (found by a
 * review). A stream whose events end with LF is not searched for CRs: one that ended its lines with lone CRs but its
 * events with LF would mix line ends within each event, which no server does.
 */
export class SseFramer {
  /** The unfinished event's chunks, joined when it ends. */
  private parts: Buffer[] = [];
  private pendingBytes = 0;
  /**
   * The stream's last two bytes while an event is unfinished. After a blank line (or at the start) any line end opens
   * one more, whatever the bytes before it were: LF LF stands for them.
   */
  private last1 = LF;
  private last2 = LF;
  /** Whether the stream ends lines with a lone CR: a blank line ended at a CR. */
  private crLines = false;

  constructor(private readonly maxEventBytes = MAX_SSE_EVENT_BYTES) {}

  /** The complete events in the bytes received so far (null when none is complete yet). */
  push(chunk: Buffer): Buffer | null {
    const n = chunk.length;
    const held = this.pendingBytes;
    // Nearly every chunk is whole events ending "\n\n", with nothing held before it.
    if (held === 0 && n >= 2 && chunk[n - 1] === LF && chunk[n - 2] === LF && !this.crLines) return chunk;
    if (n === 0) return null;
    const end = lastBlankLineEnd(chunk, this.last1, this.last2);
    let events: Buffer | null = null;
    if (end > 0) {
      events = end === n ? chunk : chunk.subarray(0, end);
      if (held > 0) {
        const parts = this.parts;
        events = parts.length === 1 ? Buffer.concat([parts[0], events], held + end) : Buffer.concat([...parts, events], held + end);
        this.parts = [];
        this.pendingBytes = 0;
      }
      if (this.crLines || chunk[end - 1] === CR) {
        this.crLines = true;
        events = withLoneCrAsLf(events);
      }
      if (end === n) {
        this.last1 = LF;
        this.last2 = LF;
        return events;
      }
    }
    this.hold(end === 0 ? chunk : chunk.subarray(end));
    this.last2 = n >= 2 ? chunk[n - 2] : this.last1;
    this.last1 = chunk[n - 1];
    return events;
  }

  private hold(bytes: Buffer): void {
    this.pendingBytes += bytes.length;
    if (this.pendingBytes > this.maxEventBytes) {
      this.parts = [];
      this.pendingBytes = 0;
      throw new SseEventTooLarge(this.maxEventBytes);
    }
    this.parts.push(bytes);
  }

  /** Whatever is left without a terminating blank line (its lone CRs as LF). */
  rest(): Buffer | null {
    const parts = this.parts;
    this.parts = [];
    this.pendingBytes = 0;
    if (parts.length === 0) return null;
    return withLoneCrAsLf(parts.length === 1 ? parts[0] : Buffer.concat(parts));
  }
}

/** The events of complete SSE text (line ends LF or CRLF: SseFramer's), each with its terminating blank line. */
export function splitEvents(text: string): string[] {
  return text.split(/(?<=\r?\n\r?\n)/).filter((e) => e.length > 0);
}

/** The `data:` payload of an event (line ends LF or CRLF: SseFramer's; multi-line data joined), or null. */
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
