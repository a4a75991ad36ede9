import { describe, expect, it } from 'vitest';
import { AbortHandle, Deadlines } from './deadlines.js';

describe('deadlines', () => {
  it('fires after the time unless cancelled', async () => {
    const d = new Deadlines(20);
    const fired: string[] = [];
    d.add(30, () => fired.push('a'));
    const cancel = d.add(30, () => fired.push('b'));
    cancel();
    await new Promise((r) => setTimeout(r, 120));
    expect(fired).toEqual(['a']);
  });

  it('keeps the others when one in the middle is cancelled, or cancelled twice', async () => {
    const d = new Deadlines(10);
    const fired: string[] = [];
    const cancels = ['a', 'b', 'c', 'd'].map((name, i) => d.add(i === 3 ? 10_000 : 20, () => fired.push(name)));
    cancels[1]();
    cancels[1]();
    await new Promise((r) => setTimeout(r, 100));
    expect(fired.sort()).toEqual(['a', 'c']);
    cancels[3]();
  });

  it('aborts once, calling its current listener only', () => {
    const a = new AbortHandle();
    const calls: string[] = [];
    a.onAbort(() => calls.push('first'));
    a.onAbort(() => calls.push('second')); // replaces the first (a retry's new exchange)
    a.abort();
    a.abort();
    expect(a.aborted).toBe(true);
    expect(calls).toEqual(['second']);
    const cleared = new AbortHandle();
    cleared.onAbort(() => calls.push('cleared'));
    cleared.onAbort(null);
    cleared.abort();
    expect(calls).toEqual(['second']);
  });
});
