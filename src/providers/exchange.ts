import type { EventEmitter } from 'node:events';
import { type Dispatcher, errors as undiciErrors, util } from 'undici';
import type { UpstreamBody, UpstreamResponse } from './types.js';

type Signal = AbortSignal | (EventEmitter & { aborted: boolean });

/** Unconsumed bytes of a streamed answer past which the upstream socket is paused until the client catches up. */
const HIGH_WATER = 64 * 1024;

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

/**
 * One request to an upstream through undici's dispatcher handler callbacks, without the stream machinery of
 * `request()`: measured, 13 µs of CPU per exchange instead of 17–25 µs. The answer's headers resolve `response`;
 * its body is read whole (`readAll`) or iterated as it arrives, with backpressure (the socket pauses past HIGH_WATER).
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
  private waiter: Waiter | null = null;
  private iterating = false;
  private paused = false;
  private readonly onSignal = () => this.abort(new undiciErrors.RequestAbortedError());

  constructor(private readonly signal: Signal) {
    this.response = new Promise((resolve, reject) => {
      this.settleHeaders = { resolve, reject };
    });
    if ('addEventListener' in signal) signal.addEventListener('abort', this.onSignal, { once: true });
    else signal.once('abort', this.onSignal);
  }

  private abort(err: Error): void {
    if (this.abortRequest) this.abortRequest(err);
    else this.onError(err);
  }

  private release(): void {
    const s = this.signal;
    if ('removeEventListener' in s) s.removeEventListener('abort', this.onSignal);
    else s.off('abort', this.onSignal);
  }

  private wake(): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = null;
    if (this.error) w.reject(this.error);
    else w.resolve();
  }

  // --- undici's handler callbacks

  onConnect(abort: (err?: Error) => void): void {
    this.abortRequest = abort;
    if (this.signal.aborted) abort(new undiciErrors.RequestAbortedError());
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    this.resumeSocket = resume;
    this.settleHeaders.resolve({ statusCode, headers: util.parseHeaders(rawHeaders), body: this });
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.queued += chunk.length;
    this.wake();
    if (this.iterating && this.queued > HIGH_WATER) {
      this.paused = true;
      return false;
    }
    return true;
  }

  onComplete(): void {
    this.ended = true;
    this.release();
    this.wake();
  }

  onError(err: Error): void {
    this.error = err;
    this.release();
    this.settleHeaders.reject(err);
    this.wake();
  }

  // --- the body, for the gateway

  private next(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  async readAll(): Promise<Buffer> {
    while (!this.ended) {
      if (this.error) throw this.error;
      await this.next();
    }
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.queued);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    this.iterating = true;
    try {
      for (;;) {
        if (this.chunks.length > 0) {
          const chunk = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.queued);
          this.chunks = [];
          this.queued = 0;
          if (this.paused) {
            this.paused = false;
            this.resumeSocket?.();
          }
          yield chunk;
          continue;
        }
        if (this.error) throw this.error;
        if (this.ended) return;
        await this.next();
      }
    } finally {
      // A consumer that stops early (client gone) frees the upstream connection.
      if (!this.ended && !this.error) this.abort(new undiciErrors.RequestAbortedError());
    }
  }
}
