import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { UpstreamResponse } from '../../core/upstream.js';
import { cutIfStalled } from './client-stall.js';

/** Answers larger than this, or of unknown length and not JSON, are streamed through instead of read whole. */
export const BUFFER_LIMIT = 8 * 1024 * 1024;

/**
 * Whether a successful answer that is not a model call goes through as it arrives (file contents, batch outputs,
 * audio, large lists) rather than read whole: a download starts at once and holds one chunk in memory, not the whole
 * file (4 parallel 200 MB downloads took the process from 280 MB to 1.9 GB when they were buffered). JSON answers up to
 * BUFFER_LIMIT stay buffered: the gateway reads some of them (usage, object ids).
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
export async function relayPassThrough(raw: ServerResponse, up: UpstreamResponse, headers: OutgoingHttpHeaders, isClientGone: () => boolean, stallMs: number): Promise<boolean> {
  const length = up.headers['content-length'];
  if (typeof length === 'string' && /^\d+$/.test(length)) headers['content-length'] = length;
  raw.writeHead(up.statusCode, headers);
  const onDrain = () => piped.resume();
  const piped = up.body.pipe((chunk) => {
    if (raw.destroyed) return true;
    if (raw.write(chunk)) return true;
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
  if (!whole || isClientGone()) raw.destroy();
  else {
    raw.end();
    if (!raw.writableFinished) cutIfStalled(raw, stallMs);
  }
  return whole && !isClientGone();
}
