import { describe, expect, it } from 'vitest';
import { nextWebhookAttemptAt, WEBHOOK_RETRY_SCHEDULE_MS } from './webhook-retries.js';

describe('webhook retry schedule', () => {
  it('tries again after each wait in turn, then gives up', () => {
    expect(nextWebhookAttemptAt([1000, 5000], 1, 10_000)).toBe(11_000);
    expect(nextWebhookAttemptAt([1000, 5000], 2, 20_000)).toBe(25_000);
    expect(nextWebhookAttemptAt([1000, 5000], 3, 30_000)).toBeNull();
    expect(nextWebhookAttemptAt([], 1, 0)).toBeNull();
  });

  it('retries for about a day, well past the 81 s the in-memory retries lasted', () => {
    const total = WEBHOOK_RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(20 * 3_600_000);
    expect(total).toBeLessThanOrEqual(24 * 3_600_000);
    expect(WEBHOOK_RETRY_SCHEDULE_MS.slice(0, 4)).toEqual([1000, 4000, 16_000, 60_000]);
  });
});
