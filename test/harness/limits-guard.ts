import type { ProjectPolicy } from '../../src/core/limit-plan.js';
import type { LimitStore } from '../../src/core/limit-store.js';
import type { ServiceDeps } from '../../src/services/context.js';
import { LimitsGuard, type LimitsGuardOptions } from '../../src/services/limits-guard.js';
import type { PolicyCache } from '../../src/services/policy-cache.js';

const NO_POLICY: ProjectPolicy = { rateLimits: [], spend: null };

/**
 * A LimitsGuard for unit tests (fixture): `store` for both the shared and the local store unless `opts` says
 * otherwise, rate limits failing open and budgets closed, a 16-token default answer; `policy()` is proj_1's policy
 * (read at each request, so a test may change it), every other project and the organization have none.
 */
export function testGuard(
  deps: Partial<ServiceDeps>,
  store: LimitStore,
  policy: () => ProjectPolicy = () => NO_POLICY,
  opts: Partial<LimitsGuardOptions> = {},
): LimitsGuard {
  const policies = { get: (id: string) => (id === 'proj_1' ? policy() : NO_POLICY) } as unknown as PolicyCache;
  return new LimitsGuard(deps as ServiceDeps, policies, {
    store,
    localStore: store,
    rateLimitFailure: 'open',
    budgetFailure: 'closed',
    defaultMaxOutputTokens: 16,
    onAlert: () => {},
    onStoreError: () => {},
    ...opts,
  });
}
