import { describe, expect, it } from 'vitest';
import { AbortHandle } from '../../core/abort-handle.js';
import { CallDeadline } from './deadline-read-on.js';
import { DetachedReads } from './detached-reads.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

// At its deadline a model call whose usage the provider bills is read on for total_ms again, its client let go; any
// other is aborted there, as before. (Deadlines tick every 250 ms: a 300 ms deadline passes at 500, its read-on at 1000.)
describe('CallDeadline', () => {
  const start = (readsOn: boolean, o: { gone?: boolean; stream?: boolean } = {}) => {
    const controller = new AbortHandle();
    const detached = new DetachedReads();
    const seen: string[] = [];
    const deadline = new CallDeadline(300, controller, detached, { readsOn: () => readsOn, clientGone: () => o.gone === true, answer: () => seen.push('answered') });
    if (o.stream) deadline.relaying(() => seen.push('stream ended'));
    return { controller, detached, seen, deadline };
  };

  it('aborts a call not read on at its deadline', async () => {
    const { controller, deadline, seen } = start(false);
    expect(deadline.pastDeadline()).toBe(false);
    await wait(700);
    expect({ aborted: controller.aborted, timedOut: deadline.timedOut, cut: deadline.cut, seen }).toEqual({ aborted: true, timedOut: true, cut: null, seen: [] });
  });

  it('reads one on, its client answered (or its stream ended), noted for a shutdown; aborted when the read-on ends', async () => {
    for (const [o, cut, seen] of [
      [{}, 'answered', ['answered']],
      [{ stream: true }, 'ended', ['stream ended']],
      [{ gone: true }, 'gone', []],
    ] as const) {
      const s = start(true, o);
      await wait(700);
      expect({ aborted: s.controller.aborted, cut: s.deadline.cut, letGo: s.deadline.letGo, detached: s.detached.size, seen: s.seen }).toEqual({
        aborted: false,
        cut,
        letGo: cut !== 'gone',
        detached: 1,
        seen,
      });
      // A relay that starts once the client was answered is told at once.
      const late: string[] = [];
      s.deadline.relaying(() => late.push('told'));
      expect(late).toEqual(['told']);
      await wait(700);
      expect(s.controller.aborted).toBe(true);
      s.deadline.done();
      expect(s.detached.size).toBe(0);
    }
  });

  it('done before the deadline: nothing fires', async () => {
    const { controller, deadline, seen } = start(true);
    deadline.done();
    await wait(700);
    expect({ aborted: controller.aborted, cut: deadline.cut, seen }).toEqual({ aborted: false, cut: null, seen: [] });
  });
});
