/**
 * Incremental Server-Sent Events splitter: feeds bytes, yields complete events (raw text including the blank line),
 * so each event can be inspected for `usage` and forwarded at once, never buffering the whole stream.
 */
export class SseSplitter {
  private buffer = '';

  /** Returns the complete events in this chunk. */
  push(chunk: Buffer | string): string[] {
    this.buffer += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    const out: string[] = [];
    for (;;) {
      const m = /\r?\n\r?\n/.exec(this.buffer);
      if (!m) break;
      const end = m.index + m[0].length;
      out.push(this.buffer.slice(0, end));
      this.buffer = this.buffer.slice(end);
    }
    return out;
  }

  /** Whatever is left without a terminating blank line. */
  rest(): string {
    const r = this.buffer;
    this.buffer = '';
    return r;
  }
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
