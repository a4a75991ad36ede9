import { type Dispatcher, errors as undiciErrors, util } from 'undici';
import type { BodyPipe, ChunkSink, UpstreamBody, UpstreamRequest, UpstreamResponse } from '../core/upstream.js';
import { decodedAnswer } from './content-coding.js';

type Signal = UpstreamRequest['signal'];

interface Settle {
  resolve(): void;
  reject(err: Error): void;
}

/**
 * One request to an upstream through undici's dispatcher handler callbacks, without the stream machinery of
 * `request()`: measured, 13 µs of CPU per exchange instead of 17–25 µs. The answer's headers resolve `response`;
 * its body is read whole (`readAll`), or piped: each chunk handed to a sink as the socket delivers it, in the same
 * turn of the event loop, with backpressure (the sink returns false to pause the socket until `resume`). An answer
 * with a Content-Encoding is handed on decoded (content-coding.ts), or refused when its coding is not one decoded.
 */
export class Exchange implements Dispatcher.DispatchHandler, UpstreamBody {
  readonly response: Promise<UpstreamResponse>;
  private settleHeaders!: { resolve(r: UpstreamResponse): void; reject(e: Error): void };
  private abortRequest: ((err: Error) => void) | null = null;
  private resumeSocket: (() => void) | null = null;
  private chunks: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private error: Error | null = null;
  /** readAll's wait for the end, or the pipe's. */
  private settle: Settle | null = null;
  private sink: ChunkSink | null = null;
  private paused = false;
  private sinkFailed = false;
  private readonly onSignal = () => this.abort(new undiciErrors.RequestAbortedError());

  constructor(
    private readonly signal: Signal,
    /** The provider's name, for the failures of a coded answer. */
    private readonly provider = 'upstream',
  ) {
    this.response = new Promise((resolve, reject) => {
      this.settleHeaders = { resolve, reject };
    });
    if ('addEventListener' in signal) signal.addEventListener('abort', this.onSignal, { once: true });
    else signal.onAbort(this.onSignal);
  }

  private abort(err: Error): void {
    if (this.abortRequest) this.abortRequest(err);
    else this.onError(err);
  }

  private release(): void {
    const s = this.signal;
    if ('removeEventListener' in s) s.removeEventListener('abort', this.onSignal);
    else s.onAbort(null);
  }

  private finish(): void {
    const s = this.settle;
    this.settle = null;
    if (!s) return;
    if (this.error) s.reject(this.error);
    else s.resolve();
  }

  // --- undici's handler callbacks

  onConnect(abort: (err?: Error) => void): void {
    this.abortRequest = abort;
    if (this.signal.aborted) abort(new undiciErrors.RequestAbortedError());
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    this.resumeSocket = resume;
    const headers = util.parseHeaders(rawHeaders);
    const answer: UpstreamResponse = { statusCode, headers, body: this };
    // Nearly every answer names no coding: one property read.
    if (headers['content-encoding'] === undefined) {
      this.settleHeaders.resolve(answer);
      return true;
    }
    let decoded: UpstreamResponse;
    try {
      decoded = decodedAnswer(answer, this.provider);
    } catch (err) {
      this.abort(err as Error);
      return false;
    }
    this.settleHeaders.resolve(decoded);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.sink && !this.paused) return this.deliver(chunk);
    this.chunks.push(chunk);
    this.queued += chunk.length;
    // A paused pipe keeps what the socket had already read, and asks undici to read no more.
    return !this.paused;
  }

  onComplete(): void {
    this.ended = true;
    this.release();
    // A paused pipe still holds chunks to deliver: it finishes once they are.
    if (!(this.sink && this.queued > 0)) this.finish();
  }

  onError(err: Error): void {
    this.error = err;
    this.release();
    this.settleHeaders.reject(err);
    this.finish();
  }

  // --- the body, for the gateway

  /**
   * Hands a chunk to the sink; a sink that throws aborts the exchange with its error, and gets no further chunk. An
   * exchange already over (its body read before the pipe: a small file) fails its pipe with that error: aborting it
   * did nothing, and the pipe ended as if the sink had taken every chunk.
   */
  private deliver(chunk: Buffer): boolean {
    if (this.sinkFailed) return true;
    try {
      if ((this.sink as ChunkSink)(chunk) !== false) return true;
    } catch (err) {
      this.sinkFailed = true;
      if (this.ended) this.error ??= err as Error;
      else this.abort(err as Error);
      return true;
    }
    this.paused = true;
    return false;
  }

  private all(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.queued);
  }

  readAll(): Promise<Buffer> {
    if (this.error) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve(this.all());
    return new Promise<Buffer>((resolve, reject) => {
      this.settle = { resolve: () => resolve(this.all()), reject };
    });
  }

  /** Delivers the chunks read while there was no sink or it was paused; true when all went. */
  private drainQueued(): boolean {
    while (this.chunks.length > 0 && !this.paused) {
      const chunk = this.chunks.shift() as Buffer;
      this.queued -= chunk.length;
      this.deliver(chunk);
    }
    if (this.chunks.length > 0) return false;
    if (this.ended || this.error) this.finish();
    return true;
  }

  pipe(sink: ChunkSink): BodyPipe {
    this.sink = sink;
    const done = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.drainQueued();
    return {
      done,
      pause: () => {
        this.paused = true;
      },
      resume: () => {
        if (!this.paused) return;
        this.paused = false;
        if (this.drainQueued() && !this.paused && !this.ended) this.resumeSocket?.();
      },
      cancel: () => {
        if (!this.ended && !this.error) this.abort(new undiciErrors.RequestAbortedError());
      },
    };
  }
}
