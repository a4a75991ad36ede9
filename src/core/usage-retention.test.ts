import { describe, expect, it } from 'vitest';
import { rawUsageSince } from './usage-retention.js';

describe('rawUsageSince', () => {
  it('is `days` before now, down to its minute; null when raw usage is kept forever', () => {
    const now = Date.UTC(2026, 2, 10, 12, 0, 30, 250);
    expect(rawUsageSince(now, 35)).toBe(Date.UTC(2026, 1, 3, 12, 0, 0));
    expect(rawUsageSince(Date.UTC(2026, 2, 10, 12, 1), 1)).toBe(Date.UTC(2026, 2, 9, 12, 1));
    expect(rawUsageSince(now, null)).toBeNull();
    // Never later than a later instant's: a pass's deletions stay behind what a later query answers.
    for (let t = now; t < now + 120_000; t += 7_777) expect(rawUsageSince(t, 2) as number).toBeLessThanOrEqual(rawUsageSince(t + 1, 2) as number);
  });
});
