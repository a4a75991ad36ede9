import { describe, expect, it } from 'vitest';
import { RedisChangeBus } from './redis-change-bus.js';

describe('RedisChangeBus', () => {
  it('reports a publish that fails (Redis unreachable) instead of swallowing it', async () => {
    const errors: unknown[] = [];
    const bus = new RedisChangeBus('redis://127.0.0.1:1', { keyChanged() {}, projectChanged() {} }, (err) => errors.push(err));
    try {
      bus.keyChanged('key_a');
      bus.projectChanged('proj_a');
      // Connection errors are reported too; the two publishes' own failures must be among them.
      const publishFailures = () => errors.filter((e) => /writeable|offline/i.test(String(e))).length;
      for (let i = 0; i < 500 && publishFailures() < 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect(publishFailures()).toBe(2);
    } finally {
      await bus.close();
    }
  });
});
