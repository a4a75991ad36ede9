// Incremental parser for `git cat-file --batch` output: for each object a header line
// `<oid> <type> <size>\n`, then <size> bytes of content and a `\n` (or `<oid> missing\n`).
// See git-cat-file(1), "BATCH OUTPUT". Pure: it only sees chunks of bytes.

/** One object from the stream; content is null when the object is over the size limit (it was skipped). */
export interface BatchObject {
  oid: string;
  type: string;
  size: number;
  content: Buffer | null;
}

interface Header {
  oid: string;
  type: string;
  size: number;
}

const EMPTY = Buffer.alloc(0);

export class CatFileBatchParser {
  private buf: Buffer = EMPTY;
  private header: Header | null = null;
  // While a large body arrives, chunks are collected and joined once (joining per chunk would be quadratic).
  private parts: Buffer[] | null = null;
  private collected = 0;
  // Bytes of an over-limit body (plus its newline) still to discard.
  private skipping = 0;

  /** @param maxSize objects larger than this are reported without content, and never buffered. */
  constructor(private readonly maxSize: number) {}

  /** Feeds a chunk; returns the objects it completed. */
  push(chunk: Buffer): BatchObject[] {
    const out: BatchObject[] = [];
    let data = chunk;
    if (this.skipping > 0) {
      const n = Math.min(this.skipping, data.length);
      this.skipping -= n;
      data = data.subarray(n);
    }
    if (this.parts) {
      this.parts.push(data);
      this.collected += data.length;
      if (!this.header || this.collected < this.header.size + 1) return out;
      this.buf = Buffer.concat(this.parts);
      this.parts = null;
    } else {
      this.buf = this.buf.length > 0 ? Buffer.concat([this.buf, data]) : data;
    }

    for (;;) {
      if (!this.header) {
        const nl = this.buf.indexOf(10);
        if (nl === -1) break;
        const line = this.buf.subarray(0, nl).toString('latin1');
        this.buf = this.buf.subarray(nl + 1);
        const [oid, type, size] = line.split(' ');
        if (type === 'missing' || type === 'ambiguous') continue;
        if (size === undefined || !/^\d+$/.test(size)) throw new Error(`unexpected git cat-file output: ${line}`);
        this.header = { oid, type, size: Number(size) };
      }
      const { oid, type, size } = this.header;
      if (size > this.maxSize) {
        out.push({ oid, type, size, content: null });
        this.header = null;
        const n = Math.min(size + 1, this.buf.length);
        this.skipping = size + 1 - n;
        this.buf = this.buf.subarray(n);
        if (this.skipping > 0) break;
        continue;
      }
      if (this.buf.length < size + 1) {
        this.parts = [this.buf];
        this.collected = this.buf.length;
        this.buf = EMPTY;
        break;
      }
      out.push({ oid, type, size, content: this.buf.subarray(0, size) });
      this.buf = this.buf.subarray(size + 1);
      this.header = null;
    }
    return out;
  }

  /** Checks that the stream ended between objects. */
  end(): void {
    if (this.header || this.skipping > 0 || this.buf.length > 0 || this.parts) {
      throw new Error('git cat-file output ended in the middle of an object');
    }
  }
}
