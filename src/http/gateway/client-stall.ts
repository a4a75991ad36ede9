import type { ServerResponse } from 'node:http';
import { Deadlines } from './deadlines.js';

/** One wheel for every stalled client: a timer is armed only when a write is held back, never per chunk. */
const STALLS = new Deadlines(1000);

/**
 * A write to the client returned false (its socket is full) while the gateway holds output for it: unless the client
 * takes some of it within `ms` (its socket drains, or the bytes waiting for it shrink), its socket is destroyed. The
 * response's 'close' then counts as the client hanging up (watchHangUp: the upstream aborted, or read to its end for
 * its usage), so a client that never reads cannot hold a provider's pooled connection until the total deadline
 * (two such streams held a two-connection pool and made another project's request wait 4.7 s of a 5 s deadline).
 * Also called once a response is ended with bytes still waiting for its client (`writableFinished` false), so that a
 * client that takes none of the last bytes does not hold its socket for good. `ms` 0: never cut. Calling it again while
 * armed does nothing.
 */
export function cutIfStalled(res: ServerResponse, ms: number): void {
  if (ms <= 0 || res.destroyed || ARMED.has(res)) return;
  ARMED.add(res);
  let waiting = res.writableLength;
  const check = (): void => {
    if (res.writableFinished) {
      disarm();
      return;
    }
    const now = res.writableLength;
    // Some bytes went (a slow reader, not a stalled one): another period from here.
    if (now < waiting && !res.destroyed) {
      waiting = now;
      cancel = STALLS.add(ms, check);
      return;
    }
    disarm();
    res.destroy();
  };
  let cancel = STALLS.add(ms, check);
  const disarm = (): void => {
    cancel();
    ARMED.delete(res);
    res.off('drain', disarm);
    res.off('close', disarm);
    res.off('finish', disarm);
  };
  res.once('drain', disarm);
  res.once('close', disarm);
  // An ended response whose last bytes the client has not taken: 'finish' once it has (there is no drain after end).
  res.once('finish', disarm);
}

/** Responses with a stall check armed (a WeakSet: nothing to clean up if one is dropped). */
const ARMED = new WeakSet<ServerResponse>();
