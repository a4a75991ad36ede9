import { describe, expect, it } from 'vitest';
import type { LastUsedRows } from '../core/ports.js';
import { LastUsedTracker } from './last-used.js';

describe('LastUsedTracker', () => {
  it('hands coalesced batches to its sink, and keeps the times of a batch the sink refused for the next flush', async () => {
    const sent: LastUsedRows[] = [];
    let fail = false;
    const tracker = new LastUsedTracker({
      async writeLastUsed(rows) {
        if (fail) throw new Error('worker gone');
        sent.push(rows);
      },
    });
    tracker.touch('key_a', 100);
    tracker.touch('key_a', 200); // coalesced: the latest only
    tracker.touch('key_b', 150);
    await tracker.flush();
    expect(sent).toEqual([
      [
        ['key_a', 200],
        ['key_b', 150],
      ],
    ]);
    await tracker.flush(); // nothing new: nothing sent
    expect(sent).toHaveLength(1);

    fail = true;
    tracker.touch('key_c', 300);
    tracker.touch('key_a', 250);
    await expect(tracker.flush()).rejects.toThrow(/worker gone/);
    // A use noted after the failed flush is newer than the one kept: it wins.
    tracker.touch('key_a', 400);
    fail = false;
    await tracker.flush();
    expect([...sent[1]].sort()).toEqual([
      ['key_a', 400],
      ['key_c', 300],
    ]);
  });

  it('reports a failed background flush instead of swallowing it', async () => {
    const errors: unknown[] = [];
    let fail = true;
    const tracker = new LastUsedTracker(
      {
        async writeLastUsed() {
          if (fail) throw new Error('worker gone');
        },
      },
      10,
      (err) => errors.push(err),
    );
    tracker.touch('key_a', 100);
    tracker.start();
    for (let i = 0; i < 500 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    fail = false;
    await tracker.stop();
    expect(String(errors[0])).toMatch(/worker gone/);
  });
});
