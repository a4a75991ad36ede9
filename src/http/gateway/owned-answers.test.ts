import { describe, expect, it } from 'vitest';
import type { BodyPipe, ChunkSink, UpstreamBody } from '../../core/upstream.js';
import { InspectedStream } from './owned-answers.js';

/** An upstream body that hands over the given chunks when told to, and records pauses as undici would. */
function source() {
  let sink: ChunkSink | null = null;
  let paused = false;
  let settle!: { resolve(): void; reject(e: Error): void };
  const body: UpstreamBody = {
    readAll: () => Promise.reject(new Error('not used')),
    pipe(s: ChunkSink): BodyPipe {
      sink = s;
      return {
        done: new Promise<void>((resolve, reject) => {
          settle = { resolve, reject };
        }),
        pause: () => {
          paused = true;
        },
        resume: () => {
          paused = false;
        },
        cancel: () => settle.reject(new Error('cancelled')),
      };
    },
  };
  return {
    body,
    send(text: string) {
      if ((sink as ChunkSink)(Buffer.from(text)) === false) paused = true;
    },
    end: () => settle.resolve(),
    get paused() {
      return paused;
    },
  };
}

describe('InspectedStream', () => {
  it('holds back the event that names an object, and what follows, until it is recorded', async () => {
    const up = source();
    let record!: () => void;
    const recorded = new Promise<void>((r) => {
      record = r;
    });
    const stream = new InspectedStream(up.body, (events) => (events.toString().includes('resp_1') ? recorded : null));
    const got: string[] = [];
    const pipe = stream.pipe((c) => {
      got.push(c.toString());
      return true;
    });
    up.send('data: {"a":1}\n\n');
    up.send('data: {"id":"resp_1"}\n\ndata: {"b"');
    expect(got).toEqual(['data: {"a":1}\n\n']);
    expect(up.paused).toBe(true);
    up.send(':2}\n\n'); // already read by the socket: queued behind the held event
    record();
    await recorded;
    await Promise.resolve();
    expect(got.join('')).toBe('data: {"a":1}\n\ndata: {"id":"resp_1"}\n\ndata: {"b":2}\n\n');
    up.end();
    await pipe.done;
  });

  it('cuts the stream when the recording fails, before the event reaches the client', async () => {
    const up = source();
    const stream = new InspectedStream(up.body, () => Promise.reject(new Error('database down')));
    const got: string[] = [];
    const pipe = stream.pipe((c) => {
      got.push(c.toString());
      return true;
    });
    up.send('data: {"id":"resp_1"}\n\n');
    await expect(pipe.done).rejects.toThrow('database down');
    expect(got).toEqual([]);
  });

  it('waits for a client that paused, and passes on an unfinished last event at the end', async () => {
    const up = source();
    const stream = new InspectedStream(up.body, () => null);
    const got: string[] = [];
    const pipe = stream.pipe((c) => {
      got.push(c.toString());
      return true;
    });
    pipe.pause();
    up.send('data: 1\n\n');
    expect(got).toEqual([]);
    pipe.resume();
    expect(got).toEqual(['data: 1\n\n']);
    up.send('data: 2');
    up.end();
    await pipe.done;
    expect(got).toEqual(['data: 1\n\n', 'data: 2']);
  });
});
