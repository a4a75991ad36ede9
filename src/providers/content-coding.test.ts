import { brotliCompressSync, constants, createGzip, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { UpstreamFailure, type UpstreamResponse } from '../core/upstream.js';
import { bufferedBody } from './body.js';
import { DecodedBody, decodedAnswer } from './content-coding.js';

const answer = (encoding: string | string[] | undefined, chunks: Buffer[]): UpstreamResponse => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json', 'content-encoding': encoding, 'content-length': '12' },
  body: bufferedBody(chunks),
});

/** A gzip stream of `parts`, flushed after each, as its pieces: what a compressing server sends event by event. */
async function flushedGzip(parts: string[]): Promise<Buffer[]> {
  const gz = createGzip();
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const pieces: Buffer[] = [];
  for (const p of parts) {
    gz.write(p);
    await new Promise<void>((r) => gz.flush(constants.Z_SYNC_FLUSH, () => r()));
    pieces.push(Buffer.concat(out.splice(0)));
  }
  const ended = new Promise((r) => gz.once('end', r));
  gz.end();
  await ended;
  pieces.push(Buffer.concat(out.splice(0)));
  return pieces;
}

describe('decodedAnswer', () => {
  it('leaves an answer without a coding (or identity only) as it is but for the header', async () => {
    const plain = answer(undefined, [Buffer.from('{}')]);
    expect(decodedAnswer(plain, 'p').body).toBe(plain.body);
    const identity = decodedAnswer(answer('Identity', [Buffer.from('{}')]), 'p');
    expect(identity.headers['content-encoding']).toBeUndefined();
    // Its length still describes its bytes (dropped, a download lost its length and a HEAD its only answer: a review).
    expect(identity.headers['content-length']).toBe('12');
    expect(decodedAnswer(answer(' , identity', [Buffer.from('{}')]), 'p').headers['content-length']).toBe('12');
    expect((await identity.body.readAll()).toString()).toBe('{}');
  });

  it('decodes stacked codings last first, in any case, and drops the coded length', async () => {
    const coded = brotliCompressSync(gzipSync('{"a":1}'));
    const res = decodedAnswer(answer(['GZIP', ' BR'], [coded.subarray(0, 3), coded.subarray(3)]), 'p');
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.headers['content-type']).toBe('application/json');
    expect((await res.body.readAll()).toString()).toBe('{"a":1}');
  });

  it('refuses a coding it cannot decode, naming it', () => {
    expect(() => decodedAnswer(answer('gzip, zstd', []), 'prov')).toThrow(/prov.*zstd/);
    expect(() => decodedAnswer(answer('compress', []), 'prov')).toThrow(UpstreamFailure);
  });
});

describe('DecodedBody', () => {
  it('hands on each piece as it is decoded, before the coded body has ended', async () => {
    const pieces = await flushedGzip(['data: 1\n\n', 'data: 2\n\n']);
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    // The first piece now; the rest only once the first event came out.
    const inner = {
      readAll: async () => Buffer.concat(pieces),
      pipe: (sink: (c: Buffer) => boolean | undefined) => {
        const done = (async () => {
          sink(pieces[0]);
          await held;
          for (const p of pieces.slice(1)) sink(p);
        })();
        return { done, pause() {}, resume() {}, cancel() {} };
      },
    };
    const got: string[] = [];
    const piped = new DecodedBody(inner, 'gzip', 'p').pipe((c) => {
      got.push(c.toString());
      release();
      return true;
    });
    await piped.done;
    expect(got[0]).toBe('data: 1\n\n');
    expect(got.join('')).toBe('data: 1\n\ndata: 2\n\n');
  });

  it('a sink that pauses holds the output until resume', async () => {
    const text = 'x'.repeat(200_000);
    const coded = gzipSync(text);
    const got: Buffer[] = [];
    const piped = new DecodedBody(bufferedBody([coded.subarray(0, 100), coded.subarray(100)]), 'gzip', 'p').pipe((c) => {
      got.push(c);
      return false;
    });
    while (got.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    expect(got.length).toBe(1);
    let ended = false;
    piped.done.then(() => {
      ended = true;
    });
    while (!ended) {
      piped.resume();
      await new Promise((r) => setImmediate(r));
    }
    expect(Buffer.concat(got).toString()).toBe(text);
  });

  it('a decompression bomb fails once its output passes the bound, read whole or held by a paused sink', async () => {
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(64 * 1024);
    await expect(new DecodedBody(bufferedBody([bomb]), 'gzip', 'p', 1024 * 1024).readAll()).rejects.toThrow(/more than 1048576 bytes once decoded/);
    const paused = new DecodedBody(bufferedBody([bomb]), 'gzip', 'p', 1024 * 1024).pipe(() => false);
    await expect(paused.done).rejects.toThrow(/more than 1048576 bytes/);
    // A sink that keeps up takes it all, whatever its size: a download is not held.
    let bytes = 0;
    await new DecodedBody(bufferedBody([bomb]), 'gzip', 'p', 1024 * 1024).pipe((c) => {
      bytes += c.length;
      return true;
    }).done;
    expect(bytes).toBe(8 * 1024 * 1024);
  });

  it('a corrupt or cut-short coded body fails; an empty one is empty', async () => {
    await expect(new DecodedBody(bufferedBody([Buffer.from('not gzip at all')]), 'gzip', 'p').readAll()).rejects.toThrow(/does not decode/);
    const coded = gzipSync('{"a":1}');
    await expect(new DecodedBody(bufferedBody([coded.subarray(0, coded.length - 6)]), 'gzip', 'p').readAll()).rejects.toThrow(UpstreamFailure);
    expect((await new DecodedBody(bufferedBody([]), 'br', 'p').readAll()).length).toBe(0);
  });

  it('read whole twice gives the same bytes; a cancelled pipe settles', async () => {
    const body = new DecodedBody(bufferedBody([gzipSync('hello')]), 'gzip', 'p');
    expect((await body.readAll()).toString()).toBe('hello');
    expect((await body.readAll()).toString()).toBe('hello');
    const piped = new DecodedBody(bufferedBody([gzipSync('hello')]), 'gzip', 'p').pipe(() => true);
    piped.cancel();
    await expect(piped.done).rejects.toThrow(/aborted/);
  });
});
