import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortHandle } from '../core/abort-handle.js';
import { Exchange } from './exchange.js';

// A server that streams three chunks 20 ms apart, or answers at once.
const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  if (req.url === '/whole') {
    res.end('all of it');
    return;
  }
  let n = 0;
  const timer = setInterval(() => {
    n++;
    if (n < 3) res.write(`chunk${n};`);
    else {
      clearInterval(timer);
      res.end('chunk3;');
    }
  }, 20);
});
let pool: Pool;

beforeAll(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
afterAll(async () => {
  await pool.close();
  server.close();
});

function send(path: string, signal = new AbortHandle()) {
  const exchange = new Exchange(signal);
  pool.dispatch({ method: 'GET', path }, exchange);
  return exchange.response;
}

describe('Exchange', () => {
  it('reads a body whole', async () => {
    const res = await send('/whole');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain');
    expect((await res.body.readAll()).toString()).toBe('all of it');
  });

  it('pipes chunks as they arrive, and a sink that returns false pauses the body until resume', async () => {
    const res = await send('/stream');
    const got: string[] = [];
    const pipe = res.body.pipe((c) => {
      got.push(c.toString());
      return got.length > 1; // pause after the first chunk
    });
    await new Promise((r) => setTimeout(r, 200)); // the server has sent everything by now
    expect(got).toEqual(['chunk1;']);
    pipe.resume();
    await pipe.done;
    expect(got.join('')).toBe('chunk1;chunk2;chunk3;');
  });

  it('pause() holds back further chunks, also when called after the sink returned, until resume', async () => {
    const res = await send('/stream');
    const got: string[] = [];
    const pipe = res.body.pipe((c) => {
      got.push(c.toString());
      if (got.length === 1) queueMicrotask(() => pipe.pause()); // as the relay does, once the burst is handled
      return true;
    });
    await new Promise((r) => setTimeout(r, 200)); // the server has sent everything by now
    expect(got).toEqual(['chunk1;']);
    pipe.resume();
    await pipe.done;
    expect(got.join('')).toBe('chunk1;chunk2;chunk3;');
  });

  it('fails the pipe with the error of a sink that throws, also on a body read before the pipe', async () => {
    const res = await send('/stream');
    await new Promise((r) => setTimeout(r, 200)); // the whole body has arrived: it is delivered from the queue
    const got: string[] = [];
    const pipe = res.body.pipe((c) => {
      got.push(c.toString());
      throw new Error('refused by the sink');
    });
    await expect(pipe.done).rejects.toThrow('refused by the sink');
    expect(got).toEqual(['chunk1;']);
  });

  it('aborting the handle aborts the request in flight, and one aborted before the exchange starts stops it at once', async () => {
    const handle = new AbortHandle();
    const res = await send('/stream', handle);
    const pipe = res.body.pipe(() => true);
    handle.abort();
    await expect(pipe.done).rejects.toThrow(/aborted/i);
    const early = new AbortHandle();
    early.abort();
    await expect(send('/stream', early)).rejects.toThrow(/aborted/i);
  });

  it('cancelling a pipe aborts the request', async () => {
    const res = await send('/stream');
    const pipe = res.body.pipe(() => true);
    pipe.cancel();
    await expect(pipe.done).rejects.toThrow(/aborted/i);
  });
});
