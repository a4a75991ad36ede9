import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { BodyPipe, ChunkSink, UpstreamBody, UpstreamResponse } from '../../core/upstream.js';
import { cutIfStalled } from './client-stall.js';
import { mediaTypeOf } from '../../core/media-types.js';
import type { ProviderKeyWatch } from '../../core/provider-details.js';

/** Answers larger than this (declared, or found so as they are read), or not JSON, are streamed through instead of read whole. */
export const BUFFER_LIMIT = 8 * 1024 * 1024;

/**
 * Whether a successful answer that is not a model call goes through as it arrives (file contents, batch outputs,
 * audio, large lists) rather than read whole: a download starts at once and holds one chunk in memory, not the whole
 * file (4 parallel 200 MB downloads took the process from 280 MB to 1.9 GB when they were buffered). JSON answers up to
 * BUFFER_LIMIT stay buffered: the gateway reads some of them (usage, object ids); one of unknown length is read
 * through readBounded, which lets it go through past BUFFER_LIMIT.
 */
export function streamsThrough(up: UpstreamResponse, route: string): boolean {
  if (route.endsWith('/content')) return true;
  const type = String(up.headers['content-type'] ?? '').toLowerCase();
  const length = Number(up.headers['content-length']);
  if (Number.isFinite(length) && length > BUFFER_LIMIT) return true;
  return !type.includes('json');
}

/**
 * Relays an answer chunk by chunk, pausing the upstream while the client's socket is full (and cutting a client that
 * takes nothing for `stallMs`: client-stall.ts). Resolves with whether the whole body arrived; a body the upstream
 * broke off, or a client that went away, ends with the socket destroyed (the status line has been sent, so no error
 * answer can follow).
 */
export async function relayPassThrough(
  raw: ServerResponse,
  up: UpstreamResponse,
  headers: OutgoingHttpHeaders,
  isClientGone: () => boolean,
  stallMs: number,
  tail?: BodyTail,
  watch?: ProviderKeyWatch,
): Promise<boolean> {
  const length = up.headers['content-length'];
  if (typeof length === 'string' && /^\d+$/.test(length)) headers['content-length'] = length;
  raw.writeHead(up.statusCode, headers);
  const onDrain = () => piped.resume();
  // A provider key found in the answer (watch): the answer is cut before it, as one the upstream broke off.
  let keyFound = false;
  const piped = up.body.pipe((whole) => {
    tail?.push(whole);
    if (raw.destroyed || keyFound) return true;
    let room: boolean;
    if (watch) {
      const parts = watch.next(whole);
      if (parts === null) {
        keyFound = true;
        raw.destroy();
        return true;
      }
      room = true;
      for (const part of parts) room = raw.write(part);
    } else room = raw.write(whole);
    if (room) return true;
    raw.once('drain', onDrain);
    cutIfStalled(raw, stallMs);
    return false;
  });
  let whole = true;
  try {
    await piped.done;
  } catch {
    whole = false;
  } finally {
    raw.off('drain', onDrain);
  }
  if (keyFound) whole = false;
  if (!whole || isClientGone()) raw.destroy();
  else {
    if (watch) raw.write(watch.flush());
    raw.end();
    if (!raw.writableFinished) cutIfStalled(raw, stallMs);
  }
  return whole && !isClientGone();
}

/**
 * Whether an answer passed through is text that may quote the request it answers (TRACE's `message/http`, an echoing
 * server's `text/plain`, an HTML or XML page, an answer without a type), other than a file's content or an event stream:
 * relayClearedText reads it whole, when small, to clear the provider's key from it. (A JSON answer that small was read
 * whole already, and cleared: proxy.ts.)
 */
export function mayQuoteRequest(up: UpstreamResponse, route: string, method: string): boolean {
  // Without a body (its length is the GET's): passed on as it is.
  if (method === 'HEAD' || up.statusCode === 204 || up.statusCode === 304 || route.endsWith('/content')) return false;
  const type = mediaTypeOf(up.headers['content-type']);
  if (type === 'text/event-stream') return false;
  return type === '' || type.startsWith('text/') || type.startsWith('message/') || type.endsWith('xml');
}

/**
 * Relays a text answer (mayQuoteRequest) read whole and passed through `clear`, when it is no larger than BUFFER_LIMIT;
 * a larger one goes through as it arrives (relayPassThrough), with what was read first. Resolves as relayPassThrough.
 */
