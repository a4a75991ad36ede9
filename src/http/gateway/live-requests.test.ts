import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { KeyRecord } from '../../core/verify.js';
import type { GatewayContext } from './gateway-context.js';
import { LiveRequests } from './live-requests.js';
import type { GatewayRequest } from './request.js';

// A shutdown stops the usage recorder only once the requests under way have been metered (each is removed then), or
// after a bound: stopped before, a stream cut at the end of the grace went unbilled (found by a durability review).
describe('LiveRequests.settled', () => {
  const record = { id: 'key_1', projectId: 'proj_1', expiresAt: null, secretExpiresAt: null } as unknown as KeyRecord;
  const add = (live: LiveRequests) => live.add({} as GatewayContext, record, {} as GatewayRequest, {} as ServerResponse);

  it('waits for the requests under way to end, up to its bound, and says how many are left', async () => {
    const live = new LiveRequests();
    const quick = add(live);
    add(live);
    setTimeout(() => live.remove(quick), 50);
    const started = performance.now();
    expect(await live.settled(300)).toBe(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('returns once the last one ends, or at once with none', async () => {
    const live = new LiveRequests();
    const one = add(live);
    setTimeout(() => live.remove(one), 50);
    const started = performance.now();
    expect(await live.settled(10_000)).toBe(0);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await new LiveRequests().settled(10_000)).toBe(0);
  });
});
