import { describe, expect, it } from 'vitest';
import { bufferedBody } from './body.js';

describe('bufferedBody', () => {
  it('delivers its chunks a turn apart; pause() or a sink returning false holds the rest until resume', async () => {
    const body = bufferedBody(['a', 'b', 'c'].map((s) => Buffer.from(s)));
    const got: string[] = [];
    const pipe = body.pipe((c) => {
      got.push(c.toString());
      if (got.length === 1) pipe.pause();
      return got.length !== 2;
    });
    const turns = async (n: number) => {
      for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
    };
    await turns(5);
    expect(got).toEqual(['a']);
    pipe.resume();
    await turns(5);
    expect(got).toEqual(['a', 'b']); // 'b' returned false
    pipe.resume();
    await pipe.done;
    expect(got).toEqual(['a', 'b', 'c']);
  });
});
