import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS } from './config.js';
import { forcedExitAfterMs, SHUTDOWN_FLUSH_MS, SHUTDOWN_SETTLE_MS } from './shutdown.js';

// main.ts forced exit 1 at a fixed 15 s after SIGTERM whatever TOLLGATE_SHUTDOWN_GRACE_MS said: with a grace of 30 s a
// 20 s stream was cut at 15 s, unbilled, the process exiting 1 (found by a durability review).
describe('forcedExitAfterMs', () => {
  it('comes after the grace, the settling of cut requests and the flush, whatever the grace', () => {
    for (const grace of [0, 300, 10_000, 30_000, 3_600_000]) {
      expect(forcedExitAfterMs(grace)).toBe(grace + SHUTDOWN_SETTLE_MS + SHUTDOWN_FLUSH_MS);
    }
    expect(forcedExitAfterMs(30_000)).toBeGreaterThan(30_000 + SHUTDOWN_SETTLE_MS);
    // The default grace still ends within the 20 s systemd gives a stop in docs/deployment.md.
    expect(forcedExitAfterMs(10_000)).toBeLessThan(20_000);
  });

  it('stays within a Node timer (past it setTimeout fires at once) for the longest grace accepted', () => {
    expect(forcedExitAfterMs(MAX_TIMER_MS)).toBe(MAX_TIMER_MS);
    expect(forcedExitAfterMs(MAX_TIMER_MS - 1000)).toBe(MAX_TIMER_MS);
  });
});