export async function relayClearedText(
  raw: ServerResponse,
  up: UpstreamResponse,
  headers: OutgoingHttpHeaders,
  isClientGone: () => boolean,
  stallMs: number,
  clear: (text: string) => string,
  watch?: ProviderKeyWatch,
): Promise<boolean> {
  const read = await readBounded(up.body, BUFFER_LIMIT);
  if (read.over) return relayPassThrough(raw, { ...up, body: read.body }, headers, isClientGone, stallMs, undefined, watch);
  let buf: Buffer;
  try {
    buf = await read.body.readAll();
  } catch {
    // Broken off by the upstream: nothing was sent yet, but the client is told as a pass-through's would be, cut off.
    raw.destroy();
    return false;
  }
  // Read byte for byte (latin1): the keys are ASCII, and text in any ASCII-compatible charset comes out as it went in.
  const text = buf.toString('latin1');
  const cleared = clear(text);
  const out = cleared === text ? buf : Buffer.from(cleared, 'latin1');
  if (isClientGone() || raw.destroyed) {
    raw.destroy();
    return false;
  }
  headers['content-length'] = out.length;
  raw.writeHead(up.statusCode, headers);
  raw.end(out);
  if (!raw.writableFinished) cutIfStalled(raw, stallMs);
  return true;
}

/**
 * The first byte and the last `size` bytes of a body as it passes (relayPassThrough), for what an answer too large to
 * hold says at its end: the usage of an image or transcription answer. Holds a few chunks, never the body.
 */
export class BodyTail {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  /** The body's first byte, or -1 before any. */
  first = -1;
  constructor(private readonly size: number) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.first < 0) this.first = chunk[0];
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.chunks.length > 1 && this.bytes - this.chunks[0].length >= this.size) this.bytes -= this.chunks.shift()?.length ?? 0;
  }

  /** The last `size` bytes (fewer when the body was shorter). */
  last(): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.bytes);
    return all.subarray(Math.max(0, all.length - this.size));
  }
}

/**
 * Reads a body whole up to `limit` bytes. `over` false: `body.readAll()` gives it (or the upstream's error). `over`
 * true: the upstream sent more (a JSON answer of unknown length: chunked JSON of gigabytes was held whole), and
 * `body.pipe` hands on what was read, then the rest as it comes, with backpressure; the upstream waits meanwhile.
 */
export async function readBounded(body: UpstreamBody, limit: number): Promise<{ over: boolean; body: UpstreamBody }> {
  const head: Buffer[] = [];
  let bytes = 0;
  /** The relay's sink, once what was read has gone to it. */
  let forward: ChunkSink | null = null;
  let passed!: () => void;
  const past = new Promise<'over'>((resolve) => {
    passed = () => resolve('over');
  });
  const piped = body.pipe((chunk) => {
    if (forward) return forward(chunk);
    head.push(chunk);
    bytes += chunk.length;
    if (bytes <= limit) return true;
    passed();
    return false;
  });
  const ended = piped.done.then(
    () => null,
    (err: Error) => err,
  );
  const first = await Promise.race([past, ended]);
  if (first !== 'over' && bytes <= limit) {
    const whole = first === null ? Promise.resolve(head.length === 1 ? head[0] : Buffer.concat(head, bytes)) : Promise.reject(first);
    // A body that broke off is the reader's to see; nobody may read this one at all (a client gone).
    whole.catch(() => undefined);
    return {
      over: false,
      body: {
        readAll: () => whole,
        pipe: () => {
          throw new Error('This body was read whole.');
        },
      },
    };
  }
  return {
    over: true,
    body: {
      readAll: () => Promise.reject(new Error(`The answer is larger than ${limit} bytes.`)),
      pipe(sink: ChunkSink): BodyPipe {
        let sent = 0;
        let paused = false;
        let replayed!: () => void;
        const headDone = new Promise<void>((resolve) => {
          replayed = resolve;
        });
        const pump = () => {
          while (sent < head.length && !paused) if (sink(head[sent++]) === false) paused = true;
          if (sent < head.length || paused) return;
          head.length = 0;
          forward = sink;
          replayed();
          piped.resume();
        };
        pump();
        return {
          // Ends once what was read has gone too; fails as soon as the upstream does.
          done: Promise.all([headDone, piped.done]).then(() => undefined),
          pause: () => {
            paused = true;
            piped.pause();
          },
          resume: () => {
            paused = false;
            if (forward) piped.resume();
            else pump();
          },
          cancel: () => piped.cancel(),
        };
      },
    },
  };
}
