import { constants, createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from 'node:zlib';
import type { Transform } from 'node:stream';
import { type BodyPipe, type ChunkSink, type UpstreamBody, UpstreamFailure, type UpstreamResponse } from '../core/upstream.js';

// Every upstream request asks for `Accept-Encoding: identity` (http-upstream.ts); an upstream that codes its answer all
// the same has it decoded here, as it arrives, before anything reads it (usage, JSON, events) or relays it: the
// gateway drops Content-Encoding towards its client, so coded bytes went out as if they were the answer (a gzip chat
// answer was a 502 "malformed JSON" billed nothing, speech a corrupt audio file: found by a review).

/** What decoding may hold at once: a body read whole, or a pipe's output its sink has not taken yet (as one SSE event, core/sse.ts). */
export const MAX_DECODED_BYTES = 128 * 1024 * 1024;

/** The codings decoded (RFC 9110 §8.4.1; `x-gzip` is gzip), lower-case. */
const DECODED = new Set(['gzip', 'x-gzip', 'deflate', 'br']);

/**
 * The answer as its upstream meant it: `res` itself when its Content-Encoding names no coding (or only `identity`),
 * else with its body decoded (the codings undone last first) and without Content-Encoding and Content-Length, which
 * described the coded bytes. Throws an UpstreamFailure for a coding it cannot decode (the answer is refused whole,
 * never relayed coded).
 */
export function decodedAnswer(res: UpstreamResponse, provider: string, maxBytes = MAX_DECODED_BYTES): UpstreamResponse {
  const named = res.headers['content-encoding'];
  const codings = (Array.isArray(named) ? named.join(',') : String(named ?? ''))
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  const unknown = codings.find((c) => !DECODED.has(c));
  if (unknown !== undefined) {
    throw new UpstreamFailure('unreachable', `The upstream provider '${provider}' answered in a content coding Tollgate cannot decode (${unknown.slice(0, 64)}), though asked for identity.`);
  }
  const headers = { ...res.headers };
  delete headers['content-encoding'];
  // `identity` alone (or a list naming no coding): the bytes are as they came, and their length with them.
  if (codings.length === 0) return { ...res, headers };
  delete headers['content-length'];
  let body = res.body;
  for (let i = codings.length - 1; i >= 0; i--) body = new DecodedBody(body, codings[i], provider, maxBytes);
  return { ...res, headers, body };
}

/**
 * A decoder for `coding`, made at the body's first byte: `deflate` is zlib-wrapped by the RFC, but some servers send it
 * raw (as browsers, told apart by the first byte: a zlib header's low nibble is 8, deflate's method).
 */
function decoderFor(coding: string, first: number): Transform {
  if (coding === 'br') return createBrotliDecompress({ flush: constants.BROTLI_OPERATION_FLUSH });
  if (coding === 'deflate') return (first & 0x0f) === 8 ? createInflate({ flush: constants.Z_SYNC_FLUSH }) : createInflateRaw({ flush: constants.Z_SYNC_FLUSH });
  return createGunzip({ flush: constants.Z_SYNC_FLUSH });
}

/**
 * A body decoded as it is piped: each piece handed on as the decoder yields it, with backpressure both ways (a sink
 * that pauses holds the upstream; a decoder whose input is full does too). The decoder is never paused itself, so
 * every byte it yields is counted: output the sink has not taken past `maxBytes` (a small coded answer can decode to
 * gigabytes) fails the body, as does read-whole past `maxBytes`. A coded body cut short or corrupt fails it too.
 */
export class DecodedBody implements UpstreamBody {
  private whole: Promise<Buffer> | null = null;

  constructor(
    private readonly inner: UpstreamBody,
    private readonly coding: string,
    private readonly provider: string,
    private readonly maxBytes = MAX_DECODED_BYTES,
  ) {}

  private tooLarge(): UpstreamFailure {
    return new UpstreamFailure('unreachable', `The upstream provider '${this.provider}' answered more than ${this.maxBytes} bytes once decoded (content-encoding ${this.coding}).`);
  }

  readAll(): Promise<Buffer> {
    this.whole ??= new Promise<Buffer>((resolve, reject) => {
      const parts: Buffer[] = [];
      let bytes = 0;
      const piped = this.pipe((chunk) => {
        bytes += chunk.length;
        if (bytes > this.maxBytes) throw this.tooLarge();
        parts.push(chunk);
        return true;
      });
      piped.done.then(() => resolve(parts.length === 1 ? parts[0] : Buffer.concat(parts, bytes)), reject);
    });
    return this.whole;
  }

  pipe(sink: ChunkSink): BodyPipe {
    let decoder: Transform | null = null;
    /** Output the sink has not taken (it paused). */
    const backlog: Buffer[] = [];
    let backlogBytes = 0;
    let sinkPaused = false;
    let decoderFull = false;
    let innerEnded = false;
    let decoderEnded = false;
    let settled = false;
    let innerPipe: BodyPipe | null = null;
    let settle!: { resolve(): void; reject(err: Error): void };
    const done = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      decoder?.destroy();
      innerPipe?.cancel();
      settle.reject(err);
    };
    const finishIfDone = (): void => {
      if (settled || !decoderEnded || backlog.length > 0) return;
      settled = true;
      settle.resolve();
    };
    const give = (chunk: Buffer): void => {
      let more: boolean | undefined;
      try {
        more = sink(chunk);
      } catch (err) {
        fail(err as Error);
        return;
      }
      if (more === false) pause();
    };
    const pause = (): void => {
      sinkPaused = true;
      innerPipe?.pause();
    };
    const resumeInner = (): void => {
      if (!settled && !innerEnded && !sinkPaused && !decoderFull && backlog.length === 0) innerPipe?.resume();
    };
    const onOutput = (chunk: Buffer): void => {
      if (settled) return;
      if (!sinkPaused && backlog.length === 0) {
        give(chunk);
        return;
      }
      backlog.push(chunk);
      backlogBytes += chunk.length;
      if (backlogBytes > this.maxBytes) fail(this.tooLarge());
    };
    const start = (first: number): Transform => {
      const d = decoderFor(this.coding, first);
      d.on('data', onOutput);
      d.on('drain', () => {
        decoderFull = false;
        resumeInner();
      });
      d.once('end', () => {
        decoderEnded = true;
        finishIfDone();
      });
      d.once('error', (err: Error) => fail(new UpstreamFailure('unreachable', `The upstream provider '${this.provider}' answered a body its content-encoding (${this.coding}) does not decode: ${err.message}`)));
      return d;
    };
    innerPipe = this.inner.pipe((chunk) => {
      if (settled || chunk.length === 0) return true;
      decoder ??= start(chunk[0]);
      decoderFull = !decoder.write(chunk);
      return !(decoderFull || sinkPaused || backlog.length > 0);
    });
    innerPipe.done.then(
      () => {
        innerEnded = true;
        if (decoder) decoder.end();
        else {
          // No body at all (a HEAD's, a 204's): nothing to decode.
          decoderEnded = true;
          finishIfDone();
        }
      },
      (err: Error) => fail(err),
    );
    return {
      done,
      pause,
      resume: () => {
        if (settled) return;
        sinkPaused = false;
        while (backlog.length > 0 && !sinkPaused && !settled) {
          const chunk = backlog.shift() as Buffer;
          backlogBytes -= chunk.length;
          give(chunk);
        }
        finishIfDone();
        resumeInner();
      },
      cancel: () => fail(new UpstreamFailure('aborted', 'The request was aborted.')),
    };
  }
}
