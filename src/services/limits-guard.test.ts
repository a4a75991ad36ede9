import { describe, expect, it } from 'vitest';
import { keyRecord } from '../../test/harness/key-record.js';
import type { KeyRecord } from '../core/verify.js';
import { MemoryLimitStore } from '../infra/memory-limit-store.js';
import type { ServiceDeps } from './context.js';
import { LimitsGuard } from './limits-guard.js';
import type { PolicyCache } from './policy-cache.js';

const record = (limits: KeyRecord['limits']): KeyRecord => keyRecord({ limits });

describe('LimitsGuard', () => {
  const policies = { get: () => ({ rateLimits: [], spend: null }) } as unknown as PolicyCache;
  const store = new MemoryLimitStore();
  const guard = new LimitsGuard({} as ServiceDeps, policies, {
    store,
    localStore: store,
    rateLimitFailure: 'open',
    budgetFailure: 'closed',
    defaultMaxOutputTokens: 16,
    prices: {},
    onAlert: () => {},
    onStoreError: () => {},
  });
  const input = (limits: KeyRecord['limits']) => ({ record: record(limits), model: 'm', endpoint: '/chat/completions', body: null, nowMs: 1_000_000 });

  it('admits a key without limits synchronously, with no headers', () => {
    const a = guard.admit(input(null));
    expect(a).not.toBeInstanceOf(Promise);
    expect((a as { headers: Record<string, string> }).headers).toEqual({});
  });

  it('decides a limited key through the store', async () => {
    const a = guard.admit(input({ rate_limits: { max_requests_per_1_minute: 1 } }));
    expect(a).toBeInstanceOf(Promise);
    expect((await a).headers['x-ratelimit-remaining-requests']).toBe('0');
    await expect(guard.admit(input({ rate_limits: { max_requests_per_1_minute: 1 } }))).rejects.toMatchObject({ code: 'rate_limit_exceeded' });
  });
});
