import { describe, expect, it } from 'vitest';
import type { BodyPipe, ChunkSink, UpstreamBody, UpstreamResponse } from '../../core/upstream.js';
import { BodyTail, mayQuoteRequest, readBounded } from './pass-through.js';

/** An upstream body that hands over chunks when told to, pausing as undici does when its sink returns false. */
function source() {
  let sink: ChunkSink | null = null;
  let paused = false;
  const queued: Buffer[] = [];
  let settle!: { resolve(): void; reject(e: Error): void };
  const done = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const deliver = () => {
    while (queued.length > 0 && !paused) if ((sink as ChunkSink)(queued.shift() as Buffer) === false) paused = true;
  };
  const body: UpstreamBody = {
    readAll: () => Promise.reject(new Error('not used')),
    pipe(s: ChunkSink): BodyPipe {
      sink = s;
      return {
        done,
        pause: () => {
          paused = true;
        },
        resume: () => {
          paused = false;
          deliver();
        },
        cancel: () => settle.reject(new Error('cancelled')),
      };
    },
  };
  return {
    body,
    send(text: string) {
      queued.push(Buffer.from(text));
      deliver();
    },
    end: () => settle.resolve(),
    fail: () => settle.reject(new Error('broken off')),
    get paused() {
      return paused;
    },
  };
}

describe('readBounded', () => {
  it('reads a body up to its bound whole', async () => {
    const up = source();
    const read = readBounded(up.body, 10);
    up.send('{"a":');
    up.send('12}');
    up.end();
    const { over, body } = await read;
    expect(over).toBe(false);
    expect((await body.readAll()).toString()).toBe('{"a":12}');
  });

  it("hands on a body that broke off before its bound as the upstream's error", async () => {
    const up = source();
    const read = readBounded(up.body, 10);
    up.send('{"a":');
    up.fail();
    const { over, body } = await read;
    expect(over).toBe(false);
    await expect(body.readAll()).rejects.toThrow('broken off');
  });

  it('past its bound, holds the upstream and hands on what was read, then the rest, at the pace of the reader', async () => {
    const up = source();
    const read = readBounded(up.body, 10);
    up.send('0123456');
    up.send('789abc');
    const { over, body } = await read;
    expect(over).toBe(true);
    // The upstream waits for the reader.
    expect(up.paused).toBe(true);
    up.send('def');
    const got: string[] = [];
    let full = true;
    const pipe = body.pipe((c) => {
      got.push(c.toString());
      return !full;
    });
    // The reader took one chunk and is full: nothing more until it resumes.
    expect(got).toEqual(['0123456']);
    let ended = false;
    pipe.done.then(() => {
      ended = true;
    });
    up.end();
    await Promise.resolve();
    await Promise.resolve();
    expect(ended).toBe(false);
    // The upstream has ended, but what was read has not all gone: not done yet.
    full = false;
    pipe.resume();
    await pipe.done;
    expect(got.join('')).toBe('0123456789abcdef');
  });

  it('past its bound, fails when the upstream breaks off', async () => {
    const up = source();
    const read = readBounded(up.body, 4);
    up.send('0123456');
    const { body } = await read;
    const pipe = body.pipe(() => true);
    up.fail();
    await expect(pipe.done).rejects.toThrow('broken off');
  });
});

describe('mayQuoteRequest', () => {
  const answer = (type: string | undefined, statusCode = 200) => ({ statusCode, headers: type === undefined ? {} : { 'content-type': type } }) as unknown as UpstreamResponse;

  it('reads whole the text that may quote the request (TRACE, an echo, a page, no type), never a file or a stream', () => {
    for (const type of ['message/http', 'text/plain; charset=utf-8', 'TEXT/HTML', 'application/xml', 'application/soap+xml', undefined]) expect(mayQuoteRequest(answer(type), '/chat/completions', 'OPTIONS'), String(type)).toBe(true);
    for (const type of ['text/event-stream', 'audio/mpeg', 'application/octet-stream', 'image/png']) expect(mayQuoteRequest(answer(type), '/chat/completions', 'POST'), type).toBe(false);
    expect(mayQuoteRequest(answer('text/plain'), '/files/{file_id}/content', 'GET')).toBe(false);
    expect(mayQuoteRequest(answer('text/plain'), '/files', 'HEAD')).toBe(false);
    expect(mayQuoteRequest(answer('text/plain', 204), '/files', 'DELETE')).toBe(false);
  });
});

describe('BodyTail', () => {
  it('keeps the first byte and the last bytes of a body, whatever its chunks, and holds no more than it needs', () => {
    const body = Buffer.from(`{${'x'.repeat(1000)}"usage":{"output_tokens":1}}`);
    for (const size of [1, 7, 64, 999, 5000]) {
      const tail = new BodyTail(100);
      for (let at = 0; at < body.length; at += size) tail.push(body.subarray(at, at + size));
      tail.push(Buffer.alloc(0));
      expect(tail.first).toBe(0x7b);
      expect(tail.last().toString()).toBe(body.subarray(-100).toString());
      // What it holds: the last chunks that cover 100 bytes.
      expect((tail as unknown as { bytes: number }).bytes).toBeLessThan(100 + size);
    }
    const short = new BodyTail(100);
    short.push(Buffer.from('{}'));
    expect(short.last().toString()).toBe('{}');
    expect(new BodyTail(100).first).toBe(-1);
  });
});
