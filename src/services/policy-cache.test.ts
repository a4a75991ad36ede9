import { describe, expect, it } from 'vitest';
import type { ProjectPolicy } from '../core/limit-plan.js';
import type { ServiceDeps } from './context.js';
import { PolicyCache } from './policy-cache.js';

describe('PolicyCache', () => {
  it('gives a request made after a change a fresh load, not one read before the change', async () => {
    let spend: ProjectPolicy['spend'] = null;
    const releases: Array<() => void> = [];
    // Each load reads the limits when it starts and answers when released: the first one reads before the change.
    const load = () => {
      const policy: ProjectPolicy = { rateLimits: [], spend };
      return new Promise<ProjectPolicy>((resolve) => releases.push(() => resolve(policy)));
    };
    const c = new PolicyCache({} as ServiceDeps, load);
    const before = c.get('proj_1');
    expect(c.get('proj_1')).toBe(before); // same epoch: shares the load
    spend = { thresholdCents: 100, alerts: [] } as unknown as ProjectPolicy['spend'];
    c.projectChanged('proj_1');
    const after = c.get('proj_1');
    expect(c.get('proj_1')).toBe(after);
    expect(releases).toHaveLength(2);
    for (const release of releases) release();
    expect((await before).spend).toBeNull();
    expect((await after).spend).not.toBeNull();
    expect((c.get('proj_1') as ProjectPolicy).spend).not.toBeNull();
  });
});
